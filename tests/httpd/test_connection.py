"""The HTTP layer (pytest_acme.httpd): keep-alive over TLS, body framing, refusals,
and timeouts for slow and idle connections.  Real sockets, real TLS; every wait is
a socket timeout, never a sleep."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from typing import Dict, Iterator, List, Optional, Tuple

import pytest
import requests

from helpers import account_client, answer_all, deadline, make_csr
from jws_client import PROBLEM
from pytest_acme import AcmeServer
from pytest_acme.httpd import HttpLimits, Refusal, WsgiThread
from pytest_acme.listeners import problem_refusal

WAIT = 10.0  # the longest any socket wait here may take; a pass is much faster


# -- helpers -------------------------------------------------------------------


def tls_socket(server: AcmeServer) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=server.ca_bundle)
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def request(sock: socket.socket, method: str, path: str, body: bytes = b"",
            headers: Optional[Dict[str, str]] = None, version: str = "HTTP/1.1") -> None:
    lines = [f"{method} {path} {version}", "Host: 127.0.0.1"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body and not any(n.lower() in ("content-length", "transfer-encoding")
                        for n in (headers or {})):
        lines.append(f"Content-Length: {len(body)}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)


class Reader:
    """Reads responses off one socket, keeping what it read ahead (keep-alive)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def response(self, head: bool = False) -> Tuple[int, Dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            assert self._fill(), f"connection closed before a response: {self.buffer!r}"
        top, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = top.decode("latin-1").split("\r\n")
        if status_line.split()[1] == "100":
            return self.response(head)
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = 0 if head else int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            assert self._fill(), "connection closed inside a response body"
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split()[1]), headers, body

    def closed_by_server(self) -> bool:
        """True when the server closes the connection (within WAIT seconds)."""
        self.sock.settimeout(WAIT)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def problem(status: int, headers: Dict[str, str], body: bytes, type_: str, code: int) -> Dict:
    assert status == code, body
    assert headers["content-type"] == "application/problem+json"
    doc = json.loads(body)
    assert doc["type"] == PROBLEM + type_ and doc["status"] == code
    return doc


def plain_text(status: int, headers: Dict[str, str], body: bytes, code: int) -> str:
    """The detail of a refusal as Go's net/http words it: ``400 Bad Request: ...``."""
    assert status == code, body
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert "replay-nonce" not in headers
    reason = http.client.responses[code]
    text = body.decode()
    assert text.startswith(f"{code} {reason}: "), text
    return text[len(f"{code} {reason}: "):]


@pytest.fixture
def tls(acme_server: AcmeServer) -> Iterator[Reader]:
    sock = tls_socket(acme_server)
    yield Reader(sock)
    sock.close()


# -- keep-alive ----------------------------------------------------------------


def test_two_requests_share_one_tls_connection(acme_server, tls):
    before = acme_server._httpd.accepted  # counts this connection (its handshake is done)
    for _ in range(2):
        request(tls.sock, "GET", "/directory")
        status, headers, body = tls.response()
        assert status == 200 and "newOrder" in json.loads(body)
        assert "close" not in headers.get("connection", "")
    assert acme_server._httpd.accepted == before


def test_a_post_with_a_body_then_another_request_on_the_same_connection(acme_server, tls):
    # The body is read (the JWS is parsed: it is not one), exactly its length.
    request(tls.sock, "POST", "/acme/new-account", b'{"not": "a jws"}',
            {"Content-Type": "application/jose+json"})
    status, headers, body = tls.response()
    problem(status, headers, body, "malformed", 400)
    assert headers["replay-nonce"]
    # A body the application never reads (405 before any JWS) is skipped, not parsed
    # as the next request line.
    request(tls.sock, "POST", "/directory", b"GET /nothing HTTP/1.1\r\n\r\n")
    status, headers, body = tls.response()
    problem(status, headers, body, "malformed", 405)
    request(tls.sock, "HEAD", "/acme/new-nonce")
    status, headers, body = tls.response(head=True)
    assert status == 200 and headers["replay-nonce"] and body == b""
    request(tls.sock, "GET", "/directory")
    assert tls.response()[0] == 200
    paths = [r.path for r in acme_server.requests[-4:]]
    assert paths == ["/acme/new-account", "/directory", "/acme/new-nonce", "/directory"]


def test_pipelined_requests_are_answered_in_order(acme_server, tls):
    request(tls.sock, "GET", "/directory")
    request(tls.sock, "GET", "/terms")
    assert tls.response()[0] == 200
    status, headers, body = tls.response()
    assert status == 200 and b"test CA" in body


