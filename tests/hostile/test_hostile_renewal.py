"""Hostile ARI requests (RFC 9773): renewalInfo certIDs and newOrder ``replaces``;
newOrder ``profile`` values (draft-ietf-acme-profiles); CRL and alternate-chain
paths."""

from __future__ import annotations

import functools

import pytest
from cryptography import x509

from jws_client import b64
from wsgi_world import case, run_case


@functools.cache
def issued(world):
    return world.issued(world.who("alice"), "ari.test")


def cert_id(world, serial=None, aki=None):
    leaf = x509.load_der_x509_certificate(issued(world).cert_der)
    if aki is None:
        aki = leaf.extensions.get_extension_for_class(
            x509.AuthorityKeyIdentifier).value.key_identifier
    serial = leaf.serial_number if serial is None else serial
    raw = serial.to_bytes((serial.bit_length() + 8) // 8, "big")
    return f"{b64(aki)}.{b64(raw)}"


def renewal(path):
    return lambda w: w.http.get("/acme/renewal-info/" + (path(w) if callable(path) else path))


def order(w, payload, who="alice"):
    base = {"identifiers": [{"type": "dns", "value": "ari.test"}]}
    return w.signed(w.who(who), w.directory["newOrder"], {**base, **payload})


RENEWAL = [
    case("certid-no-dot", renewal("abc"), "malformed", 400, "two base64url parts"),
    case("certid-padding", renewal(lambda w: cert_id(w) + "=="), "malformed", 400, "padding"),
    case("certid-bad-chars", renewal("a+b.c/d"), "malformed", 400),
    case("certid-empty-parts", renewal("."), "malformed", 400),
    case("certid-unknown-issuer", renewal(lambda w: cert_id(w, aki=b"\x01" * 20)),
         "malformed", 404, "not the key of an issuer"),
    case("certid-unknown-serial", renewal(lambda w: cert_id(w, serial=12345)),
         "malformed", 404, "no certificate"),
    case("certid-huge", renewal("A" * 3000 + "." + "B" * 3000), "malformed", 404,
         "not the key of an issuer"),
]

REPLACES = [
    case("replaces-number", lambda w: order(w, {"replaces": 5}), "malformed", 400),
    case("replaces-garbage", lambda w: order(w, {"replaces": "x"}), "malformed", 400),
    case("replaces-unknown", lambda w: order(w, {"replaces": cert_id(w, serial=99)}),
         "malformed", 404),
    case("replaces-other-account", lambda w: order(w, {"replaces": cert_id(w)}, "mallory"),
         "unauthorized", 403, "another account"),
    case("replaces-no-shared-identifier", lambda w: w.signed(
        w.who("alice"), w.directory["newOrder"], {"identifiers": [
            {"type": "dns", "value": "other.test"}], "replaces": cert_id(w)}),
         "malformed", 400, "shares no identifier"),
]

PROFILES = [
    case("profile-unknown", lambda w: order(w, {"profile": "nope"}), "invalidProfile", 400),
    case("profile-number", lambda w: order(w, {"profile": 1}), "malformed", 400,
         "profile name"),
    case("profile-object", lambda w: order(w, {"profile": {"name": "classic"}}),
         "malformed", 400, "profile name"),
]

PATHS = [
    case("crl-unknown", lambda w: w.http.get("/crl/99"), "malformed", 404),
    case("crl-not-a-number", lambda w: w.http.get("/crl/abc"), "malformed", 404),
    case("alternate-chain-unknown", lambda w: w.signed(
        w.who("alice"), issued(w).cert_url + "/alternate/7", None), "malformed", 404),
]


@pytest.mark.parametrize("send,type_,status,words", RENEWAL + REPLACES + PROFILES + PATHS)
def test_hostile_renewal_profile_and_paths(world, send, type_, status, words):
    doc = run_case(world, send, type_, status, words)
    assert len(doc["detail"]) < 1000  # a huge input is not echoed back whole


def test_replacing_twice_is_already_replaced(world):
    first = order(world, {"replaces": cert_id(world)})
    assert first.status_code == 201, first.get_json()
    run_case(world, lambda w: order(w, {"replaces": cert_id(w)}), "alreadyReplaced", 409,
             ["already replaced"])
