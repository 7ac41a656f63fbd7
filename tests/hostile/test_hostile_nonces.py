"""Hostile nonces (RFC 8555 §6.5): missing, malformed, unknown, reused; on every
signed endpoint, a refused nonce is ``badNonce`` with a fresh one to retry with."""

from __future__ import annotations

import json

import pytest

from jws_client import OMIT, sign
from wsgi_world import case, run_case


def order_with(w, nonce):
    alice = w.who("alice")
    payload = {"identifiers": [{"type": "dns", "value": "nonce.test"}]}
    return w.post_raw(w.directory["newOrder"], json.dumps(sign(
        alice.key, w.directory["newOrder"], payload, nonce=nonce, kid=alice.kid)))


def without_nonce(w):
    alice = w.who("alice")
    return w.post_raw(w.directory["newOrder"], json.dumps(sign(
        alice.key, w.directory["newOrder"], {}, nonce=OMIT, kid=alice.kid,
        protected={"nonce": OMIT})))


def reused(w):
    nonce = w.nonce()
    assert order_with(w, nonce).status_code == 201
    return order_with(w, nonce)


def other_server_nonce(w):
    from wsgi_world import World

    return order_with(w, World().nonce())


def forgotten(w):
    """A nonce pushed out of the bounded pool by newer ones."""
    old = w.nonce()
    for _ in range(w.app.nonces._size):
        w.app.nonces.issue()
    return order_with(w, old)


CASES = [
    case("nonce-missing", without_nonce, "badNonce", 400, "no 'nonce'"),
    case("nonce-empty", lambda w: order_with(w, ""), "badNonce", 400, "no 'nonce'"),
    case("nonce-null", lambda w: order_with(w, None), "badNonce", 400, "no 'nonce'"),
    case("nonce-number", lambda w: order_with(w, 12345), "badNonce", 400, "no 'nonce'"),
    case("nonce-object", lambda w: order_with(w, {"n": 1}), "badNonce", 400),
    case("nonce-unknown", lambda w: order_with(w, "AAAAAAAAAAAAAAAAAAAA"), "badNonce", 400,
         "unknown or already used"),
    case("nonce-not-base64url", lambda w: order_with(w, "not a nonce!"), "badNonce", 400),
    case("nonce-huge", lambda w: order_with(w, "A" * 20000), "badNonce", 400),
    case("nonce-reused", reused, "badNonce", 400, "already used"),
    case("nonce-of-another-server", other_server_nonce, "badNonce", 400),
    case("nonce-forgotten-by-bounded-pool", forgotten, "badNonce", 400),
]


@pytest.mark.parametrize("send,type_,status,words", CASES)
def test_hostile_nonce(world, send, type_, status, words):
    run_case(world, send, type_, status, words)


SIGNED = ["newAccount", "newOrder", "account", "orders", "order", "finalize", "authz",
          "challenge", "certificate", "revokeCert", "keyChange"]


@pytest.mark.parametrize("endpoint", SIGNED)
def test_reused_nonce_on_every_signed_endpoint(world, endpoint):
    """The nonce is checked (after the signature) on every endpoint, and a
    refusal consumes nothing: the object is untouched."""
    alice = world.who("alice")
    urls = {"newAccount": world.directory["newAccount"],
            "newOrder": world.directory["newOrder"],
            "revokeCert": world.directory["revokeCert"],
            "keyChange": world.directory["keyChange"], "account": alice.kid,
            "orders": alice.kid + "/orders"}
    if endpoint not in urls:
        issued = world.issued(alice, "reuse.test")
        authz_url = issued.body["authorizations"][0]
        chall = world.signed(alice, authz_url, None).get_json()["challenges"][0]["url"]
        urls.update(order=issued.url, finalize=issued.body["finalize"], authz=authz_url,
                    challenge=chall, certificate=issued.cert_url)
    nonce = world.nonce()
    assert world.nonces_consumed(nonce)
    if endpoint == "newAccount":
        body = sign(alice.key, urls[endpoint], {}, nonce=nonce)
    else:
        body = sign(alice.key, urls[endpoint], None, nonce=nonce, kid=alice.kid)
    run_case(world, lambda w: w.post_raw(urls[endpoint], json.dumps(body)), "badNonce", 400,
             ["already used"])
