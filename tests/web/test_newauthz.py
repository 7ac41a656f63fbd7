"""Pre-authorization (RFC 8555 §7.4.1): newAuthz in the directory, the authorization
it makes, its identifier rules, and a later newOrder that uses it."""

from __future__ import annotations

import pytest
from acme import messages

from helpers import account_client, deadline, make_csr, post
from jws_client import PROBLEM


def new_authz(acme, value: str, type_: str = "dns"):
    """POST newAuthz through the client's JWS and nonce handling."""
    return post(acme, acme.directory["newAuthz"], {"identifier": {"type": type_, "value": value}})


def answer(acme, authz_body: dict, kind: str = "http-01") -> None:
    challb = messages.ChallengeBody.from_json(
        next(c for c in authz_body["challenges"] if c["type"] == kind))
    acme.answer_challenge(challb, challb.chall.response(acme.net.key))


def test_the_directory_advertises_new_authz(acme_server):
    acme = account_client(acme_server)
    assert acme.directory["newAuthz"].endswith("/acme/new-authz")


def test_new_authz_makes_a_pending_authorization(acme_server):
    acme = account_client(acme_server)
    response = new_authz(acme, "Pre.Example.Test")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    assert body["identifier"] == {"type": "dns", "value": "pre.example.test"}
    assert {c["type"] for c in body["challenges"]} == {"http-01", "dns-01", "tls-alpn-01"}
    # It is a real authorization: readable at its Location with POST-as-GET.
    assert post(acme, response.headers["Location"], None).json() == body
    assert "newAuthz (pre-authorization)" in acme_server.describe(response.headers["Location"])
    assert acme_server.lookup(response.headers["Location"]).preauthorized


def test_a_preauthorized_identifier_is_validated_for_real(acme_server, acme_http01_responder):
    """The http-01 challenge of a newAuthz authorization is checked against the responder."""
    acme = account_client(acme_server)
    response = new_authz(acme, "real.example.test")
    body = response.json()
    challenge = next(c for c in body["challenges"] if c["type"] == "http-01")
    challb = messages.ChallengeBody.from_json(challenge)
    resp, validation = challb.response_and_validation(acme.net.key)
    acme_http01_responder.publish(challb.chall.encode("token"), validation)
    acme.answer_challenge(challb, resp)
    acme_server.wait_idle()
    assert post(acme, response.headers["Location"], None).json()["status"] == "valid"


@pytest.mark.acme(validation="always_valid")
def test_a_later_order_uses_the_valid_preauthorization(acme_server):
    acme = account_client(acme_server)
    response = new_authz(acme, "pre.example.test")
    answer(acme, response.json())
    acme_server.wait_idle()
    order = acme.new_order(make_csr(["pre.example.test"]))
    assert order.body.status == messages.STATUS_READY
    assert order.body.authorizations == (response.headers["Location"],)
    # ... and it finalizes without any further challenge.
    finished = acme.finalize_order(order, deadline())
    assert "BEGIN CERTIFICATE" in finished.fullchain_pem
    assert "Reused" in [e.reason for e in acme_server.events]


@pytest.mark.acme(validation="always_valid")
def test_an_order_with_more_names_uses_the_preauthorization_for_its_name(acme_server):
    acme = account_client(acme_server)
    pre = new_authz(acme, "a.example.test")
    answer(acme, pre.json())
    acme_server.wait_idle()
    order = acme.new_order(make_csr(["a.example.test", "b.example.test"]))
    assert order.body.status == messages.STATUS_PENDING
    assert pre.headers["Location"] in order.body.authorizations
    assert len(set(order.body.authorizations)) == 2


@pytest.mark.acme(validation="always_valid")
def test_a_pending_preauthorization_is_used_too_and_its_validation_readies_the_order(
        acme_server):
    acme = account_client(acme_server)
    pre = new_authz(acme, "later.example.test")
    order = acme.new_order(make_csr(["later.example.test"]))
    assert order.body.authorizations == (pre.headers["Location"],)
    answer(acme, pre.json())
    acme_server.wait_idle()
    assert post(acme, order.uri, None).json()["status"] == "ready"


@pytest.mark.acme(validation="always_valid")
def test_another_account_does_not_get_the_preauthorization(acme_server):
    owner, other = account_client(acme_server), account_client(acme_server)
    pre = new_authz(owner, "mine.example.test")
    answer(owner, pre.json())
    acme_server.wait_idle()
    order = other.new_order(make_csr(["mine.example.test"]))
    assert order.body.status == messages.STATUS_PENDING
    assert pre.headers["Location"] not in order.body.authorizations


def test_a_wildcard_cannot_be_preauthorized(acme_server):
    acme = account_client(acme_server)
    with pytest.raises(messages.Error) as err:
        new_authz(acme, "*.example.test")
    assert err.value.typ == PROBLEM + "malformed"
    assert "wildcard" in err.value.detail and "newOrder" in err.value.detail


@pytest.mark.parametrize("identifier, problem", [
    ({"type": "dns", "value": "bad_name.example"}, "rejectedIdentifier"),
    ({"type": "email", "value": "a@example.com"}, "unsupportedIdentifier"),
    ({"type": "dns", "value": ""}, "rejectedIdentifier"),
    ({"type": "dns", "value": "pre.example.test."}, "rejectedIdentifier"),
    ({"type": "dns", "value": "a.b.c.d.e.f.g.h.i.example.test"}, "rejectedIdentifier"),
])
def test_identifier_rules_are_those_of_new_order(acme_server, identifier, problem):
    acme = account_client(acme_server)
    with pytest.raises(messages.Error) as by_authz:
        post(acme, acme.directory["newAuthz"], {"identifier": identifier})
    with pytest.raises(messages.Error) as by_order:
        post(acme, acme.directory["newOrder"], {"identifiers": [identifier]})
    assert by_authz.value.typ == PROBLEM + problem
    assert by_order.value.typ == by_authz.value.typ


def test_new_authz_needs_an_identifier(acme_server):
    acme = account_client(acme_server)
    with pytest.raises(messages.Error) as err:
        post(acme, acme.directory["newAuthz"], {"identifiers": [{"type": "dns",
                                                                 "value": "a.test"}]})
    assert err.value.typ == PROBLEM + "malformed"
    assert "'identifier'" in err.value.detail


@pytest.mark.acme(new_authz=False)
def test_switched_off_it_is_not_advertised_and_refused(acme_server):
    acme = account_client(acme_server)
    assert "newAuthz" not in acme.directory.to_partial_json()
    url = acme_server.urls.build("new_authz")
    with pytest.raises(messages.Error) as err:
        post(acme, url, {"identifier": {"type": "dns", "value": "a.example.test"}})
    assert err.value.typ == PROBLEM + "malformed"
    assert "switched off" in err.value.detail
