"""The HTTP-01 and TLS-ALPN-01 responders, checked with plain stdlib clients."""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import socket
import ssl
from typing import Iterator, Optional, Tuple

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pytest_acme.protocol.challenges import ACME_IDENTIFIER_OID
from pytest_acme.responders import (
    Http01Responder,
    TlsAlpn01Responder,
    reverse_dns_name,
    tls_alpn01_certificate,
)

KEY_AUTHZ = "token-abc.thumbprint-xyz"
CHALLENGE = "/.well-known/acme-challenge/"


# --------------------------------------------------------------------------- HTTP-01


@pytest.fixture
def http01() -> Iterator[Http01Responder]:
    pytest.importorskip("pytest_httpserver")
    with Http01Responder() as responder:
        yield responder
        responder.httpserver.check()  # no "no handler" assertions, no handler errors


def get(responder: Http01Responder, path: str, method: str = "GET") -> Tuple[int, bytes, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", responder.port, timeout=5)
    try:
        conn.putrequest(method, path, skip_host=True)
        conn.putheader("Host", "example.test")
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


def test_http01_publish_answers_the_key_authorization(http01):
    http01.publish("token-abc", KEY_AUTHZ)
    status, body, headers = get(http01, CHALLENGE + "token-abc")
    assert status == 200
    assert body == KEY_AUTHZ.encode()
    assert headers["Content-Type"].startswith("text/plain")
    assert http01.url == f"http://127.0.0.1:{http01.port}"


def test_http01_unknown_tokens_and_paths_are_404(http01):
    http01.publish("token-abc", KEY_AUTHZ)
    assert get(http01, CHALLENGE + "other")[0] == 404
    assert get(http01, "/")[0] == 404
    assert get(http01, CHALLENGE + "token-abc/extra")[0] == 404
    assert http01.httpserver.assertions == []


def test_http01_remove_is_per_token_and_clear_forgets_all(http01):
    http01.publish("one", "one.thumb")
    http01.publish("two", "two.thumb")
    http01.remove("one")
    http01.remove("never-published")
    assert get(http01, CHALLENGE + "one")[0] == 404
    assert get(http01, CHALLENGE + "two")[:2] == (200, b"two.thumb")
    http01.clear()
    assert get(http01, CHALLENGE + "two")[0] == 404


def test_http01_redirect(http01):
    http01.redirect("token-abc", "http://elsewhere.test/.well-known/acme-challenge/token-abc")
    status, _body, headers = get(http01, CHALLENGE + "token-abc")
    assert status == 302
    assert headers["Location"] == "http://elsewhere.test/.well-known/acme-challenge/token-abc"
    http01.redirect("token-abc", "/relative", status=301)
    status, _body, headers = get(http01, CHALLENGE + "token-abc")
    assert (status, headers["Location"]) == (301, "/relative")


def test_http01_respond_gives_a_wrong_answer(http01):
    http01.respond("token-abc", "wrong", status=500, content_type="application/json")
    status, body, headers = get(http01, CHALLENGE + "token-abc")
    assert (status, body) == (500, b"wrong")
    assert headers["Content-Type"].startswith("application/json")
    http01.respond("token-abc", b"\x00bytes")
    assert get(http01, CHALLENGE + "token-abc")[:2] == (200, b"\x00bytes")


def test_http01_rejects_a_token_with_a_slash(http01):
    with pytest.raises(ValueError):
        http01.publish("a/b", KEY_AUTHZ)


def test_http01_logs_every_request(http01):
    http01.publish("token-abc", KEY_AUTHZ)
    get(http01, CHALLENGE + "token-abc")
    get(http01, CHALLENGE + "missing")
    get(http01, "/elsewhere", method="HEAD")
    assert http01.requests == [
        ("GET", CHALLENGE + "token-abc", "example.test"),
        ("GET", CHALLENGE + "missing", "example.test"),
        ("HEAD", "/elsewhere", "example.test"),
    ]


def test_http01_stop_releases_the_port():
    pytest.importorskip("pytest_httpserver")
    responder = Http01Responder().start()
    port = responder.port
    responder.stop()
    responder.stop()  # twice is fine
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


# --------------------------------------------------------------------------- helpers


def test_reverse_dns_name():
    assert reverse_dns_name("127.0.0.1") == "1.0.0.127.in-addr.arpa"
    assert reverse_dns_name("2001:db8::1") == (
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
    )
    with pytest.raises(ValueError):
        reverse_dns_name("example.test")


def check_acme_certificate(cert: x509.Certificate, san: x509.GeneralName, key_authorization: str) -> None:
    """The checks a validator makes (RFC 8737 §3)."""
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert list(names) == [san]
    ext = cert.extensions.get_extension_for_oid(ACME_IDENTIFIER_OID)
    assert ext.critical
    assert ext.value.value == b"\x04\x20" + hashlib.sha256(key_authorization.encode()).digest()
    cert.verify_directly_issued_by(cert)  # self-signed


def test_tls_alpn01_certificate_for_a_dns_name_and_an_ip():
    cert, key = tls_alpn01_certificate("example.test", KEY_AUTHZ)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    check_acme_certificate(cert, x509.DNSName("example.test"), KEY_AUTHZ)
    cert, _key = tls_alpn01_certificate("::1", KEY_AUTHZ)
    check_acme_certificate(cert, x509.IPAddress(ipaddress.ip_address("::1")), KEY_AUTHZ)


# --------------------------------------------------------------------------- TLS-ALPN-01


@pytest.fixture
def tls01() -> Iterator[TlsAlpn01Responder]:
    with TlsAlpn01Responder() as responder:
        yield responder


def client_context(alpn: Optional[list] = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn is None:
        alpn = ["acme-tls/1"]
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def handshake(responder: TlsAlpn01Responder, server_hostname: Optional[str],
              alpn: Optional[list] = None) -> Tuple[x509.Certificate, Optional[str]]:
    ctx = client_context(alpn)
    with socket.create_connection(("127.0.0.1", responder.port), timeout=5) as sock:
        with ctx.wrap_socket(sock, server_hostname=server_hostname) as tls:
            der = tls.getpeercert(binary_form=True)
            assert der is not None
            selected = tls.selected_alpn_protocol()
            # Wait for the responder to close: by then it has logged the handshake
            # (under TLS 1.3 the client finishes before the server does).
            try:
                while tls.recv(1024):
                    pass
            except (ssl.SSLError, OSError):
                pass
            return x509.load_der_x509_certificate(der), selected


HANDSHAKE_FAILED = (ssl.SSLError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError)


def test_tls_alpn01_serves_the_certificate_for_a_dns_name(tls01):
    tls01.publish("example.test", KEY_AUTHZ)
    cert, alpn = handshake(tls01, "example.test")
    assert alpn == "acme-tls/1"
    check_acme_certificate(cert, x509.DNSName("example.test"), KEY_AUTHZ)
    # The SNI name is matched without regard to case.
    cert, _alpn = handshake(tls01, "EXAMPLE.test")
    check_acme_certificate(cert, x509.DNSName("example.test"), KEY_AUTHZ)
    assert tls01.handshakes == [("example.test", "acme-tls/1"), ("EXAMPLE.test", "acme-tls/1")]


def test_tls_alpn01_chooses_the_certificate_by_sni(tls01):
    tls01.publish("one.test", "one.thumb")
    tls01.publish("two.test", "two.thumb")
    check_acme_certificate(handshake(tls01, "two.test")[0], x509.DNSName("two.test"), "two.thumb")
    check_acme_certificate(handshake(tls01, "one.test")[0], x509.DNSName("one.test"), "one.thumb")


@pytest.mark.parametrize("ip", ["127.0.0.1", "::1"])
def test_tls_alpn01_ip_identifier_is_found_by_its_reverse_name(tls01, ip):
    tls01.publish(ip, KEY_AUTHZ)
    cert, _alpn = handshake(tls01, reverse_dns_name(ip))
    check_acme_certificate(cert, x509.IPAddress(ipaddress.ip_address(ip)), KEY_AUTHZ)
    assert tls01.handshakes == [(reverse_dns_name(ip), "acme-tls/1")]


def test_tls_alpn01_unknown_name_fails_the_handshake(tls01):
    tls01.publish("example.test", KEY_AUTHZ)
    with pytest.raises(HANDSHAKE_FAILED):
        handshake(tls01, "other.test")
    # The server thread carries on.
    check_acme_certificate(handshake(tls01, "example.test")[0], x509.DNSName("example.test"), KEY_AUTHZ)


def test_tls_alpn01_no_sni_fails_the_handshake(tls01):
    tls01.publish("127.0.0.1", KEY_AUTHZ)
    with pytest.raises(HANDSHAKE_FAILED):
        handshake(tls01, None)
    assert tls01.handshakes == [(None, None)]


@pytest.mark.parametrize("alpn", [[], ["h2", "http/1.1"]], ids=["no-alpn", "other-alpn"])
def test_tls_alpn01_without_acme_tls_1_is_logged_without_alpn(tls01, alpn):
    """Python's ssl cannot refuse a handshake over ALPN: the client gets no
    protocol, and the log says so (a validator would refuse the answer)."""
    tls01.publish("example.test", KEY_AUTHZ)
    _cert, selected = handshake(tls01, "example.test", alpn=alpn)
    assert selected is None
    assert tls01.handshakes == [("example.test", None)]
    handshake(tls01, "example.test")
    assert tls01.handshakes[-1] == ("example.test", "acme-tls/1")


def test_tls_alpn01_remove_and_clear(tls01):
    tls01.publish("one.test", KEY_AUTHZ)
    tls01.publish("two.test", KEY_AUTHZ)
    tls01.remove("one.test.")
    tls01.remove("never.test")
    with pytest.raises(HANDSHAKE_FAILED):
        handshake(tls01, "one.test")
    handshake(tls01, "two.test")
    tls01.clear()
    with pytest.raises(HANDSHAKE_FAILED):
        handshake(tls01, "two.test")


def test_tls_alpn01_publish_certificate_serves_any_certificate(tls01):
    cert, key = tls_alpn01_certificate("wrong.test", "wrong.thumb")
    tls01.publish_certificate(
        "example.test",
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()),
    )
    served, _alpn = handshake(tls01, "example.test")
    assert served == cert


def test_tls_alpn01_garbage_and_silent_clients_do_not_stop_the_server(tls01):
    tls01.publish("example.test", KEY_AUTHZ)
    with socket.create_connection(("127.0.0.1", tls01.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert sock.recv(100) == b""  # closed by the responder
    with socket.create_connection(("127.0.0.1", tls01.port), timeout=5):
        pass
    handshake(tls01, "example.test")


def test_tls_alpn01_stop_is_prompt_and_releases_the_port():
    responder = TlsAlpn01Responder().start()
    port = responder.port
    idle = socket.create_connection(("127.0.0.1", port), timeout=5)  # a client that never speaks
    try:
        responder.stop()
        responder.stop()  # twice is fine
    finally:
        idle.close()
    with socket.socket() as sock:
        # SO_REUSEADDR as any server sets it: closed connections may sit in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(1)  # nothing else listens there any more
    # And it can start again.
    with responder:
        responder.publish("example.test", KEY_AUTHZ)
        handshake(responder, "example.test")


def test_fixture_responders_start_every_test_empty(pytester):
    """The session responders keep no answers or log from one test to the next."""
    pytester.makepyfile(
        """
        import socket, ssl, urllib.request, urllib.error

        def hit(responder):
            try:
                urllib.request.urlopen(responder.url + "/.well-known/acme-challenge/t", timeout=5)
            except urllib.error.HTTPError:
                pass

        def handshake(port):
            ctx = ssl.create_default_context()
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                try:
                    ctx.wrap_socket(raw, server_hostname="nothing.test").close()
                except ssl.SSLError:
                    pass

        def test_first(acme_http01_responder, acme_tlsalpn01_responder):
            acme_http01_responder.publish("t", "ka")
            acme_tlsalpn01_responder.publish("a.test", "ka")
            hit(acme_http01_responder)
            handshake(acme_tlsalpn01_responder.port)
            assert len(acme_http01_responder.requests) == 1

        def test_second(acme_http01_responder, acme_tlsalpn01_responder):
            assert acme_http01_responder.requests == []
            assert acme_tlsalpn01_responder.handshakes == []
            hit(acme_http01_responder)   # the token of the first test is gone: 404
            assert [p for _m, p, _h in acme_http01_responder.requests] == [
                "/.well-known/acme-challenge/t"]
        """
    )
    pytester.runpytest_inprocess().assert_outcomes(passed=2)
