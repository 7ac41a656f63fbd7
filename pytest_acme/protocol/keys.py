"""Which keys the server takes, for accounts (JWS) and certificates (CSR).

Two rule sets, chosen by ``AcmeConfig.rsa_keys``:

- ``"letsencrypt"``: Let's Encrypt's key policy (Boulder's ``goodkey``, the
  same for account and certificate keys): RSA of 2048 to 4096 bits, a whole
  number of bytes, with the public exponent 65537; ECDSA on P-256 or P-384;
- ``"pebble"``: RSA of 1024 to 8192 bits with any odd exponent from 3 to
  2**31-1, and ECDSA on P-256, P-384 or P-521: Pebble checks no size of its
  own and Go's crypto takes these (1024 bits is Go's least since Go 1.24; its
  exponent is a machine int).

The modulus stays bounded in both: a check with a 16384-bit key costs a
hundred times one with 2048 bits.  Keys are checked *before* any signature
is, since a 3071-bit exponent costs milliseconds per verification.

Example::

    rsa_key_problem(key.public_key(), "pebble")  # None, or why the key is refused
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Optional, Tuple

from cryptography.hazmat.primitives.asymmetric import ec, rsa


class RsaRules(NamedTuple):
    """Bounds of an RSA key: modulus bits and public exponent, both inclusive,
    and what the bit length must be a multiple of; and the ECDSA curves taken."""

    min_bits: int
    max_bits: int
    min_exponent: int
    max_exponent: int
    #: 8 at Let's Encrypt: "bit lengths that are not a multiple of 8 may cause
    #: problems on some client implementations" (Boulder's goodkey).
    bits_multiple_of: int = 1
    #: Curve names as ``cryptography`` gives them, in order of preference.
    curves: Tuple[str, ...] = ("secp256r1", "secp384r1")

    def describe(self) -> str:
        exponent = ("the exponent 65537" if self.min_exponent == self.max_exponent
                    else f"an odd exponent from {self.min_exponent} to {self.max_exponent}")
        return f"{self.min_bits} to {self.max_bits} bits and {exponent}"

    def describe_curves(self) -> str:
        names = [_CURVE_NAMES[c] for c in self.curves]
        return ", ".join(names[:-1]) + " or " + names[-1]


_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}

RSA_RULES: Dict[str, RsaRules] = {
    "letsencrypt": RsaRules(2048, 4096, 65537, 65537, 8, ("secp256r1", "secp384r1")),
    "pebble": RsaRules(1024, 8192, 3, 2**31 - 1, 1, ("secp256r1", "secp384r1", "secp521r1")),
}


def rsa_key_problem(key: rsa.RSAPublicKey, rules: str) -> Optional[str]:
    """Why ``key`` is refused under ``rules`` (a key of :data:`RSA_RULES`), or None."""
    bounds = RSA_RULES[rules]
    bits = key.key_size
    exponent = key.public_numbers().e
    if not bounds.min_bits <= bits <= bounds.max_bits:
        what = f"{bits} bits"
    elif bits % bounds.bits_multiple_of:
        what = f"{bits} bits, not a whole number of bytes"
    elif not (bounds.min_exponent <= exponent <= bounds.max_exponent and exponent % 2 == 1):
        shown = str(exponent) if exponent.bit_length() <= 64 else \
            f"a {exponent.bit_length()}-bit number"
        what = f"the public exponent {shown}"
    else:
        return None
    return f"has {what}; use {bounds.describe()}"


def ec_key_problem(key: ec.EllipticCurvePublicKey, rules: str) -> Optional[str]:
    """Why an ECDSA ``key`` is refused under ``rules``, or None (Boulder's goodkey
    takes P-256 and P-384; Pebble, through Go, P-521 too)."""
    bounds = RSA_RULES[rules]
    if key.curve.name in bounds.curves:
        return None
    return f"is on curve {key.curve.name}; use {bounds.describe_curves()}"
