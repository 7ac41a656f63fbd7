"""The connection handler of :mod:`pytest_acme.httpd` with h11 parsing and framing.

Measured by ``bench_http.py`` against the hand parser of
:mod:`pytest_acme.httpd.connection`; not used by the package (see the decision
in :mod:`pytest_acme.httpd`).  It keeps what costs time per request in the
hand parser (the environ as Werkzeug's server builds it, the Host rule, the body
limit, the application call) and lets h11 do the rest: finding the head,
checking its lines, the body's framing (``Content-Length`` or chunked),
keep-alive and the response's framing.
"""

from __future__ import annotations

import email.utils
import functools
import io
import time
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import unquote

import h11

from pytest_acme.httpd import Refusal, hosts
from pytest_acme.httpd.connection import SERVER_SOFTWARE, Connection
from pytest_acme.httpd.request import MAX_HEAD_BYTES


@functools.lru_cache(maxsize=1)
def _date(second: int) -> bytes:
    """The ``Date`` value, formatted once per second (as the hand parser does)."""
    return email.utils.formatdate(second, usegmt=True).encode()


class H11Connection(Connection):
    """:class:`~pytest_acme.httpd.connection.Connection` with h11 as its parser."""

    def setup(self) -> None:
        super().setup()
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)

    def _next(self) -> Any:
        """The next h11 event, reading from the socket as h11 needs."""
        conn = self.h11
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            conn.receive_data(self.connection.recv(65536))

    def handle_one_request(self) -> None:
        server = self.server
        self.deadline = time.monotonic() + server.limits.idle_timeout
        conn = self.h11
        try:
            event = self._next()
        except h11.RemoteProtocolError as e:
            self.close_connection = True
            self._refuse_unparsed(e.error_status_hint, str(e))
            return
        if not isinstance(event, h11.Request):
            self.close_connection = True
            return
        self.idle = False
        environ = self._environ(event)
        refusal: Optional[Refusal] = None
        length = environ.get("CONTENT_LENGTH")
        if length is not None and int(length) > server.limits.max_body_bytes:
            refusal = Refusal(413, "the request body is too large")
        if refusal is None:
            host = environ.get("HTTP_HOST")
            problem = hosts.syntax_problem(host) if host is not None else "no Host"
            if problem is not None:
                refusal = Refusal(400, problem)
        if refusal is not None:
            self._refuse(refusal, environ)
            return
        chunks: List[bytes] = []
        try:
            while True:
                event = self._next()
                if isinstance(event, h11.Data):
                    chunks.append(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    break
                else:
                    self.close_connection = True
                    return
        except h11.RemoteProtocolError as e:
            self._refuse_unparsed(400, str(e))
            return
        environ["wsgi.input"] = io.BytesIO(b"".join(chunks))
        self._respond(server.app, environ)
        if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
            self.close_connection = True
        if not self.close_connection:
            conn.start_next_cycle()
            self.idle = True
            self.close_connection = server.closing

    def _environ(self, request: h11.Request) -> Dict[str, Any]:
        environ = self.environ.copy()
        for name, value in request.headers:
            key = name.decode("latin-1").upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            text = value.decode("latin-1")
            environ[key] = f"{environ[key]},{text}" if key in environ else text
        target = request.target.decode("latin-1")
        self.method, self.target = request.method.decode("latin-1"), target
        path, _, environ["QUERY_STRING"] = target.partition("?")
        environ["PATH_INFO"] = unquote(path, "latin-1") if "%" in path else path
        environ["REQUEST_URI"] = environ["RAW_URI"] = target
        environ["REQUEST_METHOD"] = self.method
        environ["SERVER_PROTOCOL"] = "HTTP/" + request.http_version.decode()
        return environ

    def _refuse_unparsed(self, status: int, detail: str) -> None:
        self.close_connection = True
        self.h11 = h11.Connection(h11.SERVER)  # a fresh one: the old one is in ERROR
        self.h11.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.h11.next_event()
        headers, body = self.server.render_refusal(Refusal(status, detail))
        self._send(f"{status} Refused", headers, body)

    def _send(self, status: str, headers: List[Tuple[str, str]], body: bytes,
              head_only: bool = False) -> None:
        code = int(status[:3])
        own = [(b"Server", SERVER_SOFTWARE.encode()),
               (b"Date", _date(int(time.time())))]
        fields = own + [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers
                        if n.lower() not in ("connection", "transfer-encoding", "keep-alive",
                                             "content-length")]
        if not head_only and not (code < 200 or code in (204, 304)):
            fields.append((b"Content-Length", str(len(body)).encode()))
        if self.close_connection:
            fields.append((b"Connection", b"close"))
        conn = self.h11
        data = conn.send(h11.Response(status_code=code, headers=fields,
                                      reason=status[4:].encode("latin-1")))
        if body and not head_only:
            data += conn.send(h11.Data(data=body))
        data += conn.send(h11.EndOfMessage())
        self.deadline = time.monotonic() + self.server.limits.idle_timeout
        self.connection.sendall(data)

