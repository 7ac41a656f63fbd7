"""Inputs that once made the server answer 500, over real HTTPS: numbers, dates,
Host headers, and objects that retention dropped.  Each gets a 4xx problem with
an actionable detail (and a live Replay-Nonce wherever a reply carries one)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import ssl

import pytest
import requests
from cryptography.hazmat.primitives.serialization import Encoding

from helpers import (
    account_client,
    account_url,
    answer_all,
    issue_leaf,
    make_csr,
    post,
    post_unchecked,
    read_to_close,
)
from jws_client import PROBLEM, b64
from pytest_acme.httpd.server import WsgiThread
from pytest_acme.protocol.resources import rfc3339
from pytest_acme.standalone.management import make_management_app

pytestmark = pytest.mark.acme(validation="always_valid")


def assert_problem(response, type_, status, *words):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    doc = response.json()
    assert doc["type"] == PROBLEM + type_ and doc["status"] == status, doc
    for word in words:
        assert word in doc["detail"], doc["detail"]
    return doc


def assert_nonce_is_live(acme, response):
    """The problem's Replay-Nonce is accepted by the next request."""
    acme.net._nonces.clear()
    acme.net._add_nonce(response)
    again = post_unchecked(acme, account_url(acme), None)
    assert again.status_code == 200, again.text


# -- newOrder: notBefore / notAfter ---------------------------------------------------


def order_with(acme, **fields):
    return post_unchecked(acme, acme.directory["newOrder"], {
        "identifiers": [{"type": "dns", "value": "dates.example.test"}], **fields})


@pytest.mark.parametrize("fields, words", [
    ({"notBefore": "9999-12-31T23:59:59Z"}, ["notBefore 9999-12-31T23:59:59Z", "too far ahead"]),
    ({"notAfter": "9999-12-31T23:59:59Z"}, ["notAfter 9999", "too far"]),
    ({"notBefore": "9999-12-31T23:59:59-14:00"}, ["outside years 1 to 9999"]),
    ({"notAfter": "0001-01-01T00:00:00+14:00"}, ["outside years 1 to 9999"]),
    ({"notBefore": "0001-01-01T00:00:00Z"}, ["notAfter", "is in the past"]),
    ({"notBefore": "1900-01-01T00:00:00Z", "notAfter": "1900-01-02T00:00:00Z"},
     ["in the past"]),
    ({"notBefore": "0001-01-01T00:00:00Z", "notAfter": "9999-01-01T00:00:00Z"}, ["too far"]),
    ({"notBefore": "2026-13-01T00:00:00Z"}, ["not a date and time"]),
    ({"notBefore": "2026-02-30T00:00:00Z"}, ["not a date and time"]),
    ({"notBefore": "2026-01-01T23:59:60Z"}, ["not a date and time"]),
    ({"notBefore": "2026-01-01T00:00:00+24:00"}, ["offset out of range"]),
    ({"notBefore": "2026-W01-1T00:00:00Z"}, ["RFC 3339"]),
    ({"notBefore": "20260101T000000Z"}, ["RFC 3339"]),
    ({"notBefore": "２０２６-01-01T00:00:00Z"}, ["RFC 3339"]),
    ({"notAfter": "2030-01-01 00:00:00"}, ["time zone"]),
], ids=lambda v: json.dumps(v) if isinstance(v, dict) else None)
def test_extreme_validity_dates_are_malformed(acme_server, fields, words):
    acme = account_client(acme_server)
    response = order_with(acme, **fields)
    assert_problem(response, "malformed", 400, *words)
    assert_nonce_is_live(acme, response)


def test_dates_near_now_are_still_honoured(acme_server):
    acme = account_client(acme_server)
    now = acme_server.clock.now()
    start = now + dt.timedelta(days=300)  # within the horizon, in any time zone
    text = start.astimezone(dt.timezone(dt.timedelta(hours=-14))).isoformat()
    response = order_with(acme, notBefore=text)
    assert response.status_code == 201, response.text
    assert response.json()["notBefore"] == rfc3339(start)


