"""Inspection and debugging (pytest_acme/inspection.py and describe.py, AcmeServer.orders/lookup/describe):
snapshots with effective statuses at the server clock, and ``kubectl describe``-like text."""

from __future__ import annotations

import datetime as dt
import re
from collections import UserList
from typing import List, Optional

import pytest
from acme import messages
from cryptography import x509

from helpers import account_client, answer_all, deadline, make_csr
from pytest_acme import Status, problems
from pytest_acme.describe import event_type, human_duration, truncate
from pytest_acme.inspection import (
    AccountInfo,
    AuthorizationInfo,
    CertificateInfo,
    ChallengeInfo,
    OrderInfo,
    locate,
)
from pytest_acme.va import ValidationRequest

pytestmark = pytest.mark.acme(validation="always_valid")


class Refused:
    """A validator whose every check fails with a connection problem."""

    def validate(self, request: ValidationRequest) -> Optional[problems.Problem]:
        return problems.Connection(f"connection error fetching http://{request.identifier.value}"
                                   "/.well-known/acme-challenge/x: refused")


def event_reasons(text: str) -> List[str]:
    """The Reason column of the Events table of one describe text."""
    lines = text.splitlines()
    start = lines.index("Events:") + 3  # title, header, underline
    rows = (re.match(r"^  (?:Normal|Warning) +(\S+)", line) for line in lines[start:])
    return [row.group(1) for row in rows if row]  # (wrapped message lines are no rows)


def is_subsequence(wanted: List[str], seen: List[str]) -> bool:
    it = iter(seen)
    return all(any(w == s for s in it) for w in wanted)


def issue(acme_server, names):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(names))
    answer_all(acme, order)
    acme_server.wait_idle()
    order = acme.poll_authorizations(order, deadline())
    order = acme.finalize_order(order, deadline())
    return acme, order


