"""Which RSA keys the server takes, for accounts (JWS) and certificates (CSR).

Two rule sets, chosen by ``AcmeConfig.rsa_keys``:

- ``"letsencrypt"``: 2048 to 8192 bits and the public exponent 65537, the one
  exponent Let's Encrypt's key policy (Boulder's goodkey) allows;
- ``"pebble"``: 1024 to 8192 bits and any odd exponent from 3 to 2**31-1: Pebble
  checks no size of its own and Go's crypto/rsa takes these (1024 bits is Go's
  least since Go 1.24; its exponent is a machine int).

The modulus stays bounded in both: a check with a 16384-bit key costs a
hundred times one with 2048 bits.  The exponent is checked *before* any
signature is, since a 3071-bit exponent costs milliseconds per verification.

Example::

    rsa_key_problem(key.public_key(), "pebble")  # None, or why the key is refused
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Optional

from cryptography.hazmat.primitives.asymmetric import rsa


class RsaRules(NamedTuple):
    """Bounds of an RSA key: modulus bits and public exponent, both inclusive."""

    min_bits: int
    max_bits: int
    min_exponent: int
    max_exponent: int

    def describe(self) -> str:
        exponent = ("the exponent 65537" if self.min_exponent == self.max_exponent
                    else f"an odd exponent from {self.min_exponent} to {self.max_exponent}")
        return f"{self.min_bits} to {self.max_bits} bits and {exponent}"


RSA_RULES: Dict[str, RsaRules] = {
    "letsencrypt": RsaRules(2048, 8192, 65537, 65537),
    "pebble": RsaRules(1024, 8192, 3, 2**31 - 1),
}


def rsa_key_problem(key: rsa.RSAPublicKey, rules: str) -> Optional[str]:
    """Why ``key`` is refused under ``rules`` (a key of :data:`RSA_RULES`), or None."""
    bounds = RSA_RULES[rules]
    bits = key.key_size
    exponent = key.public_numbers().e
    if not bounds.min_bits <= bits <= bounds.max_bits:
        what = f"{bits} bits"
    elif not (bounds.min_exponent <= exponent <= bounds.max_exponent and exponent % 2 == 1):
        shown = str(exponent) if exponent.bit_length() <= 64 else \
            f"a {exponent.bit_length()}-bit number"
        what = f"the public exponent {shown}"
    else:
        return None
    return f"has {what}; use {bounds.describe()}"