@pytest.mark.acme(boulder=True)
def test_boulder_refuses_the_fields_whatever_their_value(acme_server):
    acme = account_client(acme_server)
    response = order_with(acme, notBefore="9999-12-31T23:59:59-14:00")
    assert_problem(response, "malformed", 400, "NotBefore and NotAfter are not supported")


# -- query parameters and numbers in paths ------------------------------------------


@pytest.mark.parametrize("cursor", ["9" * 5000, "²", "１", "٣", "-1", "1e3", "", "+1",
                                    "0x1", "9" * 10])
def test_absurd_cursors_are_malformed(acme_server, cursor):
    acme = account_client(acme_server)
    orders = account_url(acme) + "/orders"
    response = post_unchecked(acme, orders + "?cursor=" + cursor, None)
    assert_problem(response, "malformed", 400, "'cursor'", "whole number")
    assert_nonce_is_live(acme, response)


def test_the_largest_cursor_is_an_empty_page(acme_server):
    acme = account_client(acme_server)
    orders = account_url(acme) + "/orders"
    response = post_unchecked(acme, orders + "?cursor=999999999", None)
    assert response.status_code == 200 and response.json() == {"orders": []}


@pytest.mark.parametrize("index", ["²", "9" * 5000, "-0", "0x0"])
def test_crl_numbers_that_are_not_numbers_are_not_found(acme_server, index):
    base = acme_server.directory_url.rsplit("/", 1)[0]
    response = requests.get(f"{base}/crl/{index}", verify=acme_server.ca_bundle, timeout=10)
    assert_problem(response, "malformed", 404, "no CRL")


@pytest.mark.parametrize("method, path", [("GET", "/acme/cert/x/alternate/"),
                                          ("GET", "/acme/nothing/"), ("PUT", "/directory/")])
def test_a_long_path_is_not_repeated_whole_in_the_detail(acme_server, method, path):
    url = acme_server.directory_url.rsplit("/", 1)[0] + path + "9" * 5000
    response = requests.request(method, url, verify=acme_server.ca_bundle, timeout=10)
    assert 400 <= response.status_code < 500, response.text[:300]
    assert len(response.json()["detail"]) < 400


def test_a_serial_of_thousands_of_octets_is_not_quoted_whole(acme_server):
    """RFC 5280 §4.1.2.2 serials are at most 20 octets: a renewalInfo certID naming a
    30000-octet one is not found, and the detail does not repeat it."""

    acme = account_client(acme_server)
    leaf = issue_leaf(acme_server, acme, ["serial.example.test"])
    aki = _cert_id(leaf).split(".")[0]
    serial = b64(b"\x7f" * 30000)
    response = requests.get(f"{acme.directory['renewalInfo']}/{aki}.{serial}",
                            verify=acme_server.ca_bundle, timeout=10)
    assert_problem(response, "malformed", 404, "no certificate with serial 7f7f")
    assert len(response.json()["detail"]) < 200


# -- the Host header ---------------------------------------------------------------


def raw_request(server, head: str) -> "tuple[int, dict, bytes]":
    """Send ``head`` (CRLF line ends added) over TLS; the status, headers and body."""
    context = ssl.create_default_context(cafile=server.ca_bundle)
    context.check_hostname = False
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock, \
            context.wrap_socket(sock) as tls:
        tls.sendall(head.replace("\n", "\r\n").encode("latin-1") + b"\r\n")
        data = read_to_close(tls)
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


