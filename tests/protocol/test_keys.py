"""The RSA key rules of each mode (pytest_acme.protocol.keys)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pytest_acme.protocol.keys import RSA_RULES, ec_key_problem, rsa_key_problem


def public(bits: int, e: int = 65537) -> rsa.RSAPublicKey:
    """A public key of ``bits`` bits (an odd modulus; no signature is checked here)."""
    return rsa.RSAPublicNumbers(e, (1 << (bits - 1)) | 0xF1).public_key()


@pytest.mark.parametrize("bits,e,letsencrypt,pebble", [
    (2048, 65537, True, True),
    (4096, 65537, True, True),
    (4104, 65537, False, True),
    (2052, 65537, False, True),  # not a whole number of bytes (Boulder)
    (8192, 65537, False, True),
    (1024, 65537, False, True),
    (1023, 65537, False, False),
    (8193, 65537, False, False),
    (16384, 65537, False, False),
    (2048, 3, False, True),
    (2048, 2**31 - 1, False, True),
    (2048, 2**31 + 1, False, False),
    (3072, (1 << 3070) | 1, False, False),
])
def test_bounds_of_each_mode(bits, e, letsencrypt, pebble):
    key = public(bits, e)
    assert (rsa_key_problem(key, "letsencrypt") is None) is letsencrypt
    assert (rsa_key_problem(key, "pebble") is None) is pebble


def test_the_reason_says_what_to_use_and_stays_short():
    assert rsa_key_problem(public(1024), "letsencrypt") == \
        "has 1024 bits; use 2048 to 4096 bits and the exponent 65537"
    why = rsa_key_problem(public(3072, (1 << 3070) | 1), "pebble")
    assert why == ("has the public exponent a 3071-bit number; use 1024 to 8192 bits and an "
                   f"odd exponent from 3 to {2**31 - 1}")
    assert set(RSA_RULES) == {"letsencrypt", "pebble"}


@pytest.mark.parametrize("curve,letsencrypt,pebble", [
    (ec.SECP256R1(), True, True),
    (ec.SECP384R1(), True, True),
    (ec.SECP521R1(), False, True),  # Boulder's goodkey takes P-256 and P-384 only
    (ec.SECP256K1(), False, False),
])
def test_curves_of_each_mode(curve, letsencrypt, pebble):
    key = ec.generate_private_key(curve).public_key()
    assert (ec_key_problem(key, "letsencrypt") is None) is letsencrypt
    assert (ec_key_problem(key, "pebble") is None) is pebble
    if not letsencrypt:
        assert ec_key_problem(key, "letsencrypt") == \
            f"is on curve {curve.name}; use P-256 or P-384"
