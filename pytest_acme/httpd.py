"""A WSGI application served over HTTP/1.1 with keep-alive, on a background thread.

Used for the ACME endpoint and for the management APIs.  The socket is bound
here, so a busy port raises :class:`ServerStartError` with a clear message,
and port 0 picks a free port.

Why not Werkzeug's development server: it answers every request with
``Connection: close`` and, after each response, reads the socket until it has
been quiet for 10 ms, so over HTTPS every request paid a TLS handshake and
those 10 ms.  ACME clients keep their connections open; this server does too.
It builds the same WSGI environ as Werkzeug's server (for the same request
line and headers) and handles the connection itself:

* a request body is read by ``Content-Length`` only, exactly that many bytes,
  so the next request on the connection is never swallowed.  Chunked bodies,
  bodies above :attr:`HttpLimits.max_body_bytes` and unreadable lengths are
  refused before the application runs (see :data:`REFUSED`), and the connection
  is then closed after reading what the client still sends, for a while;
* a body the application left unread is read and dropped (it is at most
  ``max_body_bytes``), and the connection stays open;
* the TLS handshake runs in the connection's own thread within
  :attr:`HttpLimits.handshake_timeout`, so a slow client never holds up the
  accept loop;
* a connection must deliver its next whole request (line, headers and body)
  within :attr:`HttpLimits.idle_timeout` or it is closed: an idle keep-alive
  connection and a client that sends half a request line and stops both free
  their thread;
* :meth:`WsgiThread.stop` closes idle connections at once and the busy ones
  after their response.
"""

from __future__ import annotations

import email.utils
import io
import json
import re
import socket
import socketserver
import ssl
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple
from urllib.parse import unquote, urlsplit

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
#: RFC 9110 §5.6.2 token: a header field name.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_SERVER = "pytest-acme"
_MAX_LINE = 65536
_MAX_HEADERS = 100
_PROBLEM_JSON = "application/problem+json"
_MALFORMED = "urn:ietf:params:acme:error:malformed"


class ServerStartError(RuntimeError):
    """A server could not start (most often: the port is taken)."""