def test_oversized_body_gets_a_problem_with_a_nonce_then_the_connection_closes(
        acme_server, tls):
    limit = acme_server.config.max_body_bytes
    request(tls.sock, "POST", "/acme/new-account", b"{" + b" " * limit + b"}",
            {"Content-Type": "application/jose+json"})
    status, headers, body = tls.response()
    doc = problem(status, headers, body, "malformed", 413)
    assert str(limit) in doc["detail"]
    assert headers["replay-nonce"] and headers["connection"] == "close"
    assert tls.closed_by_server()
    last = acme_server.requests[-1]
    assert (last.path, last.status, last.problem) == ("/acme/new-account", 413, "malformed")


def test_oversized_body_announced_with_expect_100_is_refused_without_continue(
        acme_server, tls):
    request(tls.sock, "POST", "/acme/new-order", headers={
        "Content-Length": str(acme_server.config.max_body_bytes + 1),
        "Expect": "100-continue", "Content-Type": "application/jose+json"})
    tls.sock.settimeout(WAIT)
    first = tls.sock.recv(65536)
    assert first.startswith(b"HTTP/1.1 413 ")  # no "100 Continue" first
    assert tls.closed_by_server()


def test_expect_100_continue_for_an_acceptable_body(acme_server, tls):
    body = b'{"not": "a jws"}'
    request(tls.sock, "POST", "/acme/new-account", headers={
        "Content-Length": str(len(body)), "Expect": "100-continue",
        "Content-Type": "application/jose+json"})
    tls.sock.settimeout(WAIT)
    assert tls.sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
    tls.sock.sendall(body)
    problem(*tls.response(), "malformed", 400)


def test_chunked_body_is_refused_with_411_and_close(acme_server, tls):
    chunked = b"10\r\n" + b'{"not": "a jws"}' + b"\r\n0\r\n\r\n"
    request(tls.sock, "POST", "/acme/new-account", chunked,
            {"Transfer-Encoding": "chunked", "Content-Type": "application/jose+json"})
    status, headers, body = tls.response()
    doc = problem(status, headers, body, "malformed", 411)
    assert "Content-Length" in doc["detail"]
    assert headers["replay-nonce"] and headers["connection"] == "close"
    assert tls.closed_by_server()


@pytest.mark.parametrize("lengths", [["abc"], ["-1"], ["5", "6"]])
def test_unreadable_content_length_is_400_and_close(acme_server, tls, lengths):
    headers = "".join(f"Content-Length: {v}\r\n" for v in lengths)
    tls.sock.sendall(f"POST /acme/new-order HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode()
                     + b"hello")
    status, headers, body = tls.response()
    assert "Content-Length" in problem(status, headers, body, "malformed", 400)["detail"]
    assert tls.closed_by_server()


def test_http10_client_gets_connection_close(acme_server, tls):
    request(tls.sock, "GET", "/directory", version="HTTP/1.0")
    status, headers, body = tls.response()
    assert status == 200 and headers["connection"] == "close"
    assert tls.closed_by_server()


def test_connection_close_from_the_client_is_honoured(acme_server, tls):
    request(tls.sock, "GET", "/directory", headers={"Connection": "close"})
    status, headers, _ = tls.response()
    assert status == 200 and headers["connection"] == "close"
    assert tls.closed_by_server()


def test_garbage_instead_of_http_is_a_problem_and_close(acme_server, tls):
    tls.sock.sendall(b"HELLO\r\n\r\n")
    status, headers, body = tls.response()
    problem(status, headers, body, "malformed", 400)
    assert tls.closed_by_server()


def test_a_head_in_pieces_is_answered(acme_server, tls):
    # Each piece is a TLS record of its own, so the server reads the head in parts
    # (starting with an empty line, which RFC 9112 §2.2 lets it ignore).
    for piece in (b"\r\nGET /direc", b"tory HTTP/1.1\r\nHost: 127.0.0.1\r", b"\n",
                  b"Accept: */*\r\n\r", b"\n"):
        tls.sock.sendall(piece)
    status, _, body = tls.response()
    assert status == 200 and "newOrder" in json.loads(body)


def test_a_bad_header_line_is_refused_before_the_head_is_complete(acme_server, tls):
    tls.sock.sendall(b"GET /directory HTTP/1.1\r\nHost: x\r\nNo colon here\r\n")
    status, headers, body = tls.response()
    assert "bad header line" in problem(status, headers, body, "malformed", 400)["detail"]
    assert tls.closed_by_server()


