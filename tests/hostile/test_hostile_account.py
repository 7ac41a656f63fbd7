"""Hostile account requests: newAccount, account update and the orders list
(RFC 8555 §7.3), with wrong types for every field."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from wsgi_world import case, run_case


def new_account(w, payload):
    return w.post(w.directory["newAccount"], payload, ec.generate_private_key(ec.SECP256R1()))


def update(w, payload):
    alice = w.who("alice")
    return w.signed(alice, alice.kid, payload)


def orders(w, payload=None, query=""):
    alice = w.who("alice")
    return w.signed(alice, alice.kid + "/orders" + query, payload)


NEW_ACCOUNT = [
    case("contact-string", lambda w: new_account(w, {"contact": "mailto:a@example.com"}),
         "malformed", 400, "array"),
    case("contact-object", lambda w: new_account(w, {"contact": {"a": 1}}), "malformed", 400,
         "array"),
    case("contact-numbers", lambda w: new_account(w, {"contact": [1, 2]}), "malformed", 400,
         "array of URL strings"),
    case("contact-null-item", lambda w: new_account(w, {"contact": [None]}), "malformed", 400),
    case("contact-tel", lambda w: new_account(w, {"contact": ["tel:+15550100"]}),
         "unsupportedContact", 400, "mailto"),
    case("contact-https", lambda w: new_account(w, {"contact": ["https://example.com"]}),
         "unsupportedContact", 400),
    case("contact-empty-string", lambda w: new_account(w, {"contact": [""]}),
         "unsupportedContact", 400),
    case("contact-two-addresses", lambda w: new_account(
        w, {"contact": ["mailto:a@example.com,b@example.com"]}), "invalidContact", 400),
    case("contact-header-fields", lambda w: new_account(
        w, {"contact": ["mailto:a@example.com?subject=hi"]}), "invalidContact", 400),
    case("contact-no-domain", lambda w: new_account(w, {"contact": ["mailto:alice"]}),
         "invalidContact", 400),
    case("contact-trailing-newline", lambda w: new_account(
        w, {"contact": ["mailto:a@example.com\n"]}), "invalidContact", 400),
    case("contact-space", lambda w: new_account(w, {"contact": ["mailto:a b@example.com"]}),
         "invalidContact", 400),
    case("tos-string", lambda w: new_account(w, {"termsOfServiceAgreed": "yes"}),
         "malformed", 400, "true or false"),
    case("tos-number", lambda w: new_account(w, {"termsOfServiceAgreed": 1}),
         "malformed", 400, "true or false"),
    case("only-return-existing-unknown-key", lambda w: new_account(
        w, {"onlyReturnExisting": True}), "accountDoesNotExist", 400, "onlyReturnExisting"),
    case("only-return-existing-string", lambda w: new_account(
        w, {"onlyReturnExisting": "true"}), "malformed", 400, "true or false"),
]

UPDATE = [
    case("status-valid", lambda w: update(w, {"status": "valid"}), "malformed", 400,
         "only be set to 'deactivated'"),
    case("status-revoked", lambda w: update(w, {"status": "revoked"}), "malformed", 400),
    case("status-number", lambda w: update(w, {"status": 3}), "malformed", 400),
    case("status-list", lambda w: update(w, {"status": ["deactivated"]}), "malformed", 400),
    case("update-contact-string", lambda w: update(w, {"contact": "mailto:a@example.com"}),
         "malformed", 400, "array"),
    case("update-contact-ftp", lambda w: update(w, {"contact": ["ftp://x"]}),
         "unsupportedContact", 400),
    case("update-tos-string", lambda w: update(w, {"termsOfServiceAgreed": "true"}),
         "malformed", 400),
    case("orders-with-payload", lambda w: orders(w, {}), "malformed", 400, "POST-as-GET"),
    case("orders-cursor-text", lambda w: orders(w, query="?cursor=abc"), "malformed", 400,
         "cursor"),
    case("orders-cursor-negative", lambda w: orders(w, query="?cursor=-1"), "malformed", 400,
         "cursor"),
]


@pytest.mark.parametrize("send,type_,status,words", NEW_ACCOUNT + UPDATE)
def test_hostile_account(world, send, type_, status, words):
    run_case(world, send, type_, status, words)


def test_new_account_for_a_deactivated_key(world):
    dave = world.actor()
    assert world.signed(dave, dave.kid, {"status": "deactivated"}).status_code == 200
    run_case(world, lambda w: w.post(w.directory["newAccount"], {}, dave.key),
             "unauthorized", 403, ["deactivated"])


def test_terms_required_but_not_agreed():
    from wsgi_world import World

    w = World(require_terms_agreement=True)
    doc = run_case(w, lambda w: new_account(w, {"termsOfServiceAgreed": False}),
                   "userActionRequired", 403, ["terms of service"])
    assert doc["instance"] == w.directory["meta"]["termsOfService"]
