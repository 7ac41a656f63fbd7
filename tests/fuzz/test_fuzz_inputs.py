"""Fuzzing what the ACME app parses outside the JWS payload's objects: query
parameters on every route, numbers in paths, the Host header, Content-Length,
and the dates of newOrder.

The property is test_fuzz_wsgi's: never a 5xx, nothing raised inside the
server, every 4xx a problem document (with a live Replay-Nonce on a POST's
reply).  A Host that is accepted names every URL of the directory.  The run
is bounded by the hypothesis profile (see conftest.py).
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.urls import uri_to_iri

from .test_fuzz_wsgi import check_response, world  # noqa: F401 - the shared module server

#: These targets are many (one per endpoint, parameter and header): each runs a
#: quarter of the profile's examples, so the default (CI) run stays short.
FEW = settings(max_examples=max(10, settings.default.max_examples // 4))

# -- values ----------------------------------------------------------------------

#: Numbers as text, the way they go wrong: Unicode digits (isdigit() but not int()),
#: too many digits (int() refuses 4300+), signs, exponents, spaces.
NUMBERS = ["0", "1", "999999999", "9" * 10, "9" * 5000, "²", "١", "１", "-1", "+1", "1e3",
           "0x1", " 1", "1_0", "", "%00", "1.5", "∞"]
numbers = st.one_of(st.sampled_from(NUMBERS), st.integers(-10, 10**30).map(str),
                    st.text(alphabet="0123456789²³¹١٢٣１２３₀৪", max_size=8))
query_values = st.one_of(numbers, st.text(max_size=20))
queries = st.dictionaries(st.sampled_from(["cursor", "order", "last", "x", "cursor[]", ""]),
                          query_values, max_size=3)

#: Hosts that once escaped as 500s, and the grammar around them.
HOSTS = [".", "", "a b", "[", "a" * 64, "a" * 64 + ".test", "..", "[::1", "[::1]:99999",
         "localhost:0", "localhost:", "under_score", "bücher.test", "xn--bcher-kva.test",
         "a.test.", "LOCALHOST:443", "127.0.0.1", "[::1]", "[fe80::1%25eth0]", "[v1.x]",
         "a,b", "user@host", ":443", "a" * 300]
hosts = st.one_of(st.sampled_from(HOSTS),
                  st.from_regex(r"[a-z0-9.\-_\[\]:%]{0,70}", fullmatch=True),
                  st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF),
                          max_size=30))


@st.composite
def rfc3339(draw):
    """A date-time anywhere in years 1..9999 with any offset, written as RFC 3339
    (the extremes included: their UTC instant may fall outside those years)."""
    when = draw(st.one_of(
        st.sampled_from([dt.datetime.min, dt.datetime.max, dt.datetime(9999, 12, 31, 23, 59, 59),
                         dt.datetime(1, 1, 1)]),
        st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31))))
    minutes = draw(st.one_of(st.sampled_from([0, 14 * 60, -14 * 60, 23 * 60 + 59,
                                              -(23 * 60 + 59)]),
                             st.integers(-(23 * 60 + 59), 23 * 60 + 59)))
    zone = "Z" if minutes == 0 and draw(st.booleans()) else (
        f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")
    fraction = draw(st.sampled_from(["", ".5", ".123456789"]))
    return when.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0") + fraction + zone


#: Near the real time (the world's clock is not moved), where orders are honoured.
near_now = st.integers(-400 * 86400, 4000 * 86400).map(
    lambda s: (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=s)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"))
dates = st.one_of(rfc3339(), near_now, near_now, st.sampled_from(["9999-12-31T23:59:59-14:00",
                                              "0001-01-01T00:00:00+14:00",
                                              "2026-02-30T00:00:00Z", "2026-01-01T00:00:00"]),
                  st.text(max_size=30))


def with_query(url, query):
    if not query:
        return url
    return url + "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())


def check(world, response):  # noqa: F811
    """check_response, for HEAD too (whose reply has the headers and no body), and
    for the OCSP responder (whose errors are OCSP responses, RFC 6960 §2.3)."""
    if response.request.path.startswith("/ocsp"):
        assert response.status_code < 500 and world.app.take_errors() == []
        if response.status_code >= 400:
            assert response.headers["Content-Type"] == "application/ocsp-response"
        return None
    if response.request.method != "HEAD":
        return check_response(world, response)
    assert response.status_code < 500
    assert world.app.take_errors() == []
    if response.status_code >= 400:
        assert response.headers["Content-Type"] == "application/problem+json"


# -- properties ------------------------------------------------------------------

SIGNED = ["account", "orders", "order", "authz", "challenge", "certificate", "newOrder",
          "finalize", "revokeCert", "newAccount"]


@pytest.mark.parametrize("endpoint", SIGNED)
def test_query_parameters_on_signed_endpoints(world, endpoint):  # noqa: F811
    alice = world.who("alice")

    @FEW
    @given(query=queries)
    def run(query):
        url = uri_to_iri(with_query(world.targets[endpoint], query))  # as the server reads it
        payload = {"termsOfServiceAgreed": True} if endpoint == "newAccount" else None
        if endpoint == "newAccount":
            response = world.post(url, payload, alice.key)
        else:
            response = world.signed(alice, url, payload)
        check_response(world, response)

    run()


def test_orders_cursor(world):  # noqa: F811
    """The account's orders list reads ``cursor``: a page number, or malformed."""
    alice = world.who("alice")

    @FEW
    @given(cursor=numbers)
    def run(cursor):
        # Signed as the server reads it back (an IRI: '²', not '%C2%B2').
        url = uri_to_iri(world.targets["orders"] + "?cursor=" + quote(cursor))
        response = world.signed(alice, url, None)
        check_response(world, response)
        if response.status_code != 200:
            assert "'cursor'" in response.get_json()["detail"]

    run()