# -- slow and idle connections ---------------------------------------------------


@pytest.mark.acme(idle_timeout=0.5)
def test_idle_keep_alive_connection_is_closed_after_idle_timeout(acme_server, tls):
    request(tls.sock, "GET", "/directory")
    assert tls.response()[0] == 200
    started = time.monotonic()
    assert tls.closed_by_server()
    assert 0.2 < time.monotonic() - started < WAIT


@pytest.mark.acme(idle_timeout=1.0)
def test_slowloris_half_a_request_line_times_out_while_others_are_served(acme_server, tls):
    tls.sock.sendall(b"GET /direc")
    # Another client is served while that connection hangs.
    response = requests.get(acme_server.directory_url, verify=acme_server.ca_bundle,
                            timeout=WAIT)
    assert response.status_code == 200
    assert tls.closed_by_server()


@pytest.mark.acme(idle_timeout=0.5)
def test_a_request_dripped_byte_by_byte_cannot_outlast_the_idle_timeout(acme_server, tls):
    """The timeout covers the whole request, not each read: a client sending one
    byte now and then is closed too."""
    tls.sock.settimeout(0.05)
    started = time.monotonic()
    closed = False
    for byte in b"GET /directory HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: y\r\n" * 1000:
        try:
            closed = tls.sock.recv(1) == b""  # doubles as the pause between bytes
        except socket.timeout:
            pass
        if closed:
            break
        try:
            tls.sock.sendall(bytes([byte]))
        except OSError:
            closed = True
            break
    assert closed and time.monotonic() - started < WAIT


@pytest.mark.acme(handshake_timeout=1.0)
def test_a_client_that_never_handshakes_does_not_block_the_accept_loop(acme_server):
    stuck = socket.create_connection(("127.0.0.1", acme_server.port), timeout=WAIT)
    try:
        response = requests.get(acme_server.directory_url, verify=acme_server.ca_bundle,
                                timeout=WAIT)
        assert response.status_code == 200
        assert Reader(stuck).closed_by_server()
    finally:
        stuck.close()


def test_a_response_the_client_does_not_take_is_cut_off_after_idle_timeout():
    big = b"x" * (16 << 20)  # more than the socket buffers hold

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [big]

    server = WsgiThread(app, "127.0.0.1", 0, what="test app",
                        limits=HttpLimits(idle_timeout=0.5)).start()
    stuck = socket.socket()
    try:
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.settimeout(WAIT)
        stuck.connect(("127.0.0.1", server.port))
        request(stuck, "GET", "/")
        received = len(stuck.recv(1))  # the response is on its way, with its deadline
        # A connection opened now is closed for idling after idle_timeout; by then
        # the response's time is up too.
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as other:
            assert Reader(other).closed_by_server()
        while True:
            try:
                data = stuck.recv(1 << 20)
            except ConnectionResetError:
                break
            if not data:
                break
            received += len(data)
        assert 0 < received < len(big)
    finally:
        stuck.close()
        server.stop()


def test_stop_closes_idle_kept_alive_connections():
    with AcmeServer(dns_port=None) as server:
        sock = tls_socket(server)
        reader = Reader(sock)
        request(sock, "GET", "/directory")
        assert reader.response()[0] == 200
        server.stop()
        assert reader.closed_by_server()
        sock.close()


# -- real clients keep their connection --------------------------------------------


@pytest.mark.acme(validation="always_valid")
def test_certbot_acme_library_runs_a_whole_order_on_one_connection(acme_server):
    before = acme_server._httpd.accepted
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["keepalive.example.test"]))
    answer_all(acme, order)
    acme_server.wait_idle()
    order = acme.begin_finalization(acme.poll_authorizations(order, deadline()))
    assert order.body.status.name == "valid"
    chain = acme.net.post(order.body.certificate, None)
    assert "BEGIN CERTIFICATE" in chain.text
    assert len(acme_server.requests) >= 8
    assert acme_server._httpd.accepted == before + 1


def test_http_client_keeps_one_connection_for_many_requests(acme_server):
    context = ssl.create_default_context(cafile=acme_server.ca_bundle)
    conn = http.client.HTTPSConnection("127.0.0.1", acme_server.port, context=context,
                                       timeout=WAIT)
    try:
        before = acme_server._httpd.accepted
        for _ in range(20):
            conn.request("HEAD", "/acme/new-nonce")
            response = conn.getresponse()
            response.read()
            assert response.status == 200
        assert acme_server._httpd.accepted == before + 1
    finally:
        conn.close()


