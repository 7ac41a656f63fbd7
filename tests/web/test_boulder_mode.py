"""Boulder-compatible mode: the ways Let's Encrypt differs from RFC 8555 as written,
all on with ``boulder=True`` and each also switchable alone."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import requests
from acme import messages

from helpers import BannerCapture, account_client, answer_all, banner_field, deadline, make_csr, post
from jws_client import PROBLEM
from pytest_acme import AcmeConfig
from pytest_acme.protocol.resources import rfc3339

pytestmark = pytest.mark.acme(validation="always_valid")
boulder = pytest.mark.acme(boulder=True)


def issued(server, acme, names):
    order = acme.new_order(make_csr(names))
    answer_all(acme, order)
    server.wait_idle()
    return acme.finalize_order(acme.poll_authorizations(order, deadline()), deadline())


def get(server, url):
    return requests.get(url, verify=server.ca_bundle, timeout=10)


# -- plain GET ------------------------------------------------------------------


@boulder
def test_plain_get_reads_order_authz_challenge_and_certificate(acme_server):
    acme = account_client(acme_server)
    order = issued(acme_server, acme, ["get.example.test"])
    authz_url = order.body.authorizations[0]
    authz = post(acme, authz_url, None).json()
    challenge_url = authz["challenges"][0]["url"]
    for url in (order.uri, authz_url, challenge_url):
        response = get(acme_server, url)
        assert response.status_code == 200, response.text
        assert response.json() == post(acme, url, None).json()
        assert "Replay-Nonce" not in response.headers  # Boulder: not on a GET
    assert get(acme_server, challenge_url).headers["Link"].startswith(f"<{authz_url}>")
    cert = get(acme_server, order.body.certificate)
    assert cert.headers["Content-Type"] == "application/pem-certificate-chain"
    assert cert.text == order.fullchain_pem


@pytest.mark.acme(boulder=True, validation_delay=30)
def test_plain_get_of_a_processing_challenge_says_when_to_come_back_as_post_as_get_does(
        acme_server):
    """One Retry-After for both reads: the wait validation_delay still holds back."""
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["later.example.test"]))
    authz = post(acme, order.authorizations[0].uri, None).json()
    url = authz["challenges"][0]["url"]
    started = post(acme, url, {})
    assert (started.json()["status"], started.headers["Retry-After"]) == ("processing", "30")
    acme_server.clock.advance(10)
    response = get(acme_server, url)
    assert response.json()["status"] == "processing"
    assert response.headers["Retry-After"] == "20"
    assert response.headers["Retry-After"] == post(acme, url, None).headers["Retry-After"]
    acme_server.clock.advance(20)  # the validation ends before the server stops
    acme_server.wait_idle()


@pytest.mark.acme(plain_get=True, alternate_roots=2)
def test_plain_get_of_a_certificate_links_its_alternate_chains_as_post_as_get_does(
        acme_server):
    acme = account_client(acme_server)
    order = issued(acme_server, acme, ["chains.example.test"])
    url = order.body.certificate
    by_get, by_post = get(acme_server, url), post(acme, url, None)
    alternates = [link["url"] for link in requests.utils.parse_header_links(
        by_get.headers["Link"]) if link.get("rel") == "alternate"]
    assert alternates == [f"{url}/alternate/1", f"{url}/alternate/2"]
    assert by_get.headers["Link"] == by_post.headers["Link"]
    assert by_get.text == by_post.text


@boulder
def test_plain_get_of_nothing_is_404(acme_server):
    response = get(acme_server, acme_server.urls.order("nothing"))
    assert response.status_code == 404
    assert response.json()["type"] == PROBLEM + "malformed"


@pytest.mark.parametrize("settings", [{}, {"boulder": True, "plain_get": False}])
def test_without_plain_get_a_get_is_405(acme_server, settings):
    acme_server.reconfigure(**settings)
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["n.example.test"]))
    response = get(acme_server, order.uri)
    assert response.status_code == 405
    doc = response.json()
    assert doc["type"] == PROBLEM + "malformed" and "POST-as-GET" in doc["detail"]
    assert response.headers["Allow"] == "POST"


@pytest.mark.acme(plain_get=True)
def test_plain_get_alone(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["alone.example.test"]))
    assert get(acme_server, order.uri).json()["status"] == "pending"
    assert "orders" in post(acme, acme.net.account.uri, None).json()


# -- identical newOrder -------------------------------------------------------------


@boulder
def test_an_identical_new_order_returns_the_pending_order(acme_server):
    acme = account_client(acme_server)
    first = acme.new_order(make_csr(["a.example.test", "b.example.test"]))
    response = post(acme, acme.directory["newOrder"], {"identifiers": [
        {"type": "dns", "value": "B.example.test"}, {"type": "dns", "value": "a.example.test"}]})
    # Boulder answers 201 with the existing order's Location (its WFE always says 201).
    assert response.status_code == 201
    assert response.headers["Location"] == first.uri
    assert len(acme_server.orders()) == 1


@boulder
def test_an_identical_new_order_returns_the_ready_order(acme_server):
    acme = account_client(acme_server)
    first = acme.new_order(make_csr(["r.example.test"]))
    answer_all(acme, first)
    acme_server.wait_idle()
    again = acme.new_order(make_csr(["r.example.test"]))
    assert again.uri == first.uri and again.body.status == messages.STATUS_READY


@boulder
def test_a_valid_order_is_not_returned_again(acme_server):
    acme = account_client(acme_server)
    done = issued(acme_server, acme, ["v.example.test"])
    again = acme.new_order(make_csr(["v.example.test"]))
    assert again.uri != done.uri
    # Its valid authorization is reused, so the new order is ready at once.
    assert again.body.status == messages.STATUS_READY


@boulder
def test_other_identifiers_or_another_account_get_a_new_order(acme_server):
    acme, other = account_client(acme_server), account_client(acme_server)
    first = acme.new_order(make_csr(["a.example.test"]))
    assert acme.new_order(make_csr(["a.example.test", "c.example.test"])).uri != first.uri
    assert other.new_order(make_csr(["a.example.test"])).uri != first.uri


@pytest.mark.acme(boulder=True, reuse_identical_orders=False)
def test_identical_order_reuse_switched_off_alone(acme_server):
    acme = account_client(acme_server)
    first = acme.new_order(make_csr(["a.example.test"]))
    second = acme.new_order(make_csr(["a.example.test"]))
    assert second.uri != first.uri
    # ... while pending authorizations are still reused.
    assert second.body.authorizations == first.body.authorizations


# -- pending authorizations reused ---------------------------------------------------


@boulder
def test_pending_authorizations_are_reused_across_orders(acme_server):
    acme = account_client(acme_server)
    first = acme.new_order(make_csr(["a.example.test", "b.example.test"]))
    second = acme.new_order(make_csr(["a.example.test"]))
    assert second.uri != first.uri
    assert second.body.authorizations[0] in first.body.authorizations


# -- the account's orders field ---------------------------------------------------


@boulder
def test_the_account_has_no_orders_field(acme_server):
    acme = account_client(acme_server)
    account = acme.query_registration(acme.net.account)
    assert "orders" not in post(acme, account.uri, None).json()


def test_by_default_the_account_has_its_orders_field(acme_server):
    acme = account_client(acme_server)
    assert post(acme, acme.net.account.uri, None).json()["orders"].endswith("/orders")


# -- notBefore / notAfter -------------------------------------------------------------


@boulder
@pytest.mark.parametrize("field", ["notBefore", "notAfter"])
def test_not_before_and_not_after_are_refused(acme_server, field):
    acme = account_client(acme_server)
    with pytest.raises(messages.Error) as err:
        post(acme, acme.directory["newOrder"], {
            "identifiers": [{"type": "dns", "value": "a.example.test"}],
            field: "2099-01-01T00:00:00Z"})
    assert err.value.typ == PROBLEM + "malformed"
    assert "NotBefore and NotAfter are not supported" in err.value.detail


@pytest.mark.acme(boulder=True, order_validity_fields=True)
def test_validity_fields_can_stay_on_in_boulder_mode(acme_server):
    acme = account_client(acme_server)
    response = post(acme, acme.directory["newOrder"], {
        "identifiers": [{"type": "dns", "value": "a.example.test"}],
        "notAfter": rfc3339(acme_server.clock.now() + dt.timedelta(days=30))})
    assert response.status_code == 201
    assert "orders" not in post(acme, acme.net.account.uri, None).json()


# -- the switch --------------------------------------------------------------------


@boulder
def test_no_new_authz_in_boulder_mode(acme_server):
    acme = account_client(acme_server)
    assert "newAuthz" not in acme.directory.to_partial_json()


def test_one_switch_sets_every_part_and_each_part_overrides_it():
    parts = ("plain_get", "reuse_identical_orders", "account_orders_field",
             "order_validity_fields", "new_authz", "authz_reuse_valid", "authz_reuse_pending")
    rfc, le = AcmeConfig(), AcmeConfig(boulder=True)
    assert [rfc.effective(p) for p in parts] == [False, False, True, True, True, 0.0, 0.0]
    assert [le.effective(p) for p in parts] == [True, True, False, False, False, 1.0, 1.0]
    mixed = AcmeConfig(boulder=True, plain_get=False, authz_reuse_pending="never")
    assert (mixed.effective("plain_get"), mixed.effective("authz_reuse_pending")) == (False, 0.0)
    assert mixed.effective("reuse_identical_orders") is True


def test_serve_boulder_flag(tmp_path):
    from pytest_acme.cli import main

    out, stop, result = BannerCapture(), threading.Event(), []
    thread = threading.Thread(target=lambda: result.append(main(
        ["serve", "-q", "--boulder", "--port", "0", "--management-port", "-1",
         "--challtestsrv-port", "-1", "--dns-port", "0"], stop=stop, out=out, env={})))
    thread.start()
    try:
        assert out.ready.wait(15), out.getvalue()
        banner = out.getvalue()
        assert "Boulder-compatible" in banner
        directory = banner_field(banner, "directory:")
        bundle = banner_field(banner, "CA bundle:")
        doc = requests.get(directory, verify=bundle, timeout=10).json()
        assert "newAuthz" not in doc
        plain = requests.get(doc["newOrder"].replace("new-order", "order/x"), verify=bundle,
                             timeout=10)
        assert plain.status_code == 404  # a GET is answered (no such order), not 405
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]


# -- accounts: terms and contacts ---------------------------------------------------


@boulder
def test_boulder_mode_requires_agreeing_to_the_terms(acme_server):
    acme = account_client(acme_server, register=False)
    with pytest.raises(messages.Error) as e:
        acme.new_account(messages.NewRegistration())
    assert e.value.typ == PROBLEM + "userActionRequired"
    assert "termsOfServiceAgreed" in e.value.detail


@boulder
@pytest.mark.parametrize("contact, words", [
    ("mailto:admin@example.com", "example.com, example.net and example.org"),
    ("mailto:ops@Example.ORG", "example.com, example.net and example.org"),
    ("mailto:ops@mail.example.test", ".test is a reserved top-level domain"),
    ("mailto:ops@box.internal", ".internal is a reserved top-level domain"),
    ("mailto:a@b.example.com?subject=x", "not a single"),
    ("tel:+15551234", "only 'mailto:' URLs"),
])
def test_boulder_mode_refuses_contacts_lets_encrypt_refuses(acme_server, contact, words):
    acme = account_client(acme_server, register=False)
    with pytest.raises(messages.Error) as e:
        acme.new_account(messages.NewRegistration(contact=(contact,),
                                                  terms_of_service_agreed=True))
    assert e.value.typ in (PROBLEM + "invalidContact", PROBLEM + "unsupportedContact")
    assert words in e.value.detail
    assert not acme_server.accounts()


@boulder
def test_boulder_mode_checks_contacts_and_keeps_none_as_lets_encrypt(acme_server):
    acme = account_client(acme_server, register=False)
    account = acme.new_account(messages.NewRegistration(
        contact=("mailto:ops@pytest-acme.dev",), terms_of_service_agreed=True))
    raw = post(acme, account.uri, None).json()
    assert "contact" not in raw and raw["status"] == "valid"
    (info,) = acme_server.accounts()
    assert info.contact == []
    assert "ContactsNotKept" in acme_server.describe(account.uri)
    # An update is checked the same way, and kept as little.
    with pytest.raises(messages.Error) as e:
        post(acme, account.uri, {"contact": ["mailto:me@example.net"]})
    assert e.value.typ == PROBLEM + "invalidContact"
    assert "contact" not in post(acme, account.uri, {"contact": ["mailto:me@pytest-acme.dev"]}
                                 ).json()


@pytest.mark.acme(boulder=True, contact_rules="rfc", require_terms_agreement=False)
def test_boulder_mode_can_keep_contacts_and_take_no_agreement(acme_server):
    acme = account_client(acme_server, register=False)
    account = acme.new_account(messages.NewRegistration(contact=("mailto:a@example.com",)))
    assert post(acme, account.uri, None).json()["contact"] == ["mailto:a@example.com"]


def test_by_default_contacts_follow_rfc_8555_and_are_kept(acme_server):
    acme = account_client(acme_server, register=False)
    account = acme.new_account(messages.NewRegistration(
        contact=("mailto:a@example.com",), terms_of_service_agreed=True))
    assert post(acme, account.uri, None).json()["contact"] == ["mailto:a@example.com"]
