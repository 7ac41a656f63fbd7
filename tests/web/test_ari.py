"""ACME Renewal Information (RFC 9773): renewalInfo windows and newOrder ``replaces``,
driven over HTTPS with certbot's ``acme`` library (and plain GETs: renewalInfo is
unauthenticated)."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from acme import client, messages
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from werkzeug.test import Client

from helpers import account_client, issue_leaf, new_order, obtain, post, post_unchecked, split_chain
from jws_client import PROBLEM, b64
from pytest_acme.standalone.management import make_management_app

pytestmark = pytest.mark.acme(validation="always_valid")

SIX_HOURS = 6 * 3600


def cert_id(cert: x509.Certificate) -> str:
    """RFC 9773 §4.1, computed here independently of the server."""
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    serial = cert.serial_number
    return b64(aki.key_identifier) + "." + b64(serial.to_bytes(serial.bit_length() // 8 + 1,
                                                               "big", signed=True))


def renewal_info(server, certid: str) -> requests.Response:
    base = requests.get(server.directory_url, verify=server.ca_bundle, timeout=10).json()
    return requests.get(f"{base['renewalInfo']}/{certid}", verify=server.ca_bundle, timeout=10)


def window(response: requests.Response):
    assert response.status_code == 200, response.text
    doc = response.json()["suggestedWindow"]
    return tuple(dt.datetime.fromisoformat(doc[k].replace("Z", "+00:00")) for k in ("start", "end"))


def validity(cert: x509.Certificate):
    if hasattr(cert, "not_valid_before_utc"):  # cryptography >= 42
        return cert.not_valid_before_utc, cert.not_valid_after_utc
    return (cert.not_valid_before.replace(tzinfo=dt.timezone.utc),
            cert.not_valid_after.replace(tzinfo=dt.timezone.utc))


def test_directory_names_renewal_info(acme_server):
    doc = requests.get(acme_server.directory_url, verify=acme_server.ca_bundle, timeout=10).json()
    assert doc["renewalInfo"].endswith("/acme/renewal-info")


def test_default_window_is_boulders_and_follows_the_server_clock(acme_server):
    acme = account_client(acme_server)
    acme_server.clock.advance(dt.timedelta(days=40))  # issued "40 days from now"
    leaf = issue_leaf(acme_server, acme, ["ari.example.test"])
    not_before, not_after = validity(leaf)
    assert abs(not_before - acme_server.clock.now()) < dt.timedelta(minutes=1)
    response = renewal_info(acme_server, cert_id(leaf))
    assert response.headers["Retry-After"] == str(SIX_HOURS)
    start, end = window(response)
    # Boulder: two thirds into the validity, 1% of it on either side.
    lifetime = not_after - not_before + dt.timedelta(seconds=1)
    ideal = not_after - lifetime / 3
    assert abs(start - (ideal - lifetime / 100)) <= dt.timedelta(seconds=1)
    assert abs(end - (ideal + lifetime / 100)) <= dt.timedelta(seconds=1)
    assert not_before < start < end < not_after


@pytest.mark.acme(profiles={"week": {"validity": 7 * 86400}})
def test_short_certificates_renew_half_way(acme_server):
    leaf = issue_leaf(acme_server, account_client(acme_server), ["short.example.test"])
    not_before, not_after = validity(leaf)
    start, end = window(renewal_info(acme_server, cert_id(leaf)))
    middle = not_before + (not_after - not_before) / 2
    assert start < middle < end and end - start < dt.timedelta(hours=4)


def test_a_revoked_certificate_gets_a_window_in_the_past(acme_server):
    acme = account_client(acme_server)
    leaf = issue_leaf(acme_server, acme, ["revoked.example.test"])
    post(acme, acme.directory["revokeCert"],
         {"certificate": b64(leaf.public_bytes(Encoding.DER)), "reason": 4})
    acme_server.clock.advance(dt.timedelta(days=3))
    start, end = window(renewal_info(acme_server, cert_id(leaf)))
    now = acme_server.clock.now()
    assert end < now and now - start <= dt.timedelta(hours=1, seconds=2)  # Boulder: 1 h ago


def test_a_test_sets_the_window_of_one_certificate(acme_server):
    acme = account_client(acme_server)
    leaf = issue_leaf(acme_server, acme, ["set.example.test"])
    other = issue_leaf(acme_server, acme, ["other.example.test"])
    start = dt.datetime(2031, 5, 1, tzinfo=dt.timezone.utc)
    returned = acme_server.set_renewal_info(leaf, start, start + dt.timedelta(hours=2),
                                            explanation_url="https://ca.example/incident")
    assert returned == cert_id(leaf)
    response = renewal_info(acme_server, cert_id(leaf))
    assert window(response) == (start, start + dt.timedelta(hours=2))
    assert response.json()["explanationURL"] == "https://ca.example/incident"
    assert window(renewal_info(acme_server, cert_id(other)))[0].year != 2031
    acme_server.set_renewal_info(cert_id(leaf))  # back to the default window
    assert "explanationURL" not in renewal_info(acme_server, cert_id(leaf)).json()
    with pytest.raises(ValueError, match="after its start"):
        acme_server.set_renewal_info(leaf, start, start)


def test_pebbles_set_renewal_info_sets_the_window(acme_server):
    leaf = issue_leaf(acme_server, account_client(acme_server), ["pebble.example.test"])
    mgmt = Client(make_management_app(acme_server))
    ari = '{"suggestedWindow": {"start": "2020-01-01T00:00:00Z", "end": "2020-01-02T00:00:00Z"}}'
    response = mgmt.post("/set-renewal-info/", json={
        "Certificate": leaf.public_bytes(Encoding.PEM).decode(), "ARIResponse": ari})
    assert response.status_code == 200, response.get_data(as_text=True)
    start, end = window(renewal_info(acme_server, cert_id(leaf)))
    assert (start.year, end.day) == (2020, 2)
    unknown = mgmt.post("/set-renewal-info/", json={
        "certificate": acme_server.roots_pem.decode(), "ariResponse": ari})
    assert unknown.status_code == 404 and "no certificate" in unknown.get_json()["error"]


@pytest.mark.skipif(not hasattr(client.ClientV2, "renewal_time"),
                    reason="this acme release has no ARI support")
def test_the_acme_librarys_renewal_time_uses_the_window(acme_server):
    acme = account_client(acme_server)
    pem = obtain(acme_server, acme, new_order(acme, ["lib.example.test"])).content
    leaf = split_chain(pem)[0]
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    acme_server.set_renewal_info(leaf, start, start + dt.timedelta(hours=1))
    when, _ = acme.renewal_time(pem)
    assert start <= when <= start + dt.timedelta(hours=1)


# -- bad certIDs ----------------------------------------------------------------------


@pytest.mark.parametrize("certid, words", [
    ("abc", "one '.'"),
    ("a.b.c", "one '.'"),
    (".AQ", "one '.'"),
    ("AAA=.AQ", "padding"),
    ("a+b/.AQ", "base64url"),
    ("AQID.gA", "leading zero octet"),     # 0x80: negative as a DER INTEGER
    ("AQID.AAE", "superfluous leading zero"),
])
def test_malformed_cert_ids(acme_server, certid, words):
    response = renewal_info(acme_server, certid)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "Replay-Nonce" not in response.headers  # a GET's reply (Boulder's rule)
    doc = response.json()
    assert doc["type"] == PROBLEM + "malformed"
    assert words in doc["detail"]


def test_unknown_issuer_serial_and_no_cert_id_are_404(acme_server):
    leaf = issue_leaf(acme_server, account_client(acme_server), ["known.example.test"])
    aki, _ = cert_id(leaf).split(".")
    for certid, words in ((b64(b"\x01" * 20) + ".AQ", "not the key of an issuer"),
                          (aki + ".AQ", "no certificate with serial 1")):
        response = renewal_info(acme_server, certid)
        assert response.status_code == 404 and words in response.json()["detail"]
    base = requests.get(acme_server.directory_url, verify=acme_server.ca_bundle).json()
    response = requests.get(base["renewalInfo"], verify=acme_server.ca_bundle, timeout=10)
    assert response.status_code == 404 and "needs a certID" in response.json()["detail"]


# -- newOrder "replaces" (RFC 9773 §5) ---------------------------------------------------


def order_json(acme, order: messages.OrderResource):
    return acme.net.post(order.uri, None).json()


def test_replaces_is_echoed_and_a_second_replacement_conflicts(acme_server):
    acme = account_client(acme_server)
    leaf = issue_leaf(acme_server, acme, ["r.example.test", "www.r.example.test"])
    first = new_order(acme, ["r.example.test"], replaces=cert_id(leaf))
    assert order_json(acme, first)["replaces"] == cert_id(leaf)
    second = post_unchecked(acme, acme.directory["newOrder"], {
        "identifiers": [{"type": "dns", "value": "r.example.test"}], "replaces": cert_id(leaf)})
    assert second.status_code == 409
    assert second.headers["Content-Type"] == "application/problem+json"
    assert second.json()["type"] == PROBLEM + "alreadyReplaced"
    assert "already replaced by order" in second.json()["detail"]
    cert_url = acme_server.orders()[0].certificate_url
    info = acme_server.lookup(cert_url)
    assert info.replaced_by == [first.uri]
    assert ["ReplacedBy:", first.uri] in [
        line.split() for line in acme_server.describe(cert_url).splitlines()]
    assert ["Replaces:", cert_id(leaf)] in [
        line.split() for line in acme_server.describe(first.uri).splitlines()]


def test_an_invalid_replacement_frees_the_certificate(acme_server):
    acme = account_client(acme_server)
    leaf = issue_leaf(acme_server, acme, ["free.example.test"])
    first = new_order(acme, ["free.example.test"], replaces=cert_id(leaf))
    acme_server.faults.invalidate_order(first.uri)
    second = new_order(acme, ["free.example.test"], replaces=cert_id(leaf))
    assert order_json(acme, second)["replaces"] == cert_id(leaf)
    assert obtain(acme_server, acme, second).status_code == 200


def test_replacement_rules(acme_server):
    acme = account_client(acme_server)
    leaf = issue_leaf(acme_server, acme, ["mine.example.test"])
    other = account_client(acme_server)
    cases = [
        (other, ["mine.example.test"], cert_id(leaf), "unauthorized", "another account"),
        (acme, ["elsewhere.example.test"], cert_id(leaf), "malformed", "shares no identifier"),
        (acme, ["mine.example.test"], 42, "malformed", "must be a string"),
        (acme, ["mine.example.test"], "nodot", "malformed", "one '.'"),
    ]
    for who, names, replaces, typ, words in cases:
        with pytest.raises(messages.Error) as err:
            new_order(who, names, replaces=replaces)
        assert err.value.typ == PROBLEM + typ and words in err.value.detail, err.value
    aki = cert_id(leaf).split(".")[0]
    with pytest.raises(messages.Error) as err:
        new_order(acme, ["mine.example.test"], replaces=aki + ".AQ")
    assert err.value.code == "malformed" and "no certificate" in err.value.detail
    assert acme_server.lookup(acme_server.orders()[0].certificate_url).replaced_by == []


@pytest.mark.acme(reuse_identical_orders=True)
def test_boulders_identical_order_reuse_keeps_the_replacement(acme_server):
    acme = account_client(acme_server)
    leaf = issue_leaf(acme_server, acme, ["same.example.test"])
    first = new_order(acme, ["same.example.test"], replaces=cert_id(leaf))
    again = new_order(acme, ["same.example.test"], replaces=cert_id(leaf))
    assert again.uri == first.uri  # the same pending order, not alreadyReplaced
    other = post_unchecked(acme, acme.directory["newOrder"], {
        "identifiers": [{"type": "dns", "value": "same.example.test"}]})
    assert other.status_code == 201 and other.headers["Location"] != first.uri


def test_set_renewal_info_takes_pem_url_cert_id_and_refuses_strangers(acme_server):
    acme = account_client(acme_server)
    leaf = issue_leaf(acme_server, acme, ["forms.example.test"])
    start = dt.datetime(2032, 1, 1, tzinfo=dt.timezone.utc)
    url = acme_server.orders()[0].certificate_url
    for form in (leaf.public_bytes(Encoding.PEM), leaf.public_bytes(Encoding.PEM).decode(),
                 url, cert_id(leaf), leaf.serial_number):
        assert acme_server.set_renewal_info(form, start, start + dt.timedelta(days=1)) == \
            cert_id(leaf)
    for stranger in (12345, "AQ.AQ", acme_server.roots_pem):
        with pytest.raises(KeyError):
            acme_server.set_renewal_info(stranger, start, start + dt.timedelta(days=1))
    with pytest.raises(ValueError, match="both"):
        acme_server.set_renewal_info(leaf, start)


def test_pebbles_set_renewal_info_takes_an_instant_window_to_say_renew_now(acme_server):
    """Suites tell Pebble "renew now" with a window whose start is its end; it is
    taken and served as given.  A window that ends before it starts is still refused."""
    leaf = issue_leaf(acme_server, account_client(acme_server), ["now.example.test"])
    mgmt = Client(make_management_app(acme_server))
    pem = leaf.public_bytes(Encoding.PEM).decode()
    instant = ('{"suggestedWindow": {"start": "2020-01-01T00:00:00Z", '
               '"end": "2020-01-01T00:00:00Z"}}')
    response = mgmt.post("/set-renewal-info/", json={"Certificate": pem, "ARIResponse": instant})
    assert response.status_code == 200, response.get_data(as_text=True)
    served = renewal_info(acme_server, cert_id(leaf))
    assert served.status_code == 200
    assert served.json()["suggestedWindow"] == {"start": "2020-01-01T00:00:00Z",
                                                "end": "2020-01-01T00:00:00Z"}
    backwards = ('{"suggestedWindow": {"start": "2020-01-02T00:00:00Z", '
                 '"end": "2020-01-01T00:00:00Z"}}')
    response = mgmt.post("/set-renewal-info/", json={"Certificate": pem, "ARIResponse": backwards})
    assert response.status_code == 400 and "after its start" in response.get_json()["error"]