# -- the HTTP layer on its own (management APIs use it too) ------------------------


def _app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/fail":
        raise RuntimeError("boom")
    if path == "/echo":
        data = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [data]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"a", b"", b"bc"])  # no Content-Length: the server adds it
    start_response("204 No Content", [("Content-Length", "0")])
    return []


@pytest.fixture
def plain() -> Iterator[Tuple[WsgiThread, Reader]]:
    server = WsgiThread(_app, "127.0.0.1", 0, what="test app",
                        limits=HttpLimits(max_body_bytes=100)).start()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    yield server, Reader(sock)
    sock.close()
    server.stop()


def test_plain_http_echo_stream_and_204_on_one_connection(plain):
    server, conn = plain
    request(conn.sock, "POST", "/echo", b"x" * 100)
    status, headers, body = conn.response()
    assert (status, body, headers["content-length"]) == (200, b"x" * 100, "100")
    assert headers["date"].endswith(" GMT") and "connection" not in headers
    request(conn.sock, "GET", "/stream")
    status, headers, body = conn.response()
    assert (status, body, headers["content-length"]) == (200, b"abc", "3")
    request(conn.sock, "GET", "/nothing", b"unread")
    status, headers, body = conn.response()
    assert status == 204 and "content-length" not in headers
    request(conn.sock, "GET", "/stream")
    assert conn.response()[2] == b"abc"
    assert server.accepted == 1


def test_bare_lf_line_ends_and_an_empty_line_between_requests(plain):
    server, conn = plain
    conn.sock.sendall(b"POST /echo HTTP/1.1\nHost: x\nContent-Length: 2\n\nhi\n"
                      b"GET /stream HTTP/1.1\nHost: x\n\n")
    assert conn.response()[2] == b"hi"
    assert conn.response()[2] == b"abc"


def test_default_refusal_is_plain_text_without_the_app(plain):
    # httpd knows HTTP, not ACME: without a renderer it answers as Go's net/http.
    server, conn = plain
    request(conn.sock, "POST", "/echo", b"y" * 101)
    status, headers, body = conn.response()
    assert "100 bytes" in plain_text(status, headers, body, 413)
    assert conn.closed_by_server()


def test_default_refusal_of_bytes_that_are_not_http_is_plain_text(plain):
    server, conn = plain
    conn.sock.sendall(b"HELLO\r\n\r\n")
    status, headers, body = conn.response()
    assert "bad request line 'HELLO'" in plain_text(status, headers, body, 400)
    assert conn.closed_by_server()


def test_an_app_that_raises_gets_a_plain_500_and_close(plain, capsys):
    server, conn = plain
    request(conn.sock, "GET", "/fail")
    status, headers, body = conn.response()
    assert "RuntimeError: boom" in plain_text(status, headers, body, 500)
    assert conn.closed_by_server()
    assert "boom" in capsys.readouterr().err


def test_the_renderer_given_words_refusals_and_500s():
    server = WsgiThread(_app, "127.0.0.1", 0, what="test app",
                        render_refusal=problem_refusal).start()
    try:
        conn = connect(server)
        request(conn.sock, "GET", "/fail")
        status, headers, body = conn.response()
        assert "RuntimeError: boom" in problem(status, headers, body, "serverInternal",
                                               500)["detail"]
        conn = connect(server)
        conn.sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nNo colon\r\n\r\n")
        status, headers, body = conn.response()
        assert "bad header line" in problem(status, headers, body, "malformed", 400)["detail"]
    finally:
        server.stop()


@pytest.mark.parametrize("status, type_", [(400, "malformed"), (413, "malformed"),
                                           (431, "malformed"), (500, "serverInternal")])
def test_the_acme_renderer_is_a_problem_document(status, type_):
    headers, body = problem_refusal(Refusal(status, "why"))
    assert headers == [("Content-Type", "application/problem+json")]
    assert json.loads(body) == {"type": PROBLEM + type_, "detail": "why", "status": status}


def test_limits_can_change_while_serving(plain):
    server, conn = plain
    request(conn.sock, "POST", "/echo", b"z")
    assert conn.response()[0] == 200  # the connection now waits for its next request
    server.limits = HttpLimits(max_body_bytes=200)
    request(conn.sock, "POST", "/echo", b"z" * 150)
    assert conn.response()[0] == 200