@pytest.mark.parametrize("path", ["/directory", "/acme/new-nonce", "/crl/{n}",
                                  "/acme/renewal-info/{n}", "/acme/order/{n}", "/ocsp/{n}",
                                  "/acme/cert/x/alternate/{n}"])
def test_numbers_in_paths_and_queries_of_unsigned_reads(world, path):  # noqa: F811
    @FEW
    @given(n=numbers, query=queries, method=st.sampled_from(["GET", "HEAD"]))
    def run(n, query, method):
        url = with_query(path.format(n=quote(n, safe="")), query)
        check(world, world.http.open(url, method=method))

    run()


@pytest.mark.parametrize("method", ["GET /directory", "HEAD /acme/new-nonce",
                                    "POST /acme/new-account", "POST /acme/new-order"])
def test_host_headers(world, method):  # noqa: F811
    verb, path = method.split()

    @FEW
    @given(host=hosts)
    def run(host):
        response = world.http.open(path, method=verb, headers={"Host": host}, data=b"{}",
                                   content_type="application/jose+json")
        check(world, response)
        if response.status_code == 200 and verb == "GET":
            for url in response.get_json().values():
                if isinstance(url, str):
                    assert re.match(r"https?://[^/]", url), url
        if response.status_code == 400 and verb == "GET":
            assert "Host header" in response.get_json()["detail"]

    run()


def test_content_lengths(world):  # noqa: F811
    @FEW
    @given(length=numbers)
    def run(length):
        response = world.http.post("/acme/new-account", data=b"{}", headers={
            "Content-Type": "application/jose+json", "Content-Length": length})
        check_response(world, response)

    run()


def test_order_dates(world):  # noqa: F811
    alice = world.who("alice")

    @FEW
    @given(fields=st.fixed_dictionaries({}, optional={"notBefore": dates, "notAfter": dates}))
    def run(fields):
        response = world.signed(alice, world.targets["newOrder"], {
            "identifiers": [{"type": "dns", "value": "dates.fuzz.test"}], **fields})
        check_response(world, response)
        if response.status_code == 201:  # what was honoured is within reach of now
            body = response.get_json()
            for name in ("notBefore", "notAfter"):
                if name in body:
                    year = int(body[name][:4])
                    assert abs(year - world.app.clock.now().year) <= 11, body

    run()
