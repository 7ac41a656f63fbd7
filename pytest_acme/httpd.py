"""A WSGI application served by a threaded Werkzeug server on a background thread.

Used for the ACME endpoint and for the management APIs.  The socket is bound
here, so a busy port raises :class:`ServerStartError` with a clear message
(Werkzeug's own bind calls ``sys.exit(1)``), and port 0 picks a free port.
"""

from __future__ import annotations

import socket
import ssl
import threading
from typing import Any, Optional

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class ServerStartError(RuntimeError):
    """A server could not start (most often: the port is taken)."""


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without its per-request log lines (the app keeps its own)."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass


class WsgiThread:
    """Serve ``app`` on ``host:port`` (0: a free port) until :meth:`stop`.

    Args:
        what: how error messages name this server ("pytest-acme", "management API").
    """

    def __init__(self, app: Any, host: str, port: int,
                 ssl_context: Optional[ssl.SSLContext] = None, what: str = "pytest-acme") -> None:
        self.app, self.host, self.requested_port = app, host, port
        self.ssl_context, self.what = ssl_context, what
        self._httpd: Optional[BaseWSGIServer] = None
        self._thread: Optional[threading.Thread] = None
        self.port: Optional[int] = None

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
        try:
            self._httpd = make_server(host, port, self.app, threaded=True,
                                      request_handler=_QuietHandler,
                                      ssl_context=self.ssl_context, fd=sock.fileno())
        finally:
            sock.close()  # the server holds its own duplicate
        self.port = self._httpd.socket.getsockname()[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"{self.what}:{self.port}", daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def stop(self) -> None:
        """Stop serving (within about 50 ms)."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd.server_close()
        self._httpd = None