def test_many_threads_with_kept_alive_connections(acme_server):
    """Sixteen clients, each on its own kept-alive connection, all served."""
    errors: List[BaseException] = []

    def work() -> None:
        try:
            with requests.Session() as session:
                for _ in range(5):
                    response = session.head(acme_server.urls.build("new_nonce"),
                                            verify=acme_server.ca_bundle, timeout=WAIT)
                    assert response.status_code == 200
        except BaseException as e:  # noqa: BLE001 - re-raised below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(16)]
    before = acme_server._httpd.accepted
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert not errors
    assert acme_server._httpd.accepted == before + 16


@pytest.mark.parametrize("name", ["idle_timeout", "handshake_timeout"])
@pytest.mark.parametrize("value", [0, -1, True, "5"])
def test_timeouts_must_be_positive_seconds(name, value):
    from pytest_acme import AcmeConfig

    with pytest.raises(ValueError, match=name):
        AcmeConfig(**{name: value})


@pytest.mark.parametrize("value", [0, -1])
def test_max_connections_must_be_at_least_one(value):
    from pytest_acme import AcmeConfig

    with pytest.raises(ValueError, match="max_connections"):
        AcmeConfig(max_connections=value)


# -- hostile heads and connections -------------------------------------------------


class Recorder:
    """A WSGI app that records each request it is given, and answers 200."""

    def __init__(self) -> None:
        self.calls: List[Dict[str, str]] = []

    def __call__(self, environ, start_response):
        self.calls.append({k: v for k, v in environ.items() if isinstance(v, str)})
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]


@pytest.fixture
def recorded() -> Iterator[Tuple[WsgiThread, Recorder]]:
    app = Recorder()
    server = WsgiThread(app, "127.0.0.1", 0, what="test app",
                        limits=HttpLimits(idle_timeout=0.5)).start()
    yield server, app
    server.stop()


def on_connection_end(server: WsgiThread) -> threading.Event:
    """An event set when one of ``server``'s connections has ended (its thread is
    done with it, the application included)."""
    ended = threading.Event()
    httpd = server._httpd
    forget = httpd.forget

    def forget_and_tell(handler):
        forget(handler)
        ended.set()

    httpd.forget = forget_and_tell
    return ended


def connect(server: WsgiThread) -> Reader:
    return Reader(socket.create_connection(("127.0.0.1", server.port), timeout=WAIT))


def test_a_head_larger_than_64_kib_in_allowed_lines_is_refused_with_431(acme_server, tls):
    # Twenty 4 KiB lines: each line and the count are within their limits, the
    # whole head is not.
    tls.sock.sendall(b"GET /directory HTTP/1.1\r\nHost: x\r\n")
    line = b"X-Pad: " + b"p" * 4089 + b"\r\n"
    try:
        for _ in range(20):
            tls.sock.sendall(line)
    except OSError:
        pass  # the server may refuse before the last line
    status, headers, body = tls.response()
    assert "larger than 65536 bytes" in problem(status, headers, body, "malformed",
                                                431)["detail"]
    assert tls.closed_by_server()


def test_a_whole_head_larger_than_64_kib_is_refused_with_431(recorded):
    server, app = recorded
    conn = connect(server)
    head = b"GET / HTTP/1.1\r\n" + (b"X-Pad: " + b"p" * 8000 + b"\r\n") * 9 + b"\r\n"
    conn.sock.sendall(head)
    status, headers, body = conn.response()
    assert "larger than 65536 bytes" in plain_text(status, headers, body, 431)
    assert app.calls == []


def test_a_head_just_under_64_kib_is_served(recorded):
    server, app = recorded
    conn = connect(server)
    conn.sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + (b"X-Pad: " + b"p" * 8000 + b"\r\n") * 8
                      + b"\r\n")
    assert conn.response()[0] == 200
    assert len(app.calls) == 1


def test_repeated_header_fields_are_joined_in_order(recorded):
    server, app = recorded
    conn = connect(server)
    conn.sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nX-B: b\r\nX-A: 2\r\nX-A: 3\r\n\r\n")
    assert conn.response()[0] == 200
    assert (app.calls[0]["HTTP_X_A"], app.calls[0]["HTTP_X_B"]) == ("1,2,3", "b")


def test_a_head_unfinished_at_the_idle_timeout_never_reaches_the_app(recorded):
    server, app = recorded
    ended = on_connection_end(server)
    conn = connect(server)
    conn.sock.sendall(b"GET /unfinished HTTP/1.1\r\nHost: x\r\n")
    assert conn.closed_by_server()
    assert ended.wait(WAIT)
    assert app.calls == []


