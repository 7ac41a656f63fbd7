"""Accounts (RFC 8555 §7.3) at the HTTP layer: creation, lookup, update,
deactivation, terms of service and the paginated orders list."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from jws_client import WsgiAcme, assert_problem
from pytest_acme import AcmeConfig
from pytest_acme.web.app import AcmeApp


@pytest.fixture
def acme():
    app = AcmeApp(AcmeConfig(seed=3))
    client = WsgiAcme(app)
    yield client
    assert app.take_errors() == []


@pytest.fixture
def key():
    return ec.generate_private_key(ec.SECP256R1())


def test_new_account_is_201_with_location_then_200_for_the_same_key(acme, key):
    url = acme.directory["newAccount"]
    first = acme.post(url, {"termsOfServiceAgreed": True, "contact": ["mailto:a@example.com"]}, key)
    assert first.status_code == 201
    location = first.headers["Location"]
    assert location.startswith("http://localhost/acme/acct/")
    body = first.get_json()
    assert body["status"] == "valid"
    assert body["contact"] == ["mailto:a@example.com"]
    assert body["termsOfServiceAgreed"] is True
    assert body["orders"] == location + "/orders"
    again = acme.post(url, {"termsOfServiceAgreed": True}, key)
    assert again.status_code == 200
    assert again.headers["Location"] == location
    assert len(acme.app.store.accounts) == 1


def test_only_return_existing(acme, key):
    url = acme.directory["newAccount"]
    missing = acme.post(url, {"onlyReturnExisting": True}, key)
    assert_problem(missing, "accountDoesNotExist", 400, "onlyReturnExisting")
    location = acme.new_account(key)
    found = acme.post(url, {"onlyReturnExisting": True}, key)
    assert (found.status_code, found.headers["Location"]) == (200, location)


@pytest.mark.parametrize(
    "contact, type_, words",
    [
        (["tel:+1-555"], "unsupportedContact", ["only 'mailto:'"]),
        (["https://example.com"], "unsupportedContact", ["only 'mailto:'"]),
        (["mailto:"], "invalidContact", ["single"]),
        (["mailto:a@b"], "invalidContact", []),
        (["mailto:a@example.com,b@example.com"], "invalidContact", []),
        (["mailto:a@example.com?subject=x"], "invalidContact", ["header fields"]),
        ("mailto:a@example.com", "malformed", ["array"]),
        ([1], "malformed", ["array"]),
    ],
)
def test_contacts_are_validated(acme, key, contact, type_, words):
    response = acme.post(acme.directory["newAccount"], {"contact": contact}, key)
    assert_problem(response, type_, 400, *words)
    assert not acme.app.store.accounts


def test_terms_agreement_must_be_a_boolean(acme, key):
    response = acme.post(acme.directory["newAccount"], {"termsOfServiceAgreed": "yes"}, key)
    assert_problem(response, "malformed", 400, "termsOfServiceAgreed")


def test_required_terms_agreement_is_user_action_required(key):
    acme = WsgiAcme(AcmeApp(AcmeConfig(require_terms_agreement=True)))
    response = acme.post(acme.directory["newAccount"], {}, key)
    doc = assert_problem(response, "userActionRequired", 403, "termsOfServiceAgreed")
    assert doc["instance"] == "http://localhost/terms"
    assert 'rel="terms-of-service"' in response.headers["Link"]
    assert acme.post(acme.directory["newAccount"], {"termsOfServiceAgreed": True},
                     key).status_code == 201


def test_custom_or_no_terms_of_service():
    custom = WsgiAcme(AcmeApp(AcmeConfig(terms_of_service="https://ca.example/tos")))
    assert custom.directory["meta"]["termsOfService"] == "https://ca.example/tos"
    none = WsgiAcme(AcmeApp(AcmeConfig(terms_of_service="")))
    assert "termsOfService" not in none.directory["meta"]


def test_account_post_as_get_and_update(acme, key):
    kid = acme.new_account(key)
    got = acme.post(kid, None, key, kid=kid)
    assert got.status_code == 200 and got.get_json()["status"] == "valid"
    updated = acme.post(kid, {"contact": ["mailto:new@example.org"]}, key, kid=kid)
    assert updated.get_json()["contact"] == ["mailto:new@example.org"]
    bad = acme.post(kid, {"contact": ["mailto:nope"]}, key, kid=kid)
    assert_problem(bad, "invalidContact", 400)
    bad_status = acme.post(kid, {"status": "valid"}, key, kid=kid)
    assert_problem(bad_status, "malformed", 400, "deactivated")


def test_another_accounts_url_is_unauthorized(acme, key):
    kid = acme.new_account(key)
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = acme.new_account(other_key)
    response = acme.post(other, None, key, kid=kid)
    assert_problem(response, "unauthorized", 403, "does not match")
    response = acme.post(other + "/orders", None, key, kid=kid)
    assert_problem(response, "unauthorized", 403)


def test_deactivated_account_is_refused_afterwards(acme, key):
    kid = acme.new_account(key)
    response = acme.post(kid, {"status": "deactivated"}, key, kid=kid)
    assert response.status_code == 200
    assert response.get_json()["status"] == "deactivated"
    after = acme.post(acme.directory["newOrder"], {"identifiers": [
        {"type": "dns", "value": "x.example"}]}, key, kid=kid)
    assert_problem(after, "unauthorized", 403, "deactivated")
    lookup = acme.post(acme.directory["newAccount"], {"onlyReturnExisting": True}, key)
    assert_problem(lookup, "unauthorized", 403, "deactivated")
    assert [e.reason for e in acme.app.events if e.kind == "account"][-1] == "AccountDeactivated"


def test_orders_list_is_paginated_with_link_next(key):
    acme = WsgiAcme(AcmeApp(AcmeConfig(orders_per_page=2)))
    kid = acme.new_account(key)
    made = []
    for i in range(5):
        response = acme.post(acme.directory["newOrder"], {"identifiers": [
            {"type": "dns", "value": f"n{i}.example.test"}]}, key, kid=kid)
        made.append(response.headers["Location"])
    orders_url = acme.post(kid, None, key, kid=kid).get_json()["orders"]
    seen, url, pages = [], orders_url, 0
    while url:
        response = acme.post(url, None, key, kid=kid)
        assert response.status_code == 200
        seen += response.get_json()["orders"]
        pages += 1
        links = [v for v in response.headers.getlist("Link") if 'rel="next"' in v]
        url = links[0].split(">")[0][1:] if links else None
    assert seen == made
    assert pages == 3
    bad = acme.post(orders_url + "?cursor=x", None, key, kid=kid)
    assert_problem(bad, "malformed", 400, "cursor")


def test_orders_list_leaves_out_invalid_orders(acme, key):
    kid = acme.new_account(key)
    keep = acme.post(acme.directory["newOrder"], {"identifiers": [
        {"type": "dns", "value": "keep.example.test"}]}, key, kid=kid).headers["Location"]
    acme.post(acme.directory["newOrder"], {"identifiers": [
        {"type": "dns", "value": "drop.example.test"}]}, key, kid=kid)
    acme.app.clock.advance(acme.app.config.order_expiry)  # both expire...
    fresh = acme.post(acme.directory["newOrder"], {"identifiers": [
        {"type": "dns", "value": "fresh.example.test"}]}, key, kid=kid).headers["Location"]
    listed = acme.post(kid + "/orders", None, key, kid=kid).get_json()["orders"]
    assert listed == [fresh]
    assert keep not in listed