def test_valid_order_snapshot_lookup_and_describe(acme_server):
    names = ["a.example.test", "*.example.test"]
    acme, order = issue(acme_server, names)

    infos = acme_server.orders()
    assert [i.url for i in infos] == [order.uri]
    info = acme_server.order(order.uri)
    assert info == infos[0]
    assert acme_server.order(info.id) == info
    assert acme_server.order(info.finalize_url) == info
    assert isinstance(info, OrderInfo)
    assert info.status is Status.VALID and info.status == "valid"
    assert info.account_url == acme.net.account.uri
    assert [str(i) for i in info.identifiers] == ["dns:a.example.test", "dns:*.example.test"]
    assert info.error is None
    assert info.certificate_url == order.body.certificate
    assert isinstance(info.certificate, x509.Certificate)
    assert info.expires > acme_server.clock.now()

    # authorizations, in order, with their challenges
    assert [a.url for a in info.authorizations] == [a.uri for a in order.authorizations]
    plain, wild = info.authorizations
    assert (plain.wildcard, wild.wildcard) == (False, True)
    assert plain.status is wild.status is Status.VALID
    assert {c.type for c in plain.challenges} == {"http-01", "dns-01", "tls-alpn-01"}
    [http] = [c for c in plain.challenges if c.type == "http-01"]
    assert http.status is Status.VALID and http.validated is not None and http.error is None
    assert [c.type for c in wild.challenges] == ["dns-01"]

    # lookup of every kind of URL
    authz = acme_server.lookup(plain.url)
    assert isinstance(authz, AuthorizationInfo) and authz == plain
    assert authz.order_urls == [order.uri]
    chall = acme_server.lookup(http.url)
    assert isinstance(chall, ChallengeInfo) and chall.url == http.url
    assert chall.token == http.token and chall.authz_url == plain.url
    account = acme_server.lookup(acme.net.account.uri)
    assert isinstance(account, AccountInfo)
    assert account.status is Status.VALID and account.order_urls == [order.uri]
    assert acme_server.accounts() == [account]
    cert = acme_server.lookup(info.certificate_url)
    assert isinstance(cert, CertificateInfo)
    assert cert.serial == info.certificate.serial_number and cert.order_url == order.uri
    # a localhost URL names the same object: only the path counts
    assert acme_server.lookup(order.uri.replace("127.0.0.1", "localhost")) == info
    with pytest.raises(KeyError):
        acme_server.lookup(acme_server.url + "/acme/order/nosuchorder")
    with pytest.raises(KeyError):
        acme_server.order(plain.url)  # an authorization is not an order

    text = acme_server.describe(order.uri)
    assert text == acme_server.describe(info) == acme_server.describe()
    lines = text.splitlines()
    assert lines[0] == f"Order:        {order.uri}"
    assert f"Account:      {acme.net.account.uri}" in lines
    assert "State:        valid" in lines
    assert "Identifiers:  dns:a.example.test, dns:*.example.test" in lines
    assert re.search(r"^Expires:      \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in \w+\)$", text, re.M)
    assert "Error:        (none)" in lines
    serial = f"{info.certificate.serial_number:x}"
    assert f"Certificate: {info.certificate_url} (serial {serial}, notAfter " in " ".join(
        text.split())  # (wrapped at describe.WIDTH)
    assert re.search(rf"^  dns:a\.example\.test +valid +{re.escape(plain.url)}$", text, re.M)
    assert re.search(rf"^  dns:\*\.example\.test +valid +{re.escape(wild.url)}$", text, re.M)
    assert re.search(rf"^    http-01 +valid +{re.escape(http.url)} +validated \d+s ago$", text, re.M)
    [tls] = [c for c in plain.challenges if c.type == "tls-alpn-01"]
    assert re.search(rf"^    tls-alpn-01 +pending +{re.escape(tls.url)}$", text, re.M)
    assert re.search(r"^  Type +Reason +Age +From +Message$", text, re.M)
    reasons = event_reasons(text)
    assert reasons[0] == "Created"
    assert is_subsequence(
        ["Created", "Created", "Created", "ChallengeProcessing", "ChallengeValid",
         "AuthorizationValid", "OrderReady", "OrderProcessing", "CertificateIssued",
         "OrderValid"],
        reasons,
    ), reasons
    assert reasons[-1] == "OrderValid"
    assert re.search(r"^  Normal +Created +\d+s +pytest-acme +order created for "
                     r"a\.example\.test, \*\.example\.test$", text, re.M)
    assert "Warning" not in text


def test_ages_follow_the_server_clock(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["a.example.test"]))
    acme_server.clock.advance(72)
    assert re.search(r"^  Normal +Created +72s ", acme_server.describe(order.uri), re.M)
    acme_server.clock.advance(5 * 60 + 3 - 72)
    assert re.search(r"^  Normal +Created +5m3s ", acme_server.describe(order.uri), re.M)


def test_effective_status_after_expiry(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["a.example.test"]))
    info = acme_server.order(order.uri)
    assert info.status is Status.PENDING
    assert info.authorizations[0].status is Status.PENDING

    acme_server.clock.advance(info.expires - acme_server.clock.now() + dt.timedelta(seconds=1))
    expired = acme_server.order(order.uri)
    assert expired.status is Status.INVALID  # an order that expires becomes invalid
    assert expired.stored_status is Status.PENDING  # reads never change the store
    assert info.status is Status.PENDING  # snapshots are frozen

    authz = expired.authorizations[0]
    acme_server.clock.advance(authz.expires - acme_server.clock.now() + dt.timedelta(seconds=1))
    assert acme_server.lookup(authz.url).status is Status.EXPIRED
    text = acme_server.describe(order.uri)
    assert re.search(r"^State:        invalid \(stored pending; expired \w+ ago\)$", text, re.M)
    assert re.search(r"^Expires:      \S+ \(\w+ ago\)$", text, re.M)
    assert re.search(r"^  dns:a\.example\.test +expired \(stored pending; expired \w+ ago\) ",
                     text, re.M)