def test_a_head_cut_short_by_the_client_is_a_400_not_a_request(recorded):
    server, app = recorded
    conn = connect(server)
    conn.sock.sendall(b"POST /cut HTTP/1.1\r\nContent-Length: 0\r\n")
    conn.sock.shutdown(socket.SHUT_WR)
    status, headers, body = conn.response()
    assert "empty line" in plain_text(status, headers, body, 400)
    assert app.calls == []


def test_a_body_cut_short_never_reaches_the_app(recorded):
    server, app = recorded
    conn = connect(server)
    conn.sock.sendall(b"POST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    conn.sock.shutdown(socket.SHUT_WR)
    status, headers, body = conn.response()
    assert "3 of the 10 body bytes" in plain_text(status, headers, body, 400)
    assert app.calls == []


@pytest.mark.acme(idle_timeout=0.5)
def test_an_unfinished_request_is_not_in_the_request_log(acme_server, tls):
    before = len(acme_server.requests)
    ended = on_connection_end(acme_server._httpd)
    tls.sock.sendall(b"GET /directory?unfinished HTTP/1.1\r\nHost: x\r\n")
    assert tls.closed_by_server()
    assert ended.wait(WAIT)
    # A request after it is logged: the log is read after the connection ended.
    assert requests.get(acme_server.directory_url, verify=acme_server.ca_bundle,
                        timeout=WAIT).status_code == 200
    assert [r.path for r in acme_server.requests[before:]] == ["/directory"]


@pytest.mark.acme(idle_timeout=0.5)
def test_a_body_that_stops_coming_gets_a_problem_with_a_nonce(acme_server, tls):
    before = len(acme_server.requests)
    tls.sock.sendall(b"POST /acme/new-account HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/jose+json\r\nContent-Length: 100\r\n\r\n{")
    # Sent only if the server shut down just its reading side; it may shut both.
    try:
        status, headers, body = tls.response()
    except (AssertionError, OSError):
        status = None
    if status is not None:
        problem(status, headers, body, "malformed", 400)
        assert headers["replay-nonce"]
    assert all(r.status != 201 for r in acme_server.requests[before:])


def test_connections_past_max_connections_are_closed_at_once():
    app = Recorder()
    server = WsgiThread(app, "127.0.0.1", 0, what="test app",
                        limits=HttpLimits(max_connections=2)).start()
    try:
        held = [connect(server) for _ in range(2)]
        for conn in held:  # both have their thread: each answers a request
            request(conn.sock, "GET", "/held")
            assert conn.response()[0] == 200
        extra = connect(server)
        assert extra.closed_by_server()
        assert server.refused == 1
        held[0].sock.close()
        # The freed slot is given to the next connection; the accept loop learns
        # of the close when the connection's thread ends, so ask until it does.
        end = time.monotonic() + WAIT
        while True:
            conn = connect(server)
            try:
                request(conn.sock, "GET", "/after")
                if conn.response()[0] == 200:
                    break
            except (AssertionError, OSError):
                pass
            finally:
                conn.sock.close()
            assert time.monotonic() < end, "no slot freed after a connection closed"
        request(held[1].sock, "GET", "/still")
        assert held[1].response()[0] == 200
    finally:
        server.stop()


def test_the_accept_loop_backs_off_when_out_of_file_descriptors(monkeypatch, capsys):
    import errno

    server = WsgiThread(Recorder(), "127.0.0.1", 0, what="test app").start()
    httpd = server._httpd
    calls: List[float] = []
    third = threading.Event()

    class Exhausted:
        """The listening socket of a process out of file descriptors."""

        def __init__(self, real):
            self.real = real

        def accept(self):
            calls.append(time.monotonic())
            if len(calls) >= 3:
                third.set()
            raise OSError(errno.EMFILE, "Too many open files")

        def __getattr__(self, name):
            return getattr(self.real, name)

    try:
        real = httpd.socket
        httpd.socket = Exhausted(real)
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT):
            assert third.wait(WAIT)
            spread = calls[2] - calls[0]
            httpd.socket = real
        # 5 ms, then 10 ms: a spinning loop makes hundreds of calls in that time.
        assert spread >= 0.014, spread
        assert len(calls) < 10
        assert capsys.readouterr().err.count("accept() failed") == 1
    finally:
        httpd.socket = real
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2
