"""One connection: TLS handshake, then requests read from a buffer, their WSGI
environ, the application's response, and the refusals of what is not HTTP/1.1.

This module knows HTTP, not what the application behind it speaks: a refusal's
body comes from a :data:`RefusalRenderer` given by whoever mounts the
application (:func:`plain_refusal`, Go's net/http answer, unless told).

The accept loop, the connection bookkeeping and the deadline watchdog are in
:mod:`.server`.
"""

from __future__ import annotations

import email.utils
import functools
import io
import re
import socket
import socketserver
import sys
import time
import traceback
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Tuple
from urllib.parse import unquote, urlsplit

from . import hosts

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
_DIGITS = re.compile(r"[0-9]{1,18}")
#: environ key: how many Host lines a request had, when more than one.
_HOST_LINES = "pytest_acme.host_lines"
_NEVER = float("inf")  # the deadline while the application runs
#: RFC 9110 §5.6.2 token: a header field name.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: The Server header and the environ's SERVER_SOFTWARE.
SERVER_SOFTWARE = "pytest-acme"
_MAX_LINE = 65536
_MAX_HEADERS = 100
#: The largest request head (request line and header lines) read, in bytes; a
#: larger one gets 431.  Real ACME clients send a few hundred bytes; nginx's
#: default buffers refuse heads past about 32 KiB, Go's server (Pebble's) past
#: 1 MiB.  64 KiB, one longest line's worth, is out of any client's reach and
#: keeps what a connection can make the server hold small: 200 connections that
#: never finish their head hold about 25 MiB of buffers, not gigabytes.
MAX_HEAD_BYTES = 64 * 1024


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


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused before its application ran (``environ[REFUSED]``),
    or why the server answers 500 (the application failed)."""

    status: int
    detail: str


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


class _BadRequest(Exception):
    """The bytes are not an HTTP/1.1 request: answer ``status`` and close."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


@functools.lru_cache(maxsize=1)
def _server_and_date(second: int) -> str:
    """The ``Server`` and ``Date`` header lines, formatted once per second."""
    return f"Server: {SERVER_SOFTWARE}\r\nDate: {email.utils.formatdate(second, usegmt=True)}\r\n"


#: Response headers this server writes itself: hop-by-hop ones, and the length.
_OWN_HEADERS = frozenset({"connection", "transfer-encoding", "keep-alive", "content-length"})
_HOP_BY_HOP = _OWN_HEADERS - {"content-length"}
#: Header line -> its environ key and value: clients send the same lines again and
#: again.  They also choose them, so the cache is bounded.
_HEADERS: Dict[str, Tuple[str, str]] = {}


