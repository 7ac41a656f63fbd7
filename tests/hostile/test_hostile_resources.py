"""Hostile requests to resources: wrong methods, unknown paths and ids,
payloads where POST-as-GET is required, and updates that are not allowed."""

from __future__ import annotations

import functools

import pytest

from wsgi_world import case, run_case


@functools.cache
def objects(world):
    """alice's issued order, its authorization and challenge."""
    alice = world.who("alice")
    issued = world.issued(alice, "res.test")
    authz = issued.body["authorizations"][0]
    chall = world.signed(alice, authz, None).get_json()["challenges"][0]["url"]
    return {"order": issued.url, "finalize": issued.body["finalize"], "authz": authz,
            "challenge": chall, "certificate": issued.cert_url, "account": alice.kid,
            "orders": alice.kid + "/orders"}


def as_alice(what, payload=None, suffix=""):
    return lambda w: w.signed(w.who("alice"), objects(w)[what] + suffix, payload)


def method(verb, path):
    return lambda w: w.http.open(path, method=verb)


METHODS = [
    case("get-new-account", method("GET", "/acme/new-account"), "malformed", 405, "POST"),
    case("get-new-order", method("GET", "/acme/new-order"), "malformed", 405),
    case("get-order", lambda w: w.http.get(objects(w)["order"]), "malformed", 405,
         "POST-as-GET"),
    case("get-certificate", lambda w: w.http.get(objects(w)["certificate"]), "malformed", 405,
         "POST-as-GET"),
    case("put-account", lambda w: w.http.put(objects(w)["account"]), "malformed", 405),
    case("delete-order", lambda w: w.http.delete(objects(w)["order"]), "malformed", 405),
    case("post-directory", method("POST", "/directory"), "malformed", 405),
    case("post-new-nonce", method("POST", "/acme/new-nonce"), "malformed", 405),
    case("patch-authz", lambda w: w.http.patch(objects(w)["authz"]), "malformed", 405),
]

PATHS = [
    case("unknown-path", method("GET", "/acme/nothing"), "malformed", 404, "no resource"),
    case("unknown-deep-path", method("POST", "/acme/order/a/b/c"), "malformed", 404),
    case("dot-dot-path", method("GET", "/acme/../../etc/passwd"), "malformed", 404),
    case("unknown-order", lambda w: w.signed(w.who("alice"), "http://localhost/acme/order/x",
                                             None), "malformed", 404, "no order"),
    case("unknown-authz", lambda w: w.signed(w.who("alice"), "http://localhost/acme/authz/x",
                                             None), "malformed", 404, "no authorization"),
    case("unknown-challenge", lambda w: w.signed(
        w.who("alice"), "http://localhost/acme/chall/x", {}), "malformed", 404,
         "no challenge"),
    case("unknown-certificate", lambda w: w.signed(
        w.who("alice"), "http://localhost/acme/cert/x", None), "malformed", 404,
         "no certificate"),
    case("unknown-account-url", lambda w: w.signed(
        w.who("alice"), "http://localhost/acme/acct/x", None), "unauthorized", 403,
         "does not match"),
]

PAYLOADS = [
    case("order-with-payload", as_alice("order", {}), "malformed", 400, "POST-as-GET"),
    case("certificate-with-payload", as_alice("certificate", {"x": 1}), "malformed", 400,
         "POST-as-GET"),
    case("authz-status-valid", as_alice("authz", {"status": "valid"}), "malformed", 400,
         "deactivated"),
    case("authz-status-number", as_alice("authz", {"status": 1}), "malformed", 400),
    case("authz-other-update", as_alice("authz", {"identifier": {"type": "dns",
                                                                 "value": "x.test"}}),
         "malformed", 400),
    case("orders-with-payload", as_alice("orders", {"cursor": 1}), "malformed", 400,
         "POST-as-GET"),
]


@pytest.mark.parametrize("send,type_,status,words", METHODS + PATHS + PAYLOADS)
def test_hostile_resource_request(world, send, type_, status, words):
    run_case(world, send, type_, status, words)