def test_invalid_order_describe_shows_the_error(acme_server):
    acme_server.app.validator = Refused()
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["a.example.test"]))
    answer_all(acme, order)
    acme_server.wait_idle()

    info = acme_server.order(order.uri)
    assert info.status is Status.INVALID and info.stored_status is Status.INVALID
    assert info.error["type"] == "urn:ietf:params:acme:error:connection"
    [authz] = info.authorizations
    assert authz.status is Status.INVALID
    [http] = [c for c in authz.challenges if c.type == "http-01"]
    assert http.status is Status.INVALID and "refused" in http.error["detail"]

    text = acme_server.describe()
    assert "State:        invalid" in text.splitlines()
    assert re.search(r"^Error:        connection: connection error fetching "
                     r"http://a\.example\.test/.*: refused$", text, re.M)
    assert "Certificate:  (none)" in text.splitlines()
    assert re.search(r"^  dns:a\.example\.test +invalid +https://", text, re.M)
    assert re.search(rf"^    http-01 +invalid +{re.escape(http.url)}\n"
                     r"      connection: connection error fetching", text, re.M)
    assert re.search(r"^    dns-01 +pending +https://\S+$", text, re.M)
    assert re.search(r"^  Warning +ChallengeInvalid +\d+s +pytest-acme +http-01 challenge for "
                     r"a\.example\.test: processing -> invalid \(fail\):\s+connection: ", text, re.M)
    assert re.search(r"^  Warning +OrderInvalid ", text, re.M)
    assert is_subsequence(["Created", "ChallengeProcessing", "ChallengeInvalid",
                           "AuthorizationInvalid", "OrderInvalid"], event_reasons(text))


def test_describe_of_all_orders_and_of_none(acme_server):
    assert acme_server.orders() == []
    assert acme_server.describe() == "No orders on this server."
    acme = account_client(acme_server)
    first = acme.new_order(make_csr(["one.example.test"]))
    second = acme.new_order(make_csr(["two.example.test"]))
    assert [o.url for o in acme_server.orders()] == [first.uri, second.uri]
    text = acme_server.describe()
    assert text.index(f"Order:        {first.uri}") < text.index(f"Order:        {second.uri}")
    # each order's events are its own
    one = acme_server.describe(first.uri)
    assert "one.example.test" in one and "two.example.test" not in one
    # any sequence of snapshots, not only a list or a tuple
    assert acme_server.describe(UserList(acme_server.orders())) == text


def test_describe_requests(acme_server):
    acme = account_client(acme_server)
    acme.new_order(make_csr(["a.example.test"]))
    with pytest.raises(messages.Error):
        acme.net.post(acme.directory["newOrder"], messages.NewOrder(identifiers=[
            messages.Identifier(typ=messages.IDENTIFIER_FQDN, value="bad..name")]))
    text = acme_server.describe_requests()
    lines = text.splitlines()
    assert lines[0] == "Requests:"
    assert re.match(r"^  Time +Age +Method +Path +Status +Account +Problem$", lines[1])
    assert re.search(r"^  \d\d:\d\d:\d\d\.\d{3} +\d+s +GET +/directory +200 +- +-$", text, re.M)
    assert re.search(r" POST +/acme/new-order +201 +\S+ +-$", text, re.M)
    assert re.search(r" POST +/acme/new-order +400 +\S+ +rejectedIdentifier: ", text, re.M)
    assert len(acme_server.requests) > 3
    last_two = acme_server.describe_requests(last=2).splitlines()
    assert last_two[0] == f"Requests (last 2 of {len(acme_server.requests)}):"
    assert len([line for line in last_two if re.match(r"  \d", line)]) == 2


def test_lookup_by_id_and_not_found(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["a.example.test"]))
    info = acme_server.order(order.uri)
    assert acme_server.lookup(info.authorizations[0].id).url == info.authorizations[0].url
    assert acme_server.lookup(info.id) == info
    for missing in ("nosuchid", acme_server.url + "/directory", acme_server.url + "/nowhere"):
        with pytest.raises(KeyError):
            acme_server.lookup(missing)
    acct = acme_server.lookup(acme.net.account.uri + "/orders")
    assert isinstance(acct, AccountInfo) and acct.order_urls == [order.uri]
    assert "Account:      " + acct.url in acme_server.describe(acct)


