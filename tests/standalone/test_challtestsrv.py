"""The pebble-challtestsrv compatible management API (pytest_acme.standalone.challtestsrv)."""

import http.client
import json
import socket
import ssl
from typing import Any, Iterator, Optional, Tuple

import pytest
from cryptography import x509
from werkzeug.test import Client

from dns_fixtures import fixture_zone  # noqa: F401 - fixtures
from pytest_acme.protocol.challenges import ACME_TLS_1
from pytest_acme.responders import Http01Responder, TlsAlpn01Responder
from pytest_acme.standalone.challtestsrv import EXAMPLES, make_challtestsrv_app
from pytest_acme.va.zone import CaaRecord, Zone, ZoneServfail

# -- helpers


def post(client: Client, path: str, body: Any) -> Any:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json")


def ok(client: Client, path: str, body: Any) -> Any:
    response = post(client, path, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def bad(client: Client, path: str, body: Any, *words: str) -> str:
    response = post(client, path, body)
    text = response.get_data(as_text=True)
    assert response.status_code == 400, text
    assert response.mimetype == "text/plain"
    for word in words:
        assert word in text, text
    return text


@pytest.fixture
def client(zone: Zone) -> Client:
    return Client(make_challtestsrv_app(zone))


@pytest.fixture(scope="module")
def shared_http01() -> Iterator[Http01Responder]:
    with Http01Responder() as responder:  # stopping one takes 0.5 s: share it
        yield responder


@pytest.fixture
def http01(shared_http01: Http01Responder) -> Http01Responder:
    shared_http01.clear()
    del shared_http01.requests[:]
    return shared_http01


@pytest.fixture
def tlsalpn01() -> Iterator[TlsAlpn01Responder]:
    with TlsAlpn01Responder() as responder:
        yield responder


def fetch(responder: Http01Responder, path: str, host: str = "example.test") -> Tuple[int, bytes, Optional[str]]:
    conn = http.client.HTTPConnection("127.0.0.1", responder.port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("Location")
    finally:
        conn.close()


def handshake(responder: TlsAlpn01Responder, server_name: str) -> Tuple[x509.Certificate, Optional[str]]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols([ACME_TLS_1])
    with socket.create_connection(("127.0.0.1", responder.port), timeout=5) as sock:
        with ctx.wrap_socket(sock, server_hostname=server_name) as tls:
            der = tls.getpeercert(binary_form=True)
            assert der is not None
            selected = tls.selected_alpn_protocol()
            try:  # wait until the responder closes: by then it has logged the handshake
                while tls.recv(1024):
                    pass
            except (ssl.SSLError, OSError):
                pass
    return x509.load_der_x509_certificate(der), selected


def handshake_fails(responder: TlsAlpn01Responder, server_name: str) -> None:
    with pytest.raises((ssl.SSLError, OSError)):
        handshake(responder, server_name)


def san(cert: x509.Certificate) -> list:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    )


# -- default addresses


def test_set_default_ipv4(client: Client, zone: Zone) -> None:
    ok(client, "/set-default-ipv4", {"ip": "10.10.10.2"})
    assert zone.resolve_a("anything.example") == ["10.10.10.2"]


def test_set_default_ipv4_empty_leaves_names_without_a(client: Client, zone: Zone) -> None:
    """As pebble-challtestsrv: an empty ``ip`` means no default A record."""
    ok(client, "/set-default-ipv4", {"ip": ""})
    assert zone.resolve_a("anything.example") == []
    ok(client, "/add-a", {"host": "named.example", "addresses": ["10.0.0.7"]})
    assert zone.resolve_a("named.example") == ["10.0.0.7"]


def test_set_and_clear_default_ipv6(client: Client, zone: Zone) -> None:
    ok(client, "/set-default-ipv6", {"ip": "::1"})
    assert zone.resolve_aaaa("anything.example") == ["::1"]
    ok(client, "/set-default-ipv6", {"ip": ""})
    assert zone.resolve_aaaa("anything.example") == []


@pytest.mark.parametrize(
    "path, ip",
    [("/set-default-ipv4", "::1"), ("/set-default-ipv4", "nope"), ("/set-default-ipv6", "10.0.0.1")],
)
def test_set_default_bad_ip(client: Client, zone: Zone, path: str, ip: str) -> None:
    bad(client, path, {"ip": ip}, repr(ip), "address")
    assert zone.default_ipv4 == "127.0.0.1" and zone.default_ipv6 is None


# -- A / AAAA


@pytest.mark.parametrize("host", ["test-host.example", "test-host.example.", "TEST-host.Example."])
def test_add_and_clear_a(client: Client, zone: Zone, host: str) -> None:
    ok(client, "/add-a", {"host": host, "addresses": ["12.12.12.12", "13.13.13.13"]})
    assert zone.resolve_a("test-host.example") == ["12.12.12.12", "13.13.13.13"]
    ok(client, "/clear-a", {"host": host})
    assert zone.resolve_a("test-host.example") == ["127.0.0.1"]


@pytest.mark.parametrize("host", ["v6.example", "v6.example."])
def test_add_and_clear_aaaa(client: Client, zone: Zone, host: str) -> None:
    ok(client, "/add-aaaa", {"host": host, "addresses": ["2001:4860:4860::8888", "2001:4860:4860::8844"]})
    assert zone.resolve_aaaa("v6.example.") == ["2001:4860:4860::8888", "2001:4860:4860::8844"]
    ok(client, "/clear-aaaa", {"host": host})
    assert zone.resolve_aaaa("v6.example") == []


def test_field_names_match_case_insensitively_as_in_go(client: Client, zone: Zone) -> None:
    ok(client, "/add-a", {"Host": "go.example", "Addresses": ["10.0.0.9"], "ignored": True})
    assert zone.resolve_a("go.example") == ["10.0.0.9"]


@pytest.mark.parametrize(
    "body, words",
    [
        ({"host": "h.example", "addresses": ["12.12.12.12", "not-an-ip"]}, ["not-an-ip", "IPv4"]),
        ({"host": "h.example", "addresses": ["::1"]}, ["'::1'", "IPv4"]),
        ({"host": "h.example", "addresses": []}, ['"addresses"', "must not be empty"]),
        ({"host": "h.example"}, ['"addresses"']),
        ({"addresses": ["1.2.3.4"]}, ['"host"', "must not be empty"]),
        ({"host": ".", "addresses": ["1.2.3.4"]}, ["empty DNS name"]),
        ({"host": 7, "addresses": ["1.2.3.4"]}, ['"host" must be a string']),
        ({"host": "h.example", "addresses": "1.2.3.4"}, ["list of strings"]),
    ],
)
def test_add_a_errors(client: Client, zone: Zone, body: dict, words: list) -> None:
    bad(client, "/add-a", body, "/add-a", *words)
    assert zone.resolve_a("h.example") == ["127.0.0.1"]  # nothing half-added


def test_add_aaaa_refuses_ipv4(client: Client, zone: Zone) -> None:
    bad(client, "/add-aaaa", {"host": "h.example", "addresses": ["1.2.3.4"]}, "IPv6")
    assert zone.resolve_aaaa("h.example") == []


# -- TXT / CAA / CNAME / SERVFAIL


@pytest.mark.parametrize("host", ["_acme-challenge.example.com.", "_acme-challenge.example.com"])
def test_set_and_clear_txt(client: Client, zone: Zone, host: str) -> None:
    ok(client, "/set-txt", {"host": host, "value": "foo"})
    ok(client, "/set-txt", {"host": host, "value": "bar"})
    assert zone.txt("_acme-challenge.example.com") == ["foo", "bar"]
    ok(client, "/clear-txt", {"host": host})
    assert zone.txt("_acme-challenge.example.com") == []


def test_set_txt_errors(client: Client, zone: Zone) -> None:
    bad(client, "/set-txt", {"host": "_acme-challenge.example.com."}, '"value"')
    bad(client, "/set-txt", {"host": "_acme-challenge.example.com.", "value": "x" * 256}, "255 bytes")
    bad(client, "/clear-txt", {}, '"host"')
    assert zone.txt("_acme-challenge.example.com") == []


@pytest.mark.parametrize("host", ["caa.example", "caa.example."])
def test_add_and_clear_caa(client: Client, zone: Zone, host: str) -> None:
    policies = [{"tag": "issue", "value": "letsencrypt.org"}, {"tag": "issuewild", "value": ";"}]
    ok(client, "/add-caa", {"host": host, "policies": policies})
    assert zone.caa("caa.example") == [CaaRecord(0, "issue", "letsencrypt.org"), CaaRecord(0, "issuewild", ";")]
    ok(client, "/clear-caa", {"host": host})
    assert zone.caa("caa.example") == []


@pytest.mark.parametrize(
    "policies, words",
    [
        ([], ['"policies"']),
        (["issue"], ["list of objects"]),
        ([{"tag": "issue", "value": "ca.example"}, {"value": "ca.example"}], ["policies[1]", '"tag"']),
        ([{"tag": "is sue", "value": "ca.example"}], ["letters and digits"]),
    ],
)
def test_add_caa_errors(client: Client, zone: Zone, policies: list, words: list) -> None:
    bad(client, "/add-caa", {"host": "caa.example", "policies": policies}, *words)
    assert zone.caa("caa.example") == []


@pytest.mark.parametrize("host, target", [("www.example", "web.example"), ("www.example.", "web.example.")])
def test_set_and_clear_cname(client: Client, zone: Zone, host: str, target: str) -> None:
    zone.add_a("web.example", "10.0.0.7")
    ok(client, "/set-cname", {"host": host, "target": target})
    assert zone.cname("www.example") == "web.example"
    assert zone.resolve_a("www.example") == ["10.0.0.7"]
    ok(client, "/clear-cname", {"host": host})
    assert zone.cname("www.example") is None
    assert zone.resolve_a("www.example") == ["127.0.0.1"]


def test_set_cname_needs_a_target(client: Client, zone: Zone) -> None:
    bad(client, "/set-cname", {"host": "www.example"}, '"target"')
    assert zone.cname("www.example") is None


@pytest.mark.parametrize("host", ["broken.example", "broken.example."])
def test_set_and_clear_servfail(client: Client, zone: Zone, host: str) -> None:
    ok(client, "/set-servfail", {"host": host})
    with pytest.raises(ZoneServfail):
        zone.resolve_a("broken.example")
    with pytest.raises(ZoneServfail):
        zone.txt("broken.example.")
    ok(client, "/clear-servfail", {"host": host})
    assert zone.resolve_a("broken.example") == ["127.0.0.1"]


# -- bodies, paths, methods


@pytest.mark.parametrize("path", sorted(EXAMPLES))
def test_every_endpoint_needs_a_json_object(zone: Zone, http01: Http01Responder, tlsalpn01: TlsAlpn01Responder,
                                             path: str) -> None:
    client = Client(make_challtestsrv_app(zone, http01=http01, tlsalpn01=tlsalpn01))
    bad(client, path, b"", "expected JSON POST body, was empty")
    bad(client, path, b"{not json", "not JSON")
    bad(client, path, b"[1, 2]", "JSON object")
    if path in ("/set-default-ipv4", "/set-default-ipv6"):
        ok(client, path, {})  # as in Go, a missing "ip" is "": no default A or AAAA
    else:
        bad(client, path, {}, path)  # every other endpoint has a required field


def test_unknown_path_is_404(client: Client) -> None:
    response = post(client, "/add-txt", {"host": "h.example", "value": "foo"})
    assert response.status_code == 404
    assert "no such endpoint" in response.get_data(as_text=True)
    assert post(client, "/add-a/", {"host": "h.example", "addresses": ["1.2.3.4"]}).status_code == 404


def test_success_is_200_with_an_empty_body(client: Client) -> None:
    response = ok(client, "/set-txt", {"host": "h.example.", "value": "foo"})
    assert response.get_data() == b""
    # As pebble-challtestsrv: an empty reply has Content-Length: 0 and no type.
    assert response.headers["Content-Length"] == "0"
    assert "Content-Type" not in response.headers


def test_every_endpoint_types_its_reply_only_when_it_has_a_body(
        zone: Zone, http01: Http01Responder, tlsalpn01: TlsAlpn01Responder) -> None:
    client = Client(make_challtestsrv_app(zone, http01, tlsalpn01))
    empty = 0
    for path, example in EXAMPLES.items():
        for response in (post(client, path, json.loads(example)), post(client, path, b""),
                         client.get(path)):
            body = response.get_data()
            assert ("Content-Type" in response.headers) == bool(body), (path, response)
            empty += not body
    assert empty >= 15  # the walk met the empty successes
    assert "Content-Type" in post(client, "/nothing", {}).headers


# -- HTTP-01


def test_http01_endpoints_answer_503_without_a_responder(client: Client) -> None:
    for path in ("/add-http01", "/del-http01", "/add-redirect", "/del-redirect", "/http-request-history"):
        response = post(client, path, json.loads(EXAMPLES[path]))
        assert response.status_code == 503
        assert "--http01-responder" in response.get_data(as_text=True)
    response = post(client, "/clear-request-history", {"host": "h.example", "type": "http"})
    assert response.status_code == 503


def test_add_and_del_http01(zone: Zone, http01: Http01Responder) -> None:
    client = Client(make_challtestsrv_app(zone, http01=http01))
    ok(client, "/add-http01", {"token": "aaaa", "content": "bbbb"})
    assert fetch(http01, "/.well-known/acme-challenge/aaaa")[:2] == (200, b"bbbb")
    ok(client, "/del-http01", {"token": "aaaa"})
    assert fetch(http01, "/.well-known/acme-challenge/aaaa")[0] == 404


def test_add_http01_errors(zone: Zone, http01: Http01Responder) -> None:
    client = Client(make_challtestsrv_app(zone, http01=http01))
    bad(client, "/add-http01", {"token": "aaaa"}, '"content"')
    bad(client, "/add-http01", {"content": "bbbb"}, '"token"')
    bad(client, "/add-http01", {"token": "a/b", "content": "bbbb"}, "one path segment")
    bad(client, "/del-http01", {}, '"token"')


def test_add_and_del_redirect(zone: Zone, http01: Http01Responder) -> None:
    client = Client(make_challtestsrv_app(zone, http01=http01))
    path = "/.well-known/acme-challenge/aaaa"
    ok(client, "/add-redirect", {"path": path, "targetURL": "https://localhost:5003/ok"})
    assert fetch(http01, path) == (302, b"", "https://localhost:5003/ok")
    ok(client, "/add-redirect", {"path": path, "targetURL": "http://other.example/x", "code": 301})
    assert fetch(http01, path) == (301, b"", "http://other.example/x")
    ok(client, "/del-http01", {"token": "aaaa"})  # a redirect is removed by /del-redirect only
    assert fetch(http01, path)[0] == 301
    ok(client, "/del-redirect", {"path": path})
    assert fetch(http01, path)[0] == 404


def test_del_redirect_keeps_published_content(zone: Zone, http01: Http01Responder) -> None:
    client = Client(make_challtestsrv_app(zone, http01=http01))
    path = "/.well-known/acme-challenge/aaaa"
    ok(client, "/add-redirect", {"path": path, "targetURL": "https://localhost:5003/ok"})
    ok(client, "/add-http01", {"token": "aaaa", "content": "bbbb"})  # replaces the redirect
    ok(client, "/del-redirect", {"path": path})
    assert fetch(http01, path)[:2] == (200, b"bbbb")


@pytest.mark.parametrize(
    "body, words",
    [
        ({"path": "/.well-known/whatever", "targetURL": "https://x.example/"},
         ["only answers", "/.well-known/whatever"]),
        ({"path": "/.well-known/acme-challenge/", "targetURL": "https://x.example/"}, ["only answers"]),
        ({"path": "/.well-known/acme-challenge/a/b", "targetURL": "https://x.example/"}, ["only answers"]),
        ({"path": "/.well-known/acme-challenge/aaaa"}, ['"targetURL"']),
        ({"path": "/.well-known/acme-challenge/aaaa", "targetURL": "https://x.example/", "code": 200}, ["3xx"]),
        ({"path": "/.well-known/acme-challenge/aaaa", "targetURL": "https://x.example/", "code": "301"}, ["integer"]),
    ],
)
def test_add_redirect_errors(zone: Zone, http01: Http01Responder, body: dict, words: list) -> None:
    client = Client(make_challtestsrv_app(zone, http01=http01))
    bad(client, "/add-redirect", body, *words)
    assert fetch(http01, "/.well-known/acme-challenge/aaaa")[0] == 404


def test_del_redirect_refuses_other_paths(zone: Zone, http01: Http01Responder) -> None:
    client = Client(make_challtestsrv_app(zone, http01=http01))
    bad(client, "/del-redirect", {"path": "/.well-known/whatever"}, "only answers")


def test_http_request_history(zone: Zone, http01: Http01Responder) -> None:
    client = Client(make_challtestsrv_app(zone, http01=http01))
    ok(client, "/add-http01", {"token": "aaaa", "content": "bbbb"})
    fetch(http01, "/.well-known/acme-challenge/aaaa", host="example.test:5002")
    fetch(http01, "/.well-known/acme-challenge/zzzz", host="other.test")
    response = ok(client, "/http-request-history", {"host": "example.test."})
    assert response.mimetype == "application/json"
    assert response.get_json() == [
        {"URL": "/.well-known/acme-challenge/aaaa", "Host": "example.test:5002", "HTTPS": False, "ServerName": ""}
    ]
    ok(client, "/clear-request-history", {"host": "example.test", "type": "http"})
    assert ok(client, "/http-request-history", {"host": "example.test"}).get_json() == []
    assert [e["Host"] for e in ok(client, "/http-request-history", {"host": "other.test"}).get_json()] == ["other.test"]


# -- TLS-ALPN-01


def test_tlsalpn01_endpoints_answer_503_without_a_responder(client: Client) -> None:
    for path in ("/add-tlsalpn01", "/del-tlsalpn01", "/tlsalpn01-request-history"):
        response = post(client, path, json.loads(EXAMPLES[path]))
        assert response.status_code == 503
        assert "--tlsalpn01-responder" in response.get_data(as_text=True)
    assert post(client, "/clear-request-history", {"host": "h.example", "type": "tlsalpn"}).status_code == 503


@pytest.mark.parametrize("host", ["test-host.example", "test-host.example."])
def test_add_and_del_tlsalpn01(zone: Zone, tlsalpn01: TlsAlpn01Responder, host: str) -> None:
    client = Client(make_challtestsrv_app(zone, tlsalpn01=tlsalpn01))
    ok(client, "/add-tlsalpn01", {"host": host, "content": "key.authorization"})
    cert, alpn = handshake(tlsalpn01, "test-host.example")
    assert san(cert) == ["test-host.example"]
    assert alpn == ACME_TLS_1
    ok(client, "/del-tlsalpn01", {"host": host})
    handshake_fails(tlsalpn01, "test-host.example")


def test_add_tlsalpn01_errors(zone: Zone, tlsalpn01: TlsAlpn01Responder) -> None:
    client = Client(make_challtestsrv_app(zone, tlsalpn01=tlsalpn01))
    bad(client, "/add-tlsalpn01", {"host": "test-host.example"}, '"content"')
    bad(client, "/add-tlsalpn01", {"content": "foo"}, '"host"')
    bad(client, "/del-tlsalpn01", {"host": ""}, '"host"')


def test_tlsalpn01_request_history(zone: Zone, tlsalpn01: TlsAlpn01Responder) -> None:
    client = Client(make_challtestsrv_app(zone, tlsalpn01=tlsalpn01))
    ok(client, "/add-tlsalpn01", {"host": "test-host.example", "content": "foo"})
    handshake(tlsalpn01, "test-host.example")
    handshake_fails(tlsalpn01, "unknown.example")
    history = ok(client, "/tlsalpn01-request-history", {"host": "test-host.example."}).get_json()
    assert history == [{"ServerName": "test-host.example", "SupportedProtos": ["acme-tls/1"]}]
    assert ok(client, "/tlsalpn01-request-history", {"host": "unknown.example"}).get_json() == [
        {"ServerName": "unknown.example", "SupportedProtos": []}
    ]
    ok(client, "/clear-request-history", {"host": "test-host.example", "type": "tlsalpn"})
    assert ok(client, "/tlsalpn01-request-history", {"host": "test-host.example"}).get_json() == []
    assert len(ok(client, "/tlsalpn01-request-history", {"host": "unknown.example"}).get_json()) == 1


# -- DNS history and clearing


def test_dns_request_history_lists_the_queries_the_dns_server_got(client: Client,
                                                                  zone: Zone) -> None:
    import dns.message
    import dns.query

    from pytest_acme.va.dnsserver import DnsServer

    assert ok(client, "/dns-request-history", {"host": "example.com"}).get_json() == []
    with DnsServer(zone) as server:
        for rtype in ("A", "TXT"):
            dns.query.udp(dns.message.make_query("Example.com.", rtype), "127.0.0.1",
                          port=server.port, timeout=5)
    response = ok(client, "/dns-request-history", {"host": "example.com."})
    assert response.mimetype == "application/json"
    assert response.get_json() == [
        {"Question": {"Name": "example.com.", "Qtype": 1, "Qclass": 1}},
        {"Question": {"Name": "example.com.", "Qtype": 16, "Qclass": 1}},
    ]
    ok(client, "/clear-request-history", {"host": "example.com", "type": "dns"})
    assert ok(client, "/dns-request-history", {"host": "example.com"}).get_json() == []


def test_clear_request_history_errors(client: Client) -> None:
    bad(client, "/clear-request-history", {"type": "dns"}, '"host"')
    bad(client, "/clear-request-history", {"host": "example.com", "type": "smtp"}, '"smtp" event type unknown')
    bad(client, "/clear-request-history", {"host": "example.com"}, '"" event type unknown')
    bad(client, "/dns-request-history", {}, '"host"')


@pytest.mark.parametrize("host", [".", "a" * 64, "a..b"])
def test_the_host_header_is_not_read(client: Client, zone: Zone, host: str) -> None:
    """Go's ServeMux routes by path alone: a Host no URL could be built on (which
    made Werkzeug's binding fail) changes nothing here."""
    response = client.post("/set-txt", data=json.dumps({"host": "h.example.", "value": "v"}),
                           content_type="application/json", headers={"Host": host})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert zone.txt("h.example") == ["v"]