def _header(line: str) -> Tuple[str, str]:
    """The environ key (as Werkzeug's server names it; "" to leave the field out)
    and value of a header line, given without its line feed."""
    if len(line) >= _MAX_LINE:  # with its "\n", longer than a line may be
        raise _BadRequest(431, "a header line is too long")
    text = line.rstrip("\r")
    name, colon, value = text.partition(":")
    if not colon or not _TOKEN.fullmatch(name):
        raise _BadRequest(400, f"bad header line {text[:100]!r} (no folding, no space "
                               "before the colon; RFC 9112 §5)")
    if "_" in name:
        key = ""  # ambiguous with '-' once in the environ, as Werkzeug does
    else:
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
    value = value.strip(" \t")
    if len(line) < 200:
        if len(_HEADERS) >= 1000:
            _HEADERS.clear()
        _HEADERS[line] = key, value
    return key, value


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
            environ, expect_continue = self._parse(head[0])
        except _BadRequest as e:
            self._refuse_bad_request(e)
            return
        refusal, length = self._framing(environ, server.limits)  # as they are now
        if refusal is None:
            refusal = self._host_refusal(environ)
        if refusal is not None:
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            self._refuse(refusal, environ)
            self._linger()
            return
        if expect_continue and length:
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
                    raise _BadRequest(431, f"the request head is larger than "
                                           f"{MAX_HEAD_BYTES} bytes")
                if lf >= 0:
                    return buf[:lf].decode("latin-1"), lf + 2
                if crlf >= 0:
                    return buf[:crlf].decode("latin-1"), crlf + 3
                last = buf.rfind(b"\n")
                if last >= checked:  # lines complete since the last read
                    lines = buf[checked:last].decode("latin-1").split("\n")
                    if not checked:
                        self._request_line(lines.pop(0))
                    for line in lines[:_MAX_HEADERS + 1 - headers]:
                        _header(line)
                    headers += len(lines)
                    if headers > _MAX_HEADERS:
                        raise _BadRequest(431, f"more than {_MAX_HEADERS} header lines")
                    checked = last + 1
            if len(buf) - checked > _MAX_LINE:
                raise (_BadRequest(431, "a header line is too long") if checked else
                       _BadRequest(414, "the request line is too long"))
            if len(buf) > MAX_HEAD_BYTES:
                raise _BadRequest(431, f"the request head is larger than {MAX_HEAD_BYTES} "
                                       "bytes")
            data = self.connection.recv(65536)
            buf += data
            if not data:
                if not buf or (self.idle and self.server.closing):
                    return None
                self.idle = False
                raise _BadRequest(400, "the connection ended before the empty line that "
                                       "ends the request head (RFC 9112 §2.1)")

    def _request_line(self, line: str) -> Tuple[str, str, str]:
        if len(line) >= _MAX_LINE:  # with its "\n", longer than a line may be
            raise _BadRequest(414, "the request line is too long")
        line = line.rstrip("\r")
        words = line.split(" ")
        if len(words) != 3 or not words[0] or not words[1]:
            raise _BadRequest(400, f"bad request line {line[:100]!r}")
        method, target, version = words
        self.method, self.target = method, target
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            if version.startswith("HTTP/") and version[5:6].isdigit():
                raise _BadRequest(505, f"{version[:20]} is not supported; use HTTP/1.1")
            raise _BadRequest(400, f"bad request line {line[:100]!r}")
        return method, target, version

    def _parse(self, head: str) -> Tuple[Dict[str, Any], bool]:
        """The environ of one request (as Werkzeug's server builds it), and whether
        the client waits for ``100 Continue``."""
        lines = head.split("\n")
        method, target, version = self._request_line(lines[0])
        environ = self.environ.copy()
        known = _HEADERS
        repeated: Optional[Dict[str, List[str]]] = None
        for line in lines[1:_MAX_HEADERS + 2]:
            key, value = known.get(line) or _header(line)
            if not key:
                continue
            if key in environ:  # a repeated field: its values are joined by ','
                if repeated is None:
                    repeated = {}
                values = repeated.get(key)
                if values is None:
                    repeated[key] = values = [environ[key]]
                values.append(value)
            else:
                environ[key] = value
        if repeated:  # joined once, not by growing a string per line
            for key, values in repeated.items():
                environ[key] = ",".join(values)
            if "HTTP_HOST" in repeated:
                environ[_HOST_LINES] = len(repeated["HTTP_HOST"])
        if len(lines) > _MAX_HEADERS + 1:
            raise _BadRequest(431, f"more than {_MAX_HEADERS} header lines")
        tokens = environ.get("HTTP_CONNECTION")
        self.close_connection = version != "HTTP/1.1" or tokens is not None and "close" in (
            t.strip() for t in tokens.lower().split(","))
        if (target[0] == "/" and target[1:2] != "/" and target.isascii()
                and "#" not in target and "\t" not in target and "\r" not in target):
            # The usual origin form, split as urlsplit() would; ASCII needs no dance.
            path, _, environ["QUERY_STRING"] = target.partition("?")
            environ["PATH_INFO"] = _wsgi_encoding_dance(unquote(path)) if "%" in path else path
            environ["REQUEST_URI"] = environ["RAW_URI"] = target
        else:
            try:
                url = urlsplit(target)
            except ValueError as e:  # "https://[/": an unclosed IPv6 bracket
                raise _BadRequest(400, f"the request target {target[:100]!r} is not a URL: "
                                       f"{e}") from None
            if not url.scheme and url.netloc:  # "//x/y": the first segment is path
                path = f"/{url.netloc}{url.path}"
            else:
                path = url.path
            if url.scheme and url.netloc:  # absolute form names the host (RFC 9112 §3.2.2)
                environ["HTTP_HOST"] = url.netloc
            dance = _wsgi_encoding_dance
            environ["PATH_INFO"] = dance(unquote(path)) if "%" in path else dance(path)
            environ["QUERY_STRING"] = dance(url.query)
            environ["REQUEST_URI"] = environ["RAW_URI"] = dance(target)
        environ["REQUEST_METHOD"] = method
        environ["SERVER_PROTOCOL"] = version
        expect = environ.get("HTTP_EXPECT")
        return environ, (expect is not None and version == "HTTP/1.1"
                         and expect.lower().strip(" \t") == "100-continue")

    @staticmethod
    def _host_refusal(environ: Dict[str, Any]) -> Optional[Refusal]:
        """RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code
        to any HTTP/1.1 request message that lacks a Host header field and to any
        request message that contains more than one Host header field line or a
        Host header field with an invalid field value" (as Go's net/http does)."""
        lines = environ.pop(_HOST_LINES, 1)
        if lines > 1:
            environ.pop("HTTP_HOST")
            return Refusal(400, f"the request has {lines} Host header lines; send one")
        host = environ.get("HTTP_HOST")
        if host is None:
            if environ["SERVER_PROTOCOL"] == "HTTP/1.1":
                return Refusal(400, "an HTTP/1.1 request needs a Host header (RFC 9112 §3.2)")
            return None
        problem = hosts.syntax_problem(host)
        if problem is None:
            return None
        environ.pop("HTTP_HOST")  # the application builds no URL on it
        return Refusal(400, problem)

    @staticmethod
    def _framing(environ: Dict[str, Any], limits: HttpLimits) -> Tuple[Optional[Refusal], int]:
        """The body's length, or why the request is refused (RFC 9112 §6)."""
        coding = environ.get("HTTP_TRANSFER_ENCODING")
        if coding is not None:
            return Refusal(411, f"request bodies are read by Content-Length only; "
                                f"'Transfer-Encoding: {coding[:40]}' is not accepted"), 0
        value = environ.get("CONTENT_LENGTH")
        if value is None:
            return None, 0
        if not (value.isdigit() and value.isascii() and len(value) <= 18):
            values = {v.strip() for v in value.split(",")}
            value = values.pop()
            if values or not _DIGITS.fullmatch(value):
                return Refusal(400, f"Content-Length {value[:40]!r} is not one number of "
                                    f"bytes"), 0
            environ["CONTENT_LENGTH"] = value
        length = int(value)
        if length > limits.max_body_bytes:
            return Refusal(413, f"the request body is larger than {limits.max_body_bytes} "
                                f"bytes"), 0
        return None, length

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

    def _refuse_bad_request(self, error: _BadRequest) -> None:
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


def _wsgi_encoding_dance(text: str) -> str:
    """PEP 3333: the environ holds bytes as latin-1 strings (Werkzeug's convention)."""
    return text.encode().decode("latin1")
