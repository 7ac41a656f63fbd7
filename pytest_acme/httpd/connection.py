"""One connection: TLS handshake, then requests read from a buffer, their WSGI
environ, the application's response, and the refusals of what is not HTTP/1.1.

This module knows HTTP, not what the application behind it speaks: a refusal's
body comes from a :data:`RefusalRenderer` given by whoever mounts the
application (:func:`plain_refusal`, Go's net/http answer, unless told).

A request's head is parsed, and its body framed, by :mod:`.request`; the accept
loop, the connection bookkeeping and the deadline watchdog are in :mod:`.server`.
"""

from __future__ import annotations

import email.utils
import functools
import io
import socket
import socketserver
import sys
import time
import traceback
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Tuple

from .request import (
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    MAX_LINE,
    BadRequest,
    Refusal,
    body_length,
    header_line,
    host_refusal,
    parse_head,
    request_line,
)

if TYPE_CHECKING:
    from .server import HttpServer

WsgiApp = Callable[[Dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: The environ key of a :class:`Refusal`: the request reached the ``refuse``
#: application of :class:`WsgiThread` because its framing was refused.
REFUSED = "pytest_acme.refused"

#: After refusing a body, read (and drop) at most this much of what the client
#: still sends, for at most this long, before closing: closing a socket with
#: unread data makes the kernel send a reset, and the client may then lose the
#: refusal it was sent.
_LINGER_BYTES = 1 << 20
_LINGER_SECONDS = 2.0
_NEVER = float("inf")  # the deadline while the application runs
#: The Server header and the environ's SERVER_SOFTWARE.
SERVER_SOFTWARE = "pytest-acme"


@dataclass(frozen=True)
class HttpLimits:
    """What one connection may take from the server.

    Attributes:
        max_body_bytes: larger request bodies are refused with 413.
        idle_timeout: seconds a connection may take to deliver its next whole
            request, counted from the end of the previous response (or the
            handshake), and to take a response; an idle keep-alive connection is
            closed after this.
        handshake_timeout: seconds a TLS handshake may take.
        max_connections: connections served at once, a thread each; the accept
            loop closes any more as soon as it accepts them.
    """

    max_body_bytes: int = 64 * 1024
    idle_timeout: float = 30.0
    handshake_timeout: float = 10.0
    max_connections: int = 512

    @classmethod
    def of(cls, config: Any) -> "HttpLimits":
        """The limits an :class:`~pytest_acme.AcmeConfig` sets."""
        return cls(config.max_body_bytes, config.idle_timeout, config.handshake_timeout,
                   config.max_connections)


#: Renders a refusal as the application behind the server would word it: the
#: response headers (without the length) and the body.  It runs on the
#: connection's thread and must not fail.
RefusalRenderer = Callable[[Refusal], Tuple[List[Tuple[str, str]], bytes]]


def plain_refusal(refusal: Refusal) -> Tuple[List[Tuple[str, str]], bytes]:
    """The default :data:`RefusalRenderer`: what Go's net/http (Pebble's and
    pebble-challtestsrv's server) answers a request it cannot serve, a
    ``text/plain`` body of the status code and reason, here followed by what was
    wrong::

        400 Bad Request: an HTTP/1.1 request needs a Host header (RFC 9112 §3.2)
    """
    body = f"{refusal.status} {HTTPStatus(refusal.status).phrase}: {refusal.detail}"
    return [("Content-Type", "text/plain; charset=utf-8")], body.encode()


@functools.lru_cache(maxsize=1)
def _server_and_date(second: int) -> str:
    """The ``Server`` and ``Date`` header lines, formatted once per second."""
    return f"Server: {SERVER_SOFTWARE}\r\nDate: {email.utils.formatdate(second, usegmt=True)}\r\n"


#: Response headers this server writes itself: hop-by-hop ones, and the length.
_OWN_HEADERS = frozenset({"connection", "transfer-encoding", "keep-alive", "content-length"})
_HOP_BY_HOP = _OWN_HEADERS - {"content-length"}
class Connection(socketserver.BaseRequestHandler):
    """One connection: TLS handshake, then requests until close or timeout.

    What was read and not used yet waits in ``buffer``: a request's head usually
    arrives whole in one read, is found with one search and decoded and split
    once, and its body is sliced off the buffer.
    """

    server: HttpServer

    def setup(self) -> None:
        self.connection = self.request
        self.buffer = bytearray()
        self.deadline = _NEVER  # when the watchdog shuts the connection down
        self.close_connection = True
        self.idle = True
        self.method = self.target = ""
        peer = self.client_address
        self.environ: Dict[str, Any] = dict(self.server.base_environ,
                                            REMOTE_ADDR=peer[0] if peer else "<local>",
                                            REMOTE_PORT=peer[1] if peer else 0)

    def handle(self) -> None:
        server = self.server
        try:
            if not server.register(self):
                return
            self._open(server.limits)
            self.close_connection = False
            while not self.close_connection:
                self.handle_one_request()
        except (OSError, ValueError):
            pass  # reset, refused TLS, shut by stop() or the watchdog: the connection ends
        finally:
            server.forget(self)

    def _open(self, limits: HttpLimits) -> None:
        sock = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        context = self.server.ssl_context
        if context is not None:
            sock.settimeout(limits.handshake_timeout)
            sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            self.connection = sock
            sock.do_handshake()  # the timeout bounds the whole handshake
        sock.settimeout(None)  # from now on the deadline bounds each request

    def finish(self) -> None:
        self.connection.close()

    def abort(self) -> None:
        """Shut the connection down under a thread blocked on it (stop(), the watchdog)."""
        try:
            socket.socket.shutdown(self.connection, socket.SHUT_RDWR)
        except OSError:
            pass

    # -- one request -----------------------------------------------------------

    def handle_one_request(self) -> None:
        server = self.server
        self.deadline = time.monotonic() + server.limits.idle_timeout
        try:
            head = self._read_head()
            if head is None:
                self.close_connection = True
                return
            parsed = parse_head(head[0], self.environ)
        except BadRequest as e:
            self._refuse_bad_request(e)
            return
        environ = parsed.environ
        self.method, self.target = parsed.method, parsed.target
        self.close_connection = parsed.close
        refusal, length = body_length(environ, server.limits.max_body_bytes)  # as they are now
        if refusal is None:
            refusal = host_refusal(environ)
        if refusal is not None:
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            self._refuse(refusal, environ)
            self._linger()
            return
        if parsed.expect_continue and length:
            # Ask for the body only now that it will be read (RFC 9110 §10.1.1).
            self.connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        buf, start = self.buffer, head[1]
        end = start + length
        while len(buf) < end:
            data = self.connection.recv(65536)
            if not data:
                break
            buf += data
        if len(buf) < end:
            # The client stopped sending, or the watchdog shut the connection
            # down: a part of a body never reaches the application.
            self._refuse(Refusal(400, f"the connection ended after {len(buf) - start} "
                                      f"of the {length} body bytes announced"), environ)
            return
        environ["wsgi.input"] = io.BytesIO(buf[start:end])
        del buf[:end]
        self._respond(server.app, environ)
        if not self.close_connection:
            # No lock: this writes ``idle`` before it reads ``closing``, and
            # close_connections() the other way round, so one sees the other.
            self.idle = True
            self.close_connection = server.closing

    def _read_head(self) -> Optional[Tuple[str, int]]:
        """The next request's line and header lines (latin-1 text, its last line
        feed left out), and where its body starts in the buffer; None when the
        client closed the connection between requests or the server is stopping.
        While the head is incomplete, each line is checked as it arrives, so a
        bad one is refused at once, and so is a head past :data:`MAX_HEAD_BYTES`.
        A head that ends without its empty line (the client closed the
        connection, or the watchdog shut it down at the deadline) is refused,
        never parsed as a request."""
        buf = self.buffer
        skipped = False
        checked = headers = 0  # the lines before offset ``checked`` are checked
        while True:
            first = buf.find(b"\n")
            if 0 <= first <= 1 and not skipped and buf.startswith((b"\n", b"\r\n")):
                del buf[:first + 1]  # RFC 9112 §2.2: ignore an empty line before a request
                skipped = True
                continue
            if first >= 0:
                if self.idle:
                    self.idle = False  # see handle_one_request() on the missing lock
                    if self.server.closing:
                        return None
                # The head ends at its first empty line (CRLF or bare LF line ends).
                since = max(first, checked - 1)  # no empty line follows a checked line
                crlf = buf.find(b"\n\r\n", since)
                lf = buf.find(b"\n\n", since, crlf + 1 if crlf >= 0 else len(buf))
                end = lf if lf >= 0 else crlf
                if end > MAX_HEAD_BYTES:
                    raise BadRequest(431, f"the request head is larger than "
                                          f"{MAX_HEAD_BYTES} bytes")
                if lf >= 0:
                    return buf[:lf].decode("latin-1"), lf + 2
                if crlf >= 0:
                    return buf[:crlf].decode("latin-1"), crlf + 3
                last = buf.rfind(b"\n")
                if last >= checked:  # lines complete since the last read
                    lines = buf[checked:last].decode("latin-1").split("\n")
                    if not checked:
                        request_line(lines.pop(0))
                    for line in lines[:MAX_HEADERS + 1 - headers]:
                        header_line(line)
                    headers += len(lines)
                    if headers > MAX_HEADERS:
                        raise BadRequest(431, f"more than {MAX_HEADERS} header lines")
                    checked = last + 1
            if len(buf) - checked > MAX_LINE:
                raise (BadRequest(431, "a header line is too long") if checked else
                       BadRequest(414, "the request line is too long"))
            if len(buf) > MAX_HEAD_BYTES:
                raise BadRequest(431, f"the request head is larger than {MAX_HEAD_BYTES} "
                                      "bytes")
            data = self.connection.recv(65536)
            buf += data
            if not data:
                if not buf or (self.idle and self.server.closing):
                    return None
                self.idle = False
                raise BadRequest(400, "the connection ended before the empty line that "
                                      "ends the request head (RFC 9112 §2.1)")

    def _refuse(self, refusal: Refusal, environ: Dict[str, Any]) -> None:
        """Answer a parsed request whose framing or Host is refused, and close: by the
        server's ``refuse`` application when it has one, else by its renderer."""
        self.close_connection = True
        refuse = self.server.refuse
        if refuse is None:
            headers, body = self.server.render_refusal(refusal)
            self._send(f"{refusal.status} {HTTPStatus(refusal.status).phrase}", headers, body,
                       self.method == "HEAD")
            return
        environ[REFUSED] = refusal
        environ["wsgi.input"] = io.BytesIO()
        environ["CONTENT_LENGTH"] = "0"
        self._respond(refuse, environ)

    def _respond(self, app: WsgiApp, environ: Dict[str, Any]) -> None:
        """Run the application and send its whole response in one write, always with
        its length (so no response is chunked and keep-alive always works)."""
        self.started: Optional[Tuple[str, List[Tuple[str, str]]]] = None
        self.chunks: List[bytes] = []
        self.deadline = _NEVER  # the application takes the time it needs
        try:
            result = app(environ, self.start_response)
            try:
                self.chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            if self.started is None:
                raise RuntimeError("the application did not call start_response")
        except Exception as e:  # noqa: BLE001 - the client gets a 500, the log a traceback
            sys.stderr.write(f"{app!r} failed on {self.method} {self.target[:200]}:\n"
                             + traceback.format_exc())
            self.close_connection = True
            detail = f"the server failed: {type(e).__name__}: {e}"
            headers, body = self.server.render_refusal(Refusal(500, detail))
            self.started, self.chunks = ("500 Internal Server Error", headers), [body]
        status, headers = self.started
        self._send(status, headers, b"".join(self.chunks), self.method == "HEAD")

    def start_response(self, status: str, headers: List[Tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        self.started = status, headers  # nothing is sent before the app returns
        return self.chunks.append

    def _send(self, status: str, headers: List[Tuple[str, str]], body: bytes,
              head_only: bool = False) -> None:
        code = int(status[:3])
        bodyless = code < 200 or code in (204, 304)
        with_body = not head_only and not bodyless
        # A HEAD response keeps the application's Content-Length: no body to measure.
        drop = _HOP_BY_HOP if head_only and not bodyless else _OWN_HEADERS
        lines = [f"HTTP/1.1 {status}\r\n{_server_and_date(int(time.time()))}"]
        for name, value in headers:
            if name.lower() not in drop:
                lines.append(f"{name}: {value}\r\n")
        if with_body:
            lines.append(f"Content-Length: {len(body)}\r\n")
        lines.append("Connection: close\r\n\r\n" if self.close_connection else "\r\n")
        data = "".join(lines).encode("latin-1")
        if with_body:
            data += body
        self.deadline = time.monotonic() + self.server.limits.idle_timeout
        # One send() writes it all on a blocking TLS socket (and mostly on a plain
        # one), without sendall()'s slicing loop.
        sent = self.connection.send(data)
        if sent < len(data):
            self.connection.sendall(memoryview(data)[sent:])

    def _refuse_bad_request(self, error: BadRequest) -> None:
        """Bytes that are not an HTTP/1.1 request: a refusal, then close.  No
        application sees them, so the refusal is the renderer's alone."""
        self.close_connection = True
        headers, body = self.server.render_refusal(
            Refusal(error.status, f"not an HTTP/1.1 request: {error.detail}"))
        self._send(f"{error.status} {HTTPStatus(error.status).phrase}", headers, body)
        self._linger()

    def _linger(self) -> None:
        """Close after a refusal: stop sending, then read what the client still sends
        (bounded in bytes and time) so the close does not reset the refusal away."""
        self.close_connection = True
        self.deadline = _NEVER  # bounded here
        sock = self.connection
        deadline = time.monotonic() + min(_LINGER_SECONDS, self.server.limits.idle_timeout)
        try:
            socket.socket.shutdown(sock, socket.SHUT_WR)
            total = 0
            while total < _LINGER_BYTES:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                data = socket.socket.recv(sock, 65536)
                if not data:
                    break
                total += len(data)
        except OSError:
            pass

