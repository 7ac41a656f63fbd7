"""The accept loop on a background thread: binding, connection bookkeeping for
:meth:`WsgiThread.stop`, and the watchdog that shuts down late connections."""

from __future__ import annotations

import errno
import socket
import socketserver
import ssl
import sys
import threading
import time
from typing import Any, Optional, Set, Tuple

from .connection import SERVER_SOFTWARE, Connection, HttpLimits, RefusalRenderer, WsgiApp, plain_refusal


class ServerStartError(RuntimeError):
    """A server could not start (most often: the port is taken)."""


class WsgiThread:
    """Serve ``app`` on ``host:port`` (0: a free port) until :meth:`stop`.

    Args:
        what: how error messages name this server ("pytest-acme", "management API").
        limits: body size and timeouts; the attribute may be replaced while serving
            (the next request reads it).
        refuse: the WSGI application that answers requests refused for their
            framing or Host; it finds a :class:`Refusal` in ``environ[REFUSED]``
            (the ACME application renders it as a problem with a nonce, and logs
            it).  None: ``render_refusal`` answers them.
        render_refusal: the body and headers of a refusal no application answers:
            bytes that are not an HTTP/1.1 request, and a 500 when ``app`` fails.
            The default, :func:`plain_refusal`, answers as Go's net/http does
            (what Pebble's management API and pebble-challtestsrv send).
    """

    def __init__(self, app: WsgiApp, host: str, port: int,
                 ssl_context: Optional[ssl.SSLContext] = None, what: str = "pytest-acme",
                 *, limits: Optional[HttpLimits] = None,
                 refuse: Optional[WsgiApp] = None,
                 render_refusal: RefusalRenderer = plain_refusal) -> None:
        self.app, self.host, self.requested_port = app, host, port
        self.ssl_context, self.what = ssl_context, what
        self._limits = limits or HttpLimits()
        self.refuse, self.render_refusal = refuse, render_refusal
        self._httpd: Optional[HttpServer] = None
        self._thread: Optional[threading.Thread] = None
        self.port: Optional[int] = None

    @property
    def limits(self) -> HttpLimits:
        return self._limits

    @limits.setter
    def limits(self, limits: HttpLimits) -> None:
        self._limits = limits
        if self._httpd is not None:
            self._httpd.set_limits(limits)

    @property
    def accepted(self) -> int:
        """How many connections were accepted (keep-alive keeps this low)."""
        return self._httpd.accepted if self._httpd is not None else 0

    @property
    def refused(self) -> int:
        """How many connections were closed at once for being over
        ``limits.max_connections``."""
        return self._httpd.refused if self._httpd is not None else 0

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
        self._httpd = HttpServer(sock, self.app, self.refuse, self.render_refusal,
                              self.ssl_context, self._limits)
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"{self.what}:{self.port}", daemon=True)
        self._thread.start()
        threading.Thread(target=self._httpd.watch, name=f"{self.what}:{self.port} deadlines",
                         daemon=True).start()
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


#: accept() errors that say the process or the system is out of a resource (file
#: descriptors, buffers): the pending connection stays queued, so the listening
#: socket stays readable and an accept loop that retried at once would spin.
_SHORTAGE = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
#: The accept loop's back-off after such an error: doubled from the first to the
#: last on each error in a row (Go's HTTP server waits 5 ms to 1 s the same way).
_BACKOFF_FIRST, _BACKOFF_LAST = 0.005, 1.0


class HttpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """The accept loop; one thread per connection, which also does the TLS handshake.

    At most ``limits.max_connections`` connections are served at once.  Past
    that, the accept loop closes a new connection as soon as it has accepted it:
    no thread, no TLS handshake.  A 503 with ``Retry-After`` would be kinder, but
    over HTTPS it needs a handshake first, a thread's or the accept loop's time,
    which is what the cap is there to protect; the client sees its connection
    closed, and clients retry a closed connection.
    """

    daemon_threads = True
    block_on_close = False

    def __init__(self, sock: socket.socket, app: WsgiApp, refuse: Optional[WsgiApp],
                 render_refusal: RefusalRenderer, ssl_context: Optional[ssl.SSLContext],
                 limits: HttpLimits) -> None:
        self.address_family = sock.family
        socketserver.TCPServer.__init__(self, sock.getsockname(), Connection,
                                        bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.server_address = sock.getsockname()
        self.app, self.refuse, self.render_refusal = app, refuse, render_refusal
        self.ssl_context, self.limits = ssl_context, limits
        # What every environ of this server shares.
        self.base_environ = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if ssl_context is not None else "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "SERVER_SOFTWARE": SERVER_SOFTWARE,
            "SCRIPT_NAME": "",
            "SERVER_NAME": self.server_address[0],
            "SERVER_PORT": str(self.server_address[1]),
        }
        self.accepted = 0
        self.refused = 0  # connections closed at once for being over max_connections
        self.active = 0  # connections given a thread and not finished yet
        self._backoff = 0.0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._connections: Set["Connection"] = set()
        self._closing = False

    @property
    def closing(self) -> bool:
        """Whether :meth:`close_connections` has run: the server is stopping, and a
        connection ends after its current response instead of waiting for another
        request.  Read without the lock (see :meth:`.Connection.handle_one_request`)."""
        return self._closing

    def get_request(self) -> Tuple[socket.socket, Any]:
        try:
            request = super().get_request()
        except OSError as e:
            if e.errno in _SHORTAGE:
                # Wait before the next accept() instead of spinning on it; stop()
                # ends the wait.  socketserver drops the error and loops.
                first = not self._backoff
                self._backoff = min(self._backoff * 2 or _BACKOFF_FIRST, _BACKOFF_LAST)
                if first:
                    sys.stderr.write(f"pytest-acme: accept() failed on port "
                                     f"{self.server_address[1]}: {e.strerror or e}; "
                                     f"retrying with back-off\n")
                self._stopping.wait(self._backoff)
            raise
        self._backoff = 0.0
        return request

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            full = self.active >= self.limits.max_connections
            if not full:
                self.active += 1
        if full:
            self.refused += 1  # only the accept loop writes it
            request.close()
            return
        self.accepted += 1  # only the accept loop writes it
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread to run it (and forget() it): undo the count
            with self._lock:
                self.active -= 1
            request.close()
            raise

    def shutdown(self) -> None:
        self._stopping.set()
        super().shutdown()

    def shutdown_request(self, request: Any) -> None:
        request.close()  # the handler has shut its connection down already

    # -- connection bookkeeping ------------------------------------------------

    def register(self, handler: "Connection") -> bool:
        """Track a new connection; False when the server is stopping."""
        with self._lock:
            if self._closing:
                return False
            self._connections.add(handler)
            return True

    def forget(self, handler: "Connection") -> None:
        with self._lock:
            self.active -= 1
            self._connections.discard(handler)
            if self._closing:
                self._wake.notify()

    def close_connections(self) -> None:
        with self._lock:
            self._closing = True
            self._wake.notify()
            for handler in self._connections:
                if handler.idle:
                    handler.abort()

    def set_limits(self, limits: HttpLimits) -> None:
        with self._lock:
            self.limits = limits
            self._wake.notify()  # a shorter idle_timeout may bring deadlines forward

    def watch(self) -> None:
        """Shut down each connection that is past its deadline, until the server has
        stopped and its last connection is gone."""
        with self._lock:
            while self._connections or not self._closing:
                now = time.monotonic()
                # A deadline set from now on is at least idle_timeout away.
                soonest = now + self.limits.idle_timeout
                for handler in self._connections:
                    if handler.deadline <= now:
                        handler.abort()
                    elif handler.deadline < soonest:
                        soonest = handler.deadline
                self._wake.wait(min(soonest - now, threading.TIMEOUT_MAX))