@dataclass(frozen=True)
class HttpLimits:
    """What one connection may take from the server.

    Attributes:
        max_body_bytes: larger request bodies are refused with 413.
        idle_timeout: seconds a connection may take to deliver its next whole
            request, counted from the end of the previous response (or the
            handshake); an idle keep-alive connection is closed after this.
        handshake_timeout: seconds a TLS handshake may take.
    """

    max_body_bytes: int = 64 * 1024
    idle_timeout: float = 30.0
    handshake_timeout: float = 10.0

    @classmethod
    def of(cls, config: Any) -> "HttpLimits":
        """The limits an :class:`~pytest_acme.AcmeConfig` sets."""
        return cls(config.max_body_bytes, config.idle_timeout, config.handshake_timeout)


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused before its application ran (``environ[REFUSED]``)."""

    status: int
    detail: str


def refusal_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
    """The default ``refuse`` application: an RFC 7807 ``malformed`` problem."""
    refusal: Refusal = environ[REFUSED]
    body = json.dumps({"type": _MALFORMED, "detail": refusal.detail,
                       "status": refusal.status}).encode()
    start_response(f"{refusal.status} {HTTPStatus(refusal.status).phrase}",
                   [("Content-Type", _PROBLEM_JSON)])
    return [body]


class WsgiThread:
    """Serve ``app`` on ``host:port`` (0: a free port) until :meth:`stop`.

    Args:
        what: how error messages name this server ("pytest-acme", "management API").
        limits: body size and timeouts; the attribute may be replaced while serving
            (the next request reads it).
        refuse: the WSGI application that answers refused requests; it finds a
            :class:`Refusal` in ``environ[REFUSED]`` (the ACME application renders
            it as a problem with a nonce, and logs it).
    """

    def __init__(self, app: WsgiApp, host: str, port: int,
                 ssl_context: Optional[ssl.SSLContext] = None, what: str = "pytest-acme",
                 *, limits: Optional[HttpLimits] = None,
                 refuse: WsgiApp = refusal_app) -> None:
        self.app, self.host, self.requested_port = app, host, port
        self.ssl_context, self.what = ssl_context, what
        self._limits = limits or HttpLimits()
        self.refuse = refuse
        self._httpd: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        self.port: Optional[int] = None

    @property
    def limits(self) -> HttpLimits:
        return self._limits

    @limits.setter
    def limits(self, limits: HttpLimits) -> None:
        self._limits = limits
        if self._httpd is not None:
            self._httpd.limits = limits

    @property
    def accepted(self) -> int:
        """How many connections were accepted (keep-alive keeps this low)."""
        return self._httpd.accepted if self._httpd is not None else 0

    def start(self) -> "WsgiThread":
        host, port = self.host, self.requested_port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(128)
        except OSError as e:
            sock.close()
            raise ServerStartError(
                f"{self.what} cannot listen on {host}:{port}: {e.strerror or e}"
                + (" (another program uses the port; pass port=0 to pick a free one)"
                   if port else "")
            ) from e
        self._httpd = _Server(sock, self.app, self.refuse, self.ssl_context, self._limits)
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"{self.what}:{self.port}", daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def stop(self) -> None:
        """Stop accepting (within about 50 ms); close idle connections now and busy
        ones after their response."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd.server_close()
        self._httpd.close_connections()
        self._httpd = None


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """The accept loop; one thread per connection, which also does the TLS handshake."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, sock: socket.socket, app: WsgiApp, refuse: WsgiApp,
                 ssl_context: Optional[ssl.SSLContext], limits: HttpLimits) -> None:
        self.address_family = sock.family
        socketserver.TCPServer.__init__(self, sock.getsockname(), _Connection,
                                        bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.server_address = sock.getsockname()
        self.app, self.refuse = app, refuse
        self.ssl_context, self.limits = ssl_context, limits
        # What every environ of this server shares.
        self.base_environ = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if ssl_context is not None else "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "SERVER_SOFTWARE": _SERVER,
            "SCRIPT_NAME": "",
            "SERVER_NAME": self.server_address[0],
            "SERVER_PORT": str(self.server_address[1]),
        }
        self.accepted = 0
        self._lock = threading.Lock()
        self._connections: Set["_Connection"] = set()
        self._closing = False

    def process_request(self, request: Any, client_address: Any) -> None:
        self.accepted += 1  # only the accept loop writes it
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        request.close()  # the handler has shut its connection down already

    # -- connection bookkeeping ------------------------------------------------

    def set_idle(self, handler: "_Connection", idle: bool) -> bool:
        """Mark a connection idle (waiting for a request) or busy; False when the
        server is stopping and the connection must close instead."""
        with self._lock:
            if self._closing:
                return False
            handler.idle = idle
            self._connections.add(handler)
            return True

    def forget(self, handler: "_Connection") -> None:
        with self._lock:
            self._connections.discard(handler)

    def close_connections(self) -> None:
        with self._lock:
            self._closing = True
            for handler in self._connections:
                if handler.idle:
                    handler.abort()


class _Deadline(io.RawIOBase):
    """The connection as a raw stream whose reads share one deadline, so a client
    that sends a byte now and then still cannot hold a request open forever."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock = sock
        self.deadline = 0.0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("the connection's time is up")
        self.sock.settimeout(left)
        return self.sock.recv_into(buffer)


class _Body(io.RawIOBase):
    """``wsgi.input``: exactly ``Content-Length`` bytes of the connection."""

    def __init__(self, rfile: io.BufferedReader, length: int) -> None:
        super().__init__()
        self._rfile = rfile
        self.remaining = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.remaining)
        if n <= 0:
            return 0
        got = self._rfile.readinto(memoryview(buffer)[:n])
        self.remaining -= got
        return got

    def skip(self) -> bool:
        """Read and drop what the application left; False if the client did not send it."""
        while self.remaining > 0:
            data = self._rfile.read(min(self.remaining, 65536))
            if not data:
                return False
            self.remaining -= len(data)
        return True


