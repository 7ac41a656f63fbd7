"""Key rollover (RFC 8555 §7.3.5): a nested JWS, old key outside, new key inside."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from jws_client import OMIT, WsgiAcme, assert_problem, jwk_for, sign
from pytest_acme import AcmeConfig
from pytest_acme.web.app import AcmeApp


@pytest.fixture
def acme():
    app = AcmeApp(AcmeConfig(seed=5))
    client = WsgiAcme(app)
    yield client
    assert app.take_errors() == []


def new_key():
    return ec.generate_private_key(ec.SECP256R1())


def change(acme, old, kid, new, *, inner=None, inner_payload=None):
    url = acme.directory["keyChange"]
    body = inner_payload if inner_payload is not None else {
        "account": kid, "oldKey": jwk_for(old).public_key().to_partial_json()}
    inner_jws = sign(new, url, body, nonce=OMIT, protected={"nonce": OMIT, **(inner or {})})
    return acme.post(url, inner_jws, old, kid=kid)


def test_the_directory_names_key_change(acme):
    assert acme.directory["keyChange"] == "http://localhost/acme/key-change"


def test_rollover_moves_the_account_to_the_new_key(acme):
    old, new = new_key(), new_key()
    kid = acme.new_account(old)
    response = change(acme, old, kid, new)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["key"] == jwk_for(new).public_key().to_partial_json()
    # The new key signs for the account; the old one is unknown now.
    assert acme.post(kid, None, new, kid=kid).status_code == 200
    assert_problem(acme.post(kid, None, old, kid=kid), "malformed", 400, "does not verify")
    found = acme.post(acme.directory["newAccount"], {"onlyReturnExisting": True}, new)
    assert found.headers["Location"] == kid
    lookup = acme.post(acme.directory["newAccount"], {"onlyReturnExisting": True}, old)
    assert_problem(lookup, "accountDoesNotExist", 400)
    assert "AccountKeyChanged" in [e.reason for e in acme.app.events]


def test_a_key_of_another_account_is_a_409_with_its_location(acme):
    old, taken = new_key(), new_key()
    kid = acme.new_account(old)
    other = acme.new_account(taken)
    response = change(acme, old, kid, taken)
    assert_problem(response, "malformed", 409, "already belongs")
    assert response.headers["Location"] == other


@pytest.mark.parametrize("inner, words", [
    ({"nonce": "abc"}, "must not carry a 'nonce'"),
    ({"url": "http://localhost/acme/new-order"}, "must equal the outer"),
    ({"kid": "http://localhost/acme/acct/x"}, "as 'jwk'"),
])
def test_inner_header_rules(acme, inner, words):
    old = new_key()
    kid = acme.new_account(old)
    assert_problem(change(acme, old, kid, new_key(), inner=inner), "malformed", 400, words)


def test_inner_payload_rules(acme):
    old, new = new_key(), new_key()
    kid = acme.new_account(old)
    other = acme.new_account(new_key())
    wrong_account = {"account": other, "oldKey": jwk_for(old).public_key().to_partial_json()}
    assert_problem(change(acme, old, kid, new, inner_payload=wrong_account), "unauthorized",
                   403, "another account")
    wrong_old = {"account": kid, "oldKey": jwk_for(new_key()).public_key().to_partial_json()}
    assert_problem(change(acme, old, kid, new, inner_payload=wrong_old), "malformed", 400,
                   "not the account's current key")
    assert acme.post(kid, None, old, kid=kid).status_code == 200  # nothing changed


def test_inner_signature_must_be_by_the_new_key(acme):
    old, new = new_key(), new_key()
    kid = acme.new_account(old)
    url = acme.directory["keyChange"]
    inner = sign(old, url, {"account": kid, "oldKey": jwk_for(old).public_key().to_partial_json()},
                 nonce=OMIT, protected={"nonce": OMIT,
                                        "jwk": jwk_for(new).public_key().to_partial_json()})
    assert_problem(acme.post(url, inner, old, kid=kid), "malformed", 400, "the new key")


def test_the_payload_must_be_a_jws(acme):
    old = new_key()
    kid = acme.new_account(old)
    response = acme.post(acme.directory["keyChange"], {"account": kid}, old, kid=kid)
    assert_problem(response, "malformed", 400, "inner JWS")
    assert json.loads(response.get_data())["status"] == 400