BAD_HOSTS = [
    (".", "names no server"),
    ("a" * 64, "64 characters long"),
    ("a" * 64 + ".test:443", "64 characters long"),
    ("", "names no server"),
    ("a b", "characters a host name cannot have"),
    ("[", "not host[:port]"),
    ("[::1", "not host[:port]"),
    ("[zz]", "brackets"),
    ("a..test", "empty"),
    ("user@a.test", "characters a host name cannot have"),
    ("a.test:99999", "1 to 65535"),
    ("a.test:x", "not a number"),
    (".".join(["a" * 60] * 5), "the most is 253"),
    ("bücher.test", "characters a host name cannot have"),
    ("under_score.test", "not letters, digits and inner hyphens"),
    ("a.test:080", "1 to 65535"),
    ("[fe80::1%25eth0]", "IPv6 address in brackets"),
]


@pytest.mark.parametrize("host, words", BAD_HOSTS, ids=[repr(h[:20]) for h, _ in BAD_HOSTS])
@pytest.mark.parametrize("method", ["GET /dir", "POST /acme/new-account"])
def test_hosts_no_url_can_be_built_on_are_bad_requests(acme_server, host, words, method):
    status, headers, body = raw_request(
        acme_server, f"{method} HTTP/1.1\nHost: {host}\nContent-Type: application/jose+json\n"
                     "Content-Length: 2\nConnection: close\n\n{}")
    assert status == 400, body
    assert headers["Content-Type"] == "application/problem+json"
    doc = json.loads(body)
    assert doc["type"] == PROBLEM + "malformed" and words in doc["detail"], doc
    assert ("Replay-Nonce" in headers) == method.startswith("POST")
    assert "https:///" not in body.decode()


@pytest.mark.parametrize("head, words", [
    ("GET /dir HTTP/1.1\nConnection: close\n", "needs a Host header"),
    ("GET /dir HTTP/1.1\nHost: localhost\nHost: localhost\nConnection: close\n",
     "2 Host header lines"),
    ("GET https://a\"b/dir HTTP/1.1\nHost: localhost\nConnection: close\n",
     "characters a host name cannot have"),
    ("GET https://[/dir HTTP/1.1\nHost: localhost\nConnection: close\n", "is not a URL"),
])
def test_http_host_rules(acme_server, head, words):
    """RFC 9112 §3.2: no Host in HTTP/1.1, two Host lines, or a bad authority in the
    absolute form (which replaces the Host) are a 400, as in Go's net/http."""
    status, headers, body = raw_request(acme_server, head)
    assert status == 400, body
    assert words in json.loads(body)["detail"]


@pytest.mark.parametrize("host", ["LOCALHOST", "localhost.", "127.0.0.1", "[::1]",
                                  "a-b.test", "a" * 63 + ".test"])
def test_good_hosts_name_the_urls(acme_server, host):
    port = acme_server.port
    status, _, body = raw_request(
        acme_server, f"GET /dir HTTP/1.1\nHost: {host}:{port}\nConnection: close\n")
    assert status == 200, body
    assert json.loads(body)["newOrder"].startswith(f"https://{host.lower()}:{port}/")


def test_http10_without_host_uses_the_servers_address(acme_server):
    status, _, body = raw_request(acme_server, "GET /dir HTTP/1.0\n")
    assert status == 200, body
    assert json.loads(body)["newOrder"].startswith("https://127.0.0.1:")


# -- objects that retention dropped -------------------------------------------------------


def der_of(leaf):
    return b64(leaf.public_bytes(Encoding.DER))