class _BadRequest(Exception):
    """The bytes are not an HTTP/1.1 request: answer ``status`` and close."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


_date_cache: Tuple[int, str] = (0, "")


def _http_date() -> str:
    """The ``Date`` header, formatted once per second."""
    global _date_cache
    now = int(time.time())
    second, text = _date_cache
    if second != now:
        text = email.utils.formatdate(now, usegmt=True)
        _date_cache = (now, text)
    return text


class _Connection(socketserver.BaseRequestHandler):
    """One connection: TLS handshake, then requests until close or timeout."""

    server: _Server

    def setup(self) -> None:
        self.connection = self.request
        self.rfile: Optional[io.BufferedReader] = None
        self.close_connection = True
        self.idle = True
        self.method = self.target = ""

    def handle(self) -> None:
        server = self.server
        try:
            if not server.set_idle(self, True):
                return
            self._open(server.limits)
            self.close_connection = False
            while not self.close_connection:
                self.handle_one_request()
        except (OSError, ValueError):
            pass  # timed out, reset, refused TLS, or shut by stop(): the connection ends
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
        self._reader = _Deadline(sock)
        self.rfile = io.BufferedReader(self._reader)

    def finish(self) -> None:
        try:
            if self.rfile is not None:
                self.rfile.close()
        except (OSError, ValueError):
            pass
        self.connection.close()

    def abort(self) -> None:
        """Shut the connection down under a thread blocked reading it (stop())."""
        try:
            socket.socket.shutdown(self.connection, socket.SHUT_RDWR)
        except OSError:
            pass

    # -- one request -----------------------------------------------------------

    def handle_one_request(self) -> None:
        server = self.server
        limits = server.limits
        assert self.rfile is not None
        self._reader.deadline = time.monotonic() + limits.idle_timeout
        line = self.rfile.readline(_MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):  # RFC 9112 §2.2: ignore an empty line before a request
            line = self.rfile.readline(_MAX_LINE + 1)
        if not line or not server.set_idle(self, False):
            self.close_connection = True
            return
        try:
            environ, expect_continue = self._parse(line)
        except _BadRequest as e:
            self._refuse_bad_request(e)
            return
        refusal, length = self._framing(environ, server.limits)  # as they are now
        if refusal is not None:
            self.close_connection = True
            environ[REFUSED] = refusal
            environ["wsgi.input"] = io.BytesIO()
            environ["CONTENT_LENGTH"] = "0"
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            self._respond(server.refuse, environ)
            self._linger()
            return
        if expect_continue and length:
            # Ask for the body only now that it will be read (RFC 9110 §10.1.1).
            self.connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = _Body(self.rfile, length)
        environ["wsgi.input"] = body
        self._respond(server.app, environ)
        if not self.close_connection and not body.skip():
            self.close_connection = True
        if not self.close_connection and not server.set_idle(self, True):
            self.close_connection = True

    def _parse(self, line: bytes) -> Tuple[Dict[str, Any], bool]:
        """The environ of one request (as Werkzeug's server builds it), and whether
        the client waits for ``100 Continue``."""
        if len(line) > _MAX_LINE:
            raise _BadRequest(414, "the request line is too long")
        words = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(words) != 3 or not words[0] or not words[1]:
            raise _BadRequest(400, f"bad request line {line[:100]!r}")
        method, target, version = words
        self.method, self.target = method, target
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            if version.startswith("HTTP/") and version[5:6].isdigit():
                raise _BadRequest(505, f"{version[:20]} is not supported; use HTTP/1.1")
            raise _BadRequest(400, f"bad request line {line[:100]!r}")
        environ = dict(self.server.base_environ)
        for _ in range(_MAX_HEADERS + 1):
            raw = self.rfile.readline(_MAX_LINE + 1)
            if raw in (b"\r\n", b"\n", b""):
                break
            if len(raw) > _MAX_LINE:
                raise _BadRequest(431, "a header line is too long")
            text = raw.decode("latin-1").rstrip("\r\n")
            name, colon, value = text.partition(":")
            if not colon or not _TOKEN.fullmatch(name):
                raise _BadRequest(400, f"bad header line {text[:100]!r} (no folding, no "
                                       "space before the colon; RFC 9112 §5)")
            if "_" in name:
                continue  # ambiguous with '-' once in the environ, as Werkzeug does
            key = name.upper().replace("-", "_")
            value = value.strip(" \t")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
                if key in environ:
                    value = f"{environ[key]},{value}"
            elif key in environ:
                value = f"{environ[key]},{value}"
            environ[key] = value
        else:
            raise _BadRequest(431, f"more than {_MAX_HEADERS} header lines")
        tokens = environ.get("HTTP_CONNECTION", "").lower()
        self.close_connection = version != "HTTP/1.1" or "close" in (
            t.strip() for t in tokens.split(","))
        url = urlsplit(target)
        if not url.scheme and url.netloc:  # "//x/y": the first segment is path
            path = f"/{url.netloc}{url.path}"
        else:
            path = url.path
        if url.scheme and url.netloc:  # absolute form: it names the host (RFC 9112 §3.2.2)
            environ["HTTP_HOST"] = url.netloc
        dance = _wsgi_encoding_dance
        peer = self.client_address
        environ.update({
            "REQUEST_METHOD": method,
            "PATH_INFO": dance(unquote(path)) if "%" in path else dance(path),
            "QUERY_STRING": dance(url.query),
            "REQUEST_URI": dance(target),
            "RAW_URI": dance(target),
            "REMOTE_ADDR": peer[0] if peer else "<local>",
            "REMOTE_PORT": peer[1] if peer else 0,
            "SERVER_PROTOCOL": version,
        })
        expect = environ.get("HTTP_EXPECT", "").lower().strip(" \t") == "100-continue"
        return environ, expect and version == "HTTP/1.1"

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
        values = {v.strip() for v in value.split(",")}
        value = values.pop()
        if values or not _DIGITS.fullmatch(value):
            return Refusal(400, f"Content-Length {value[:40]!r} is not one number of bytes"), 0
        length = int(value)
        environ["CONTENT_LENGTH"] = value
        if length > limits.max_body_bytes:
            return Refusal(413, f"the request body is larger than {limits.max_body_bytes} "
                                f"bytes"), 0
        return None, length

    def _respond(self, app: WsgiApp, environ: Dict[str, Any]) -> None:
        """Run the application and send its whole response in one write, always with
        its length (so no response is chunked and keep-alive always works)."""
        started: List[Any] = []
        chunks: List[bytes] = []

        def start_response(status: str, headers: List[Tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], None]:
            started[:] = [status, headers]  # nothing is sent before the app returns
            return chunks.append

        try:
            result = app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            if not started:
                raise RuntimeError("the application did not call start_response")
        except Exception as e:  # noqa: BLE001 - the client gets a 500, the log a traceback
            sys.stderr.write(f"{app!r} failed on {self.method} {self.target[:200]}:\n"
                             + traceback.format_exc())
            self.close_connection = True
            detail = f"the server failed: {type(e).__name__}: {e}"
            started[:] = ["500 Internal Server Error", [("Content-Type", _PROBLEM_JSON)]]
            chunks[:] = [json.dumps({"type": "urn:ietf:params:acme:error:serverInternal",
                                     "detail": detail, "status": 500}).encode()]
        self._send(started[0], started[1], b"".join(chunks), self.method == "HEAD")

    def _send(self, status: str, headers: List[Tuple[str, str]], body: bytes,
              head_only: bool = False) -> None:
        code = int(status[:3])
        bodyless = code < 200 or code in (204, 304)
        lines = [f"HTTP/1.1 {status}\r\nServer: {_SERVER}\r\nDate: {_http_date()}\r\n"]
        for name, value in headers:
            lower = name.lower()
            if lower in ("connection", "transfer-encoding", "keep-alive"):
                continue  # hop-by-hop: this server decides
            if lower == "content-length" and (not head_only or bodyless):
                continue
            lines.append(f"{name}: {value}\r\n")
        if not head_only and not bodyless:
            lines.append(f"Content-Length: {len(body)}\r\n")
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        data = "".join(lines).encode("latin-1")
        if not head_only and not bodyless:
            data += body
        self.connection.sendall(data)

    def _refuse_bad_request(self, error: _BadRequest) -> None:
        """Bytes that are not an HTTP/1.1 request: a problem, then close."""
        self.close_connection = True
        body = json.dumps({"type": _MALFORMED, "detail": f"not an HTTP/1.1 request: "
                           f"{error.detail}", "status": error.status}).encode()
        self._send(f"{error.status} {HTTPStatus(error.status).phrase}",
                   [("Content-Type", _PROBLEM_JSON)], body)
        self._linger()

    def _linger(self) -> None:
        """Close after a refusal: stop sending, then read what the client still sends
        (bounded in bytes and time) so the close does not reset the refusal away."""
        self.close_connection = True
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
