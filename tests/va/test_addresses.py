"""Which addresses the validator connects to, as Let's Encrypt does: the first
IPv6 address of a name, then its first IPv4 address; no other.  http-01 moves
to the IPv4 address only when the IPv6 one cannot be dialled; tls-alpn-01 when
no certificate came from it (Boulder's ``va/http.go`` and ``va/tlsalpn.go``).

The names resolve in the server's zone; the responders listen on 127.0.0.1, so
127.0.0.2 and an unused port on ::1 are addresses where nothing answers."""

from __future__ import annotations

import socket
import threading
from typing import Any, Dict, Iterator

import pytest

from helpers import validate
from jws_client import PROBLEM
from pytest_acme.va.resolver import first_of_each_family


def answer(acme_server, typ: str, publish) -> Dict[str, Any]:
    return validate(acme_server, "a.example.test", typ, publish)


def test_first_of_each_family():
    assert first_of_each_family(["127.0.0.2", "::1", "127.0.0.1", "::2"]) == ["::1", "127.0.0.2"]
    assert first_of_each_family(["127.0.0.1"]) == ["127.0.0.1"]
    assert first_of_each_family(["::2", "::1"]) == ["::2"]


# -- only the first IPv4 address ------------------------------------------------------


def test_http01_uses_only_the_first_ipv4_address(acme_server, acme_http01_responder, acme_dns):
    acme_dns.add_a("a.example.test", "127.0.0.2")  # nothing listens there
    acme_dns.add_a("a.example.test", "127.0.0.1")  # the responder
    chall = answer(acme_server, "http-01", acme_http01_responder.publish)
    assert chall["status"] == "invalid", chall
    assert chall["error"]["type"] == PROBLEM + "connection"
    assert "127.0.0.2" in chall["error"]["detail"]
    assert chall["validationRecord"][0]["addressesResolved"] == ["127.0.0.2", "127.0.0.1"]
    assert chall["validationRecord"][0]["addressUsed"] == "127.0.0.2"


def test_tlsalpn01_uses_only_the_first_ipv4_address(acme_server, acme_tlsalpn01_responder,
                                                    acme_dns):
    acme_dns.add_a("a.example.test", "127.0.0.2")
    acme_dns.add_a("a.example.test", "127.0.0.1")
    chall = answer(acme_server, "tls-alpn-01", lambda token, ka:
                   acme_tlsalpn01_responder.publish("a.example.test", ka))
    assert chall["status"] == "invalid", chall
    assert chall["error"]["type"] == PROBLEM + "connection"
    assert "127.0.0.2" in chall["error"]["detail"]
    assert chall["validationRecord"][0]["addressUsed"] == "127.0.0.2"


# -- IPv6 first, then IPv4 -------------------------------------------------------------


def test_http01_falls_back_to_ipv4_when_ipv6_cannot_be_dialled(acme_server,
                                                               acme_http01_responder, acme_dns):
    acme_dns.add_aaaa("a.example.test", "::1")  # nothing listens on ::1 at that port
    chall = answer(acme_server, "http-01", acme_http01_responder.publish)
    assert chall["status"] == "valid", chall
    assert chall["validationRecord"][0]["addressesResolved"] == ["::1", "127.0.0.1"]
    assert chall["validationRecord"][0]["addressUsed"] == "127.0.0.1"


@pytest.fixture
def silent_ipv6(acme_server) -> Iterator[socket.socket]:
    """A listener on ::1 at the http-01 port that accepts connections and never answers."""
    listener = socket.socket(socket.AF_INET6)
    listener.bind(("::1", acme_server.config.http01_port))
    listener.listen(4)
    yield listener
    listener.close()


@pytest.mark.acme(validation_timeout=0.5)
def test_http01_does_not_fall_back_once_connected(acme_server, acme_http01_responder, acme_dns,
                                                  silent_ipv6):
    acme_dns.add_aaaa("a.example.test", "::1")
    chall = answer(acme_server, "http-01", acme_http01_responder.publish)
    # Connected to ::1, which then timed out: final, though 127.0.0.1 would answer.
    assert chall["status"] == "invalid", chall
    assert chall["error"]["type"] == PROBLEM + "connection"
    assert "timed out after 0.5 s" in chall["error"]["detail"]
    assert chall["validationRecord"][0]["addressUsed"] == "::1"


@pytest.fixture
def hanging_up_ipv6(acme_server) -> Iterator[socket.socket]:
    """A listener on ::1 at the tls-alpn-01 port that closes every connection at once."""
    listener = socket.socket(socket.AF_INET6)
    listener.bind(("::1", acme_server.config.tlsalpn01_port))
    listener.listen(4)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener
    stop.set()
    listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close() alone does not)
    listener.close()
    thread.join(5)
    assert not thread.is_alive()


def test_tlsalpn01_falls_back_to_ipv4_after_a_failed_handshake(
        acme_server, acme_tlsalpn01_responder, acme_dns, hanging_up_ipv6):
    acme_dns.add_aaaa("a.example.test", "::1")
    chall = answer(acme_server, "tls-alpn-01", lambda token, ka:
                   acme_tlsalpn01_responder.publish("a.example.test", ka))
    assert chall["status"] == "valid", chall
    assert chall["validationRecord"][0]["addressUsed"] == "127.0.0.1"
