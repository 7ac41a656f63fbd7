"""Where the commands listen: the default ports, the management listener, and the
warning for a listener that other machines can reach."""

from __future__ import annotations

import threading
from contextlib import ExitStack
from typing import Any, Callable, Dict, Optional

from ..httpd import HttpLimits, WsgiThread
from ..server import AcmeServer

#: Where the management and challtestsrv APIs listen unless told otherwise.
LOOPBACK = "127.0.0.1"
#: Pebble's ports, so Pebble-based setups keep working.
DEFAULT_PORT = 14000
DEFAULT_MANAGEMENT_PORT = 15000
#: pebble-challtestsrv's DNS and management ports.
DEFAULT_DNS_PORT = 8053
DEFAULT_CHALLTESTSRV_PORT = 8055


def start_management(server: AcmeServer, stack: ExitStack, host: str, port: int,
                     console: bool = False) -> str:
    """Serve the management API (Pebble's and pytest-acme's), and with ``console`` the
    web console under ``/console/``, until ``stack`` closes; returns its base URL.

    The port listens at once; the applications behind it are made on its first
    request, so the ACME server's start-up does not wait for them."""

    def make_app() -> Any:
        from ..console import make_console_app, mount
        from ..standalone.management import make_management_app

        app: Any = make_management_app(server)
        return mount(make_console_app(server), app) if console else app

    mgmt = WsgiThread(LazyApp(make_app), host, port, server.ssl_context,
                      "management API", limits=HttpLimits.of(server.config)).start()
    stack.callback(mgmt.stop)
    scheme = "https" if server.ssl_context else "http"
    return f"{scheme}://{show_host(host)}:{mgmt.port}"


class LazyApp:
    """A WSGI application made by ``factory`` when its first request comes."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._app: Any = None
        self._lock = threading.Lock()

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._factory()
        return self._app(environ, start_response)


def show_host(host: str) -> str:
    """``host`` as it goes before ``:port`` in an address (an IPv6 one in brackets)."""
    return f"[{host}]" if ":" in host else host


#: What each listener gives to whoever reaches it, for the warning of :func:`exposure_warning`.
EXPOSES = {
    "management API": "the root's and intermediate's private keys (/root-keys/0, "
                      "/intermediate-keys/0), reset and the server clock",
    "challtestsrv API": "control of the DNS zone and the challenge answers",
}


def exposure_warning(what: str, host: str, port: int, hint: str,
                     gives: Optional[str] = None) -> str:
    """The warning for a listener other machines can reach: the one helper every
    command uses, naming what the listener hands out (``gives``; by default
    :data:`EXPOSES` of ``what``)."""
    where = "every interface" if host in ("0.0.0.0", "::") else host
    gives = gives or EXPOSES.get(what)
    gives = f" It hands out {gives}." if gives else ""
    return (f"the {what} listens on {show_host(host)}:{port} ({where}): anyone who can reach "
            f"this machine can use it, and it needs no authentication.{gives} {hint}")
