"""The responders' logs are bounded as the server's are: the newest entries,
a count of the dropped ones, and a cap on what one entry keeps, so a flood of
requests with long paths cannot grow a long-running responder without bound.
Driven over real sockets with stdlib clients."""

from __future__ import annotations

import http.client
import socket
import ssl

import pytest

from pytest_acme.httpd import WsgiThread
from pytest_acme.responders import (
    HISTORY_SIZE,
    HISTORY_TEXT_LIMIT,
    HTTPSERVER_LOG_SIZE,
    Http01Responder,
    TlsAlpn01Responder,
)
from pytest_acme.standalone.challenge_http import ChallengeHttp
from pytest_acme.store import BoundedList

LONG = "/.well-known/acme-challenge/" + "x" * 20000
LONG_HOST = "h" * 5000 + ".example.test"


def get(port: int, path: str, host: str = "example.test") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", host)
        conn.endheaders()
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_the_http01_responder_keeps_the_newest_requests_and_counts_the_rest():
    pytest.importorskip("pytest_httpserver")
    with Http01Responder(history_size=3) as http01:
        for i in range(5):
            assert get(http01.port, f"{LONG}{i}", LONG_HOST) == 404
        assert len(http01.requests) == 3 and http01.requests.dropped == 2
        for method, path, host in http01.requests:
            assert method == "GET"
            assert len(path) == HISTORY_TEXT_LIMIT and path.startswith(LONG[:100])
            assert len(host) == HISTORY_TEXT_LIMIT
        # pytest-httpserver's own log (whole environs) keeps only the newest few.
        for i in range(HTTPSERVER_LOG_SIZE + 5):
            get(http01.port, f"{LONG}{i}")
        get(http01.port, "/short")
        assert len(http01.httpserver.log) <= HTTPSERVER_LOG_SIZE
        sent = 5 + HTTPSERVER_LOG_SIZE + 5 + 1
        assert len(http01.requests) == 3 and http01.requests.dropped == sent - 3
        assert http01.requests[-1] == ("GET", "/short", "example.test")
        http01.reset()
        assert http01.requests == [] and http01.requests.dropped == 0
    assert Http01Responder().requests.maxlen == HISTORY_SIZE == 1000


def test_the_tls_alpn01_responder_keeps_the_newest_handshakes():
    with TlsAlpn01Responder(history_size=2) as tls01:
        tls01.publish("example.test", "token.thumbprint")
        for name in ("one.example.test", "two.example.test", "example.test"):
            ctx = ssl.create_default_context()
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            ctx.set_alpn_protocols(["acme-tls/1"])
            with socket.create_connection(("127.0.0.1", tls01.port), timeout=5) as sock:
                try:
                    with ctx.wrap_socket(sock, server_hostname=name) as tls:
                        while tls.recv(1024):  # until the responder closes: it has logged
                            pass
                except (ssl.SSLError, OSError):
                    pass
        assert tls01.handshakes == [("two.example.test", None), ("example.test", "acme-tls/1")]
        assert tls01.handshakes.dropped == 1


def test_challtestsrvs_http01_history_is_bounded():
    http = ChallengeHttp(history_size=2)
    server = WsgiThread(http, "127.0.0.1", 0, None, "challtestsrv HTTP-01").start()
    try:
        for i in range(4):
            assert get(server.port, f"{LONG}{i}", LONG_HOST) == 200
        assert len(http.events) == 2 and http.events.dropped == 2
        assert all(len(e["URL"]) == HISTORY_TEXT_LIMIT for e in http.events)
        assert all(len(e["Host"]) == HISTORY_TEXT_LIMIT for e in http.events)
        get(server.port, "/.well-known/acme-challenge/t", "a.example.test")
        assert http.history(lambda host: host == "a.example.test") == [
            {"URL": "/.well-known/acme-challenge/t", "Host": "a.example.test",
             "HTTPS": False, "ServerName": ""}]
    finally:
        server.stop()


def test_a_bounded_list_is_a_list_that_counts_what_it_dropped():
    log: BoundedList[int] = BoundedList(3)
    for n in range(5):
        log.append(n)
    assert log == [2, 3, 4] and log[1:] == [3, 4] and log.dropped == 2
    log[:] = [n for n in log if n != 3]   # a filtered history stays the same log
    assert log == [2, 4] and log.dropped == 2
    log.clear()
    assert log == [] and log.dropped == 0
    with pytest.raises(ValueError):
        BoundedList(0)


def test_the_dns_query_log_keeps_the_newest_and_counts_the_rest():
    import dns.message
    import dns.query

    from pytest_acme.va.dnsserver import DnsServer
    from pytest_acme.va.zone import QUERY_LOG_SIZE, Zone

    zone = Zone()
    with DnsServer(zone) as server:
        for i in range(QUERY_LOG_SIZE + 5):
            query = dns.message.make_query("old.example.test" if i < 5 else "new.example.test",
                                           "TXT")
            dns.query.udp(query, "127.0.0.1", port=server.port, timeout=5)
    assert zone.queries("old.example.test") == []
    assert len(zone.queries("new.example.test")) == QUERY_LOG_SIZE
    assert zone.queries_dropped == 5
