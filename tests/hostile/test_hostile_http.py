"""Hostile connections to the HTTPS listener: heads that never end or never stop
growing, and more connections than the server serves.  Each is bounded in count
and time, on loopback; every wait is a socket timeout, never a sleep."""

from __future__ import annotations

import json
import socket
import ssl
import threading

import pytest
import requests

from pytest_acme import AcmeServer

MAX_HEAD_BYTES = 64 * 1024  # pytest_acme.httpd.request.MAX_HEAD_BYTES

WAIT = 10.0


def tls_socket(server):
    context = ssl.create_default_context(cafile=server.ca_bundle)
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def read_all(sock):
    """What the server sends until it closes the connection."""
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
    except (ConnectionResetError, ssl.SSLError):
        return data


def directory(server):
    return requests.get(server.directory_url, verify=server.ca_bundle, timeout=WAIT)


def test_a_flood_of_growing_heads_is_refused_with_431_while_others_are_served(acme_server):
    """Twenty connections, each sending 98 header lines of 8 KiB without the empty
    line: each is refused at 64 KiB, and a normal client is served meanwhile."""
    line = b"X-Flood: " + b"f" * (8 * 1024 - 11) + b"\r\n"
    answers = []

    def flood():
        sock = tls_socket(acme_server)
        try:
            sock.sendall(b"POST /acme/new-order HTTP/1.1\r\nHost: x\r\n")
            for _ in range(98):
                sock.sendall(line)
        except OSError:
            pass  # refused before the last line
        answers.append(read_all(sock))
        sock.close()

    threads = [threading.Thread(target=flood) for _ in range(20)]
    for t in threads:
        t.start()
    assert directory(acme_server).status_code == 200
    for t in threads:
        t.join(WAIT)
    assert len(answers) == 20
    for answer in answers:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 431 "), answer[:200]
        assert f"larger than {MAX_HEAD_BYTES} bytes" in json.loads(body)["detail"]
    assert all(r.path != "/acme/new-order" for r in acme_server.requests)


@pytest.mark.acme(idle_timeout=0.5)
def test_heads_left_unfinished_never_reach_the_application(acme_server):
    before = len(acme_server.requests)
    socks = [tls_socket(acme_server) for _ in range(10)]
    for sock in socks:
        sock.sendall(b"GET /directory?unfinished HTTP/1.1\r\nHost: x\r\n")
    for sock in socks:
        assert read_all(sock) == b""  # closed at the deadline, nothing sent
        sock.close()
    assert directory(acme_server).status_code == 200
    # Every connection above has ended before the request that follows was made.
    assert [r.path for r in acme_server.requests[before:]] == ["/directory"]


def test_connections_past_max_connections_are_closed_and_the_server_recovers():
    # A server of its own: the session's server may still hold kept-alive
    # connections of earlier tests, which count against the cap.
    with AcmeServer(max_connections=4, dns_port=None) as acme_server:
        _past_max_connections(acme_server)


def _past_max_connections(acme_server):
    held = [tls_socket(acme_server) for _ in range(4)]
    try:
        for sock in held:  # each holds a slot: its handshake is done, it waits
            sock.sendall(b"GET /directory HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        for _ in range(10):
            raw = socket.create_connection(("127.0.0.1", acme_server.port), timeout=WAIT)
            with raw:
                try:
                    assert raw.recv(1) == b""  # closed without a handshake
                except ConnectionResetError:
                    pass
        assert acme_server._httpd.refused == 10
    finally:
        for sock in held:
            sock.close()
    # The held connections end when their threads see them closed; then new
    # clients are served again.
    deadline_tries = 200
    for _ in range(deadline_tries):
        try:
            if directory(acme_server).status_code == 200:
                break
        except requests.ConnectionError:
            continue
    else:
        pytest.fail("no connection served after the held ones closed")