def test_one_finder_for_urls_and_ids(acme_server):
    """locate() is what lookup(), faults.expire_order and set_renewal_info find objects
    with: a URL through the route table (trailing slash and host ignored), or an id."""
    acme, order = issue(acme_server, ["find.example.test"])
    info = acme_server.order(order.uri)
    cert = info.certificate_url
    store = acme_server.app.store
    with store.lock:
        assert locate(store, order.uri) == ("order", store.orders[info.id])
        assert locate(store, order.uri + "/") == ("order", store.orders[info.id])
        assert locate(store, info.finalize_url, ("order",))[0] == "order"
        assert locate(store, info.id, ("authorization", "order"))[0] == "order"
        assert locate(store, cert)[0] == "certificate"
        assert locate(store, cert, ("order",)) is None
        assert locate(store, info.authorizations[0].url)[0] == "authorization"
        assert locate(store, info.authorizations[0].challenges[0].url)[0] == "challenge"
        assert locate(store, "/acme/acct/" + info.account_url.rsplit("/", 1)[-1])[0] == "account"
        assert locate(store, acme_server.url + "/directory") is None
        assert locate(store, "nosuchid") is None
    assert acme_server.set_renewal_info(cert) == acme_server.lookup(cert).cert_id
    with pytest.raises(KeyError, match="no certificate"):
        acme_server.set_renewal_info(order.uri)
    with pytest.raises(KeyError, match="no order"):
        acme_server.faults.expire_order(cert)
    acme_server.faults.expire_order(info.finalize_url + "/")  # a valid order: nothing to do
    assert acme_server.order(info.id).status is Status.VALID


@pytest.mark.parametrize("seconds, text", [
    (0, "0s"), (4, "4s"), (72, "72s"), (119, "119s"), (303, "5m3s"), (300, "5m"),
    (42 * 60, "42m"), (2 * 3600, "2h"), (150 * 60, "2h30m"), (3 * 3600 + 60, "3h1m"), (30 * 3600, "30h"),
    (3 * 86400, "3d"), (3 * 86400 + 7200, "3d2h"), (30 * 86400, "30d"), (-5, "0s"),
])
def test_human_duration_like_kubectl(seconds, text):
    assert human_duration(dt.timedelta(seconds=seconds)) == text


def test_event_type_and_truncate():
    for reason in ("ChallengeInvalid", "OrderInvalid", "AuthorizationExpired",
                   "AuthorizationDeactivated", "AccountRevoked", "FaultInjected"):
        assert event_type(reason) == "Warning"
    for reason in ("Created", "OrderValid", "CertificateIssued", "ValidationStarted"):
        assert event_type(reason) == "Normal"
    assert truncate("x" * 200, 20) == "x" * 17 + "..."
    assert truncate("a\nb  c", 20) == "a b c"


@pytest.mark.acme(validation="always_valid")
def test_expiry_shows_in_the_events_and_certificates_read_expired(acme_server):
    """Expiry is derived when read: the clock passing ``expires`` adds OrderExpired
    and AuthorizationExpired events; a certificate past notAfter reads expired."""
    acme = account_client(acme_server)
    pending = acme.new_order(make_csr(["late.example.test"]))
    done = acme.new_order(make_csr(["done.example.test"]))
    answer_all(acme, done)
    acme_server.wait_idle()
    done = acme.begin_finalization(done)
    assert not acme_server.lookup(done.body.certificate).expired
    acme_server.clock.advance(acme_server.config.certificate_validity)
    reasons = [e.reason for e in acme_server.order(pending.uri).events]
    assert reasons[-2:] == ["OrderExpired", "AuthorizationExpired"]
    assert "OrderExpired" in acme_server.describe(pending.uri)
    assert acme_server.lookup(done.body.certificate).expired
    assert acme_server.order(done.uri).status.value == "valid"