@pytest.mark.acme(max_orders=1)
def test_revoking_again_after_the_order_was_dropped(acme_server):
    alice, bob = account_client(acme_server), account_client(acme_server)
    leaf = issue_leaf(acme_server, alice, ["dropped.example.test"])
    post(alice, alice.directory["revokeCert"], {"certificate": der_of(leaf), "reason": 1})
    issue_leaf(acme_server, alice, ["next.example.test"])  # the first order is forgotten
    assert [o.identifiers[0].value for o in acme_server.orders()] == ["next.example.test"]
    # Bob holds no authorization for the name: unauthorized, naming it.
    response = post_unchecked(bob, bob.directory["revokeCert"],
                              {"certificate": der_of(leaf)})
    assert_problem(response, "unauthorized", 403, "dropped.example.test")
    # Once he does, the certificate is already revoked.
    order = bob.new_order(make_csr(["dropped.example.test"]))
    answer_all(bob, order)
    acme_server.wait_idle()
    response = post_unchecked(bob, bob.directory["revokeCert"],
                              {"certificate": der_of(leaf)})
    assert_problem(response, "alreadyRevoked", 400)
    # And alice may name it in 'replaces' (RFC 9773 §5): it is hers, for the same name.
    response = post_unchecked(alice, alice.directory["newOrder"], {
        "identifiers": [{"type": "dns", "value": "dropped.example.test"}],
        "replaces": _cert_id(leaf)})
    assert response.status_code == 201, response.text


def _cert_id(leaf):
    from pytest_acme.protocol.ari import cert_id_of

    return cert_id_of(leaf)


# -- the management API over HTTP ---------------------------------------------------------


@contextlib.contextmanager
def management(server):
    thread = WsgiThread(make_management_app(server), "127.0.0.1", 0,
                        what="management API").start()
    try:
        yield f"http://127.0.0.1:{thread.port}"
    finally:
        thread.stop()


def test_renewal_windows_past_year_9999_are_bad_input(acme_server):
    acme = account_client(acme_server)
    leaf = issue_leaf(acme_server, acme, ["window.example.test"])
    pem = leaf.public_bytes(Encoding.PEM).decode()
    with management(acme_server) as base:
        for start, words in [("9999-12-31T23:59:59-14:00", "outside years 1 to 9999"),
                             ("0000-01-01T00:00:00Z", "not a date and time"),
                             ("2026-01-01T00:00:00", "time zone")]:
            window = {"suggestedWindow": {"start": start, "end": "9999-12-31T23:59:59Z"}}
            response = requests.post(f"{base}/set-renewal-info/", json={
                "Certificate": pem, "ARIResponse": json.dumps(window)}, timeout=10)
            assert response.status_code == 400, response.text
            assert words in response.json()["error"]
        # The latest instant there is can be set, and renewalInfo serves it.
        window = {"suggestedWindow": {"start": "9999-12-31T23:59:58Z",
                                      "end": "9999-12-31T23:59:59Z"}}
        response = requests.post(f"{base}/set-renewal-info/", json={
            "Certificate": pem, "ARIResponse": window}, timeout=10)
        assert response.status_code == 200, response.text
    info = requests.get(acme.directory["renewalInfo"] + "/" + _cert_id(leaf),
                        verify=acme_server.ca_bundle, timeout=10)
    assert info.json()["suggestedWindow"]["end"] == "9999-12-31T23:59:59Z"


@pytest.mark.parametrize("path, status, words", [
    ("/pytest-acme/requests?last=²", 400, "last="),
    ("/pytest-acme/requests?last=" + "9" * 5000, 400, "last="),
    ("/pytest-acme/events?order=" + "x" * 5000, 404, "no order"),
    ("/pytest-acme/describe?order=%00", 404, "no order"),
    ("/cert-status-by-serial/" + "f" * 5000, 400, "hexadecimal"),
    ("/roots/²", 404, "certificate index"),
    ("/roots/" + "9" * 5000, 404, "certificate index"),
])
def test_management_query_and_path_numbers(acme_server, path, status, words):
    with management(acme_server) as base:
        response = requests.get(base + path, timeout=10)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]


@pytest.mark.parametrize("host", [".", "a" * 64, ""])
def test_management_hosts_no_url_can_be_built_on(acme_server, host):
    with management(acme_server) as base, \
            socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])),
                                     timeout=10) as sock:
        sock.sendall(f"GET /roots/0 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                     .encode())
        data = read_to_close(sock)
    assert data.startswith(b"HTTP/1.1 400"), data[:300]
    assert b"Host header" in data
