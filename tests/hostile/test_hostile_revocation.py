"""Hostile revocation requests (RFC 8555 §7.6): wrong certificates, reasons,
keys and accounts."""

from __future__ import annotations

import functools

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from jws_client import b64
from wsgi_world import case, run_case


@functools.cache
def _issued(world):
    return world.issued(world.who("alice"), "revoke.test")


def revoke(w, payload, who="alice"):
    return w.signed(w.who(who), w.directory["revokeCert"], payload)


def cert(w):
    return b64(_issued(w).cert_der)


def with_jwk(key):
    return lambda w: w.post(w.directory["revokeCert"], {"certificate": cert(w)}, key)


def foreign_certificate(w):
    """A certificate of the same shape from another server instance."""
    from wsgi_world import World

    other = World(seed=1)
    return b64(other.issued(other.who("x"), "revoke.test").cert_der)


CASES = [
    case("certificate-missing", lambda w: revoke(w, {}), "malformed", 400, "base64url"),
    case("certificate-number", lambda w: revoke(w, {"certificate": 1}), "malformed", 400,
         "base64url string"),
    case("certificate-bad-base64", lambda w: revoke(w, {"certificate": "a+b/"}), "malformed",
         400, "base64url"),
    case("certificate-garbage-der", lambda w: revoke(w, {"certificate": b64(b"\x30\x00")}),
         "malformed", 400, "not a DER X.509"),
    case("certificate-empty", lambda w: revoke(w, {"certificate": ""}), "malformed", 400,
         "not a DER X.509"),
    case("certificate-pem", lambda w: revoke(w, {"certificate": "-----BEGIN CERT"}), "malformed",
         400, "base64url"),
    case("certificate-not-from-here", lambda w: revoke(w, {
        "certificate": foreign_certificate(w)}), "malformed", 404, "not issued by this server"),
    case("reason-7-unused", lambda w: revoke(w, {"certificate": cert(w), "reason": 7}),
         "badRevocationReason", 400, "7 is unused"),
    case("reason-11", lambda w: revoke(w, {"certificate": cert(w), "reason": 11}),
         "badRevocationReason", 400),
    case("reason-negative", lambda w: revoke(w, {"certificate": cert(w), "reason": -1}),
         "badRevocationReason", 400),
    case("reason-string", lambda w: revoke(w, {"certificate": cert(w), "reason": "1"}),
         "badRevocationReason", 400),
    case("reason-bool", lambda w: revoke(w, {"certificate": cert(w), "reason": True}),
         "badRevocationReason", 400),
    case("reason-float", lambda w: revoke(w, {"certificate": cert(w), "reason": 1.0}),
         "badRevocationReason", 400),
    case("post-as-get", lambda w: revoke(w, None), "malformed", 400, "needs a JSON object"),
    case("another-account-without-authorizations", lambda w: revoke(
        w, {"certificate": cert(w)}, who="mallory"), "unauthorized", 403,
         "holds no valid authorization", "revoke.test"),
    case("jwk-that-is-not-the-certificate-key", with_jwk(ec.generate_private_key(
        ec.SECP256R1())), "unauthorized", 403, "not the certificate's key"),
]


@pytest.mark.parametrize("send,type_,status,words", CASES)
def test_hostile_revocation(world, send, type_, status, words):
    run_case(world, send, type_, status, words)


def test_revoking_twice_is_already_revoked(world):
    alice = world.who("alice")
    issued = world.issued(alice, "twice-revoked.test")
    payload = {"certificate": b64(issued.cert_der)}
    assert world.signed(alice, world.directory["revokeCert"], payload).status_code == 200
    run_case(world, lambda w: w.signed(alice, w.directory["revokeCert"], payload),
             "alreadyRevoked", 400, ["already revoked"])
