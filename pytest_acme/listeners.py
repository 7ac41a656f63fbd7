"""The sockets an :class:`~pytest_acme.AcmeServer` listens on, and how each is opened.

The ACME port serves the application over HTTP or HTTPS: with the certificate
the configuration names, or with a leaf for the loopback names from a
throwaway CA whose certificate clients are told to trust.  A request the HTTP
layer refuses on it is answered with a problem document.  The DNS server, when
asked for, serves the validator's zone.
"""

from __future__ import annotations

import json
import random
import socket
import ssl
from pathlib import Path
from typing import List, Optional, Tuple

import trustme

from .config import AcmeConfig
from .httpd import HttpLimits, Refusal, ServerStartError, WsgiThread
from .protocol import problems
from .va.dnsserver import DnsServer
from .web.app import AcmeApp

#: The file in a server's directory that holds the CA of its own HTTPS certificate.
HTTPS_CA_FILE = "https-ca.pem"

#: Where :func:`spare_port` looks for the kernel's ephemeral port range (Linux).
EPHEMERAL_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"
#: The lowest port :func:`spare_port` hands out.
SPARE_PORTS_FROM = 10000


def ephemeral_range(path: Optional[str] = None) -> Tuple[int, int]:
    """The ports the kernel picks from for a bind to port 0 or an outgoing
    connection: read from ``path`` (by default :data:`EPHEMERAL_RANGE_FILE`), or
    Linux's default 32768-60999 where it cannot be read (other systems start
    theirs higher)."""
    try:
        with open(path or EPHEMERAL_RANGE_FILE) as f:
            low, high = (int(v) for v in f.read().split())
    except (OSError, ValueError):
        return 32768, 60999
    return low, high


def spare_port(host: str = "127.0.0.1") -> int:
    """A port on ``host``, free for TCP and UDP now, for a process that binds it
    later: a client's own challenge responder, or a binary whose flags take fixed
    ports.

    It is chosen below the kernel's ephemeral range, so no socket bound to port 0
    and no outgoing connection (the local end of every connection takes an
    ephemeral port) can take it in the meantime; a port that was merely free a
    moment ago, from a bind to port 0, can be.  Where the range leaves no room
    below it, the port comes from a bind to port 0.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    low, _ = ephemeral_range()
    if low - SPARE_PORTS_FROM >= 1000:
        pick = random.SystemRandom()
        for _ in range(200):
            port = pick.randrange(SPARE_PORTS_FROM, low)
            if _free(family, host, port):
                return port
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _free(family: int, host: str, port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(family, kind) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                return False
    return True


def problem_refusal(refusal: Refusal) -> Tuple[List[Tuple[str, str]], bytes]:
    """A request the HTTP layer refused before the ACME application could (bytes that
    are not an HTTP/1.1 request), or a 500 it sent for it, as an RFC 8555 §6.7
    problem document: ``malformed``, or ``serverInternal`` for a 500.  Refusals the
    application answers itself (framing, Host) also carry a fresh nonce."""
    problem = (problems.ServerInternal(refusal.detail) if refusal.status >= 500 else
               problems.Malformed(refusal.detail, status=refusal.status))
    return ([("Content-Type", "application/problem+json")],
            json.dumps(problem.to_json()).encode())


def tls_context(config: AcmeConfig, directory: Path) -> ssl.SSLContext:
    """The TLS context of the ACME port: the configured ``tls_certificate``, or a
    leaf for the loopback names and the host from a new CA, whose certificate is
    written to :data:`HTTPS_CA_FILE` in ``directory``.

    Raises:
        ServerStartError: the configured certificate or key cannot be loaded.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if config.tls_certificate:
        try:
            ctx.load_cert_chain(config.tls_certificate, config.tls_private_key)
        except (OSError, ssl.SSLError) as e:
            raise ServerStartError(
                f"cannot load the HTTPS certificate {config.tls_certificate} / key "
                f"{config.tls_private_key}: {e}") from e
        return ctx
    ca = trustme.CA(organization_name="pytest-acme HTTPS")
    names = ["127.0.0.1", "::1", "localhost"]
    if config.host not in names and config.host not in ("0.0.0.0", "::"):
        names.append(config.host)
    ca.issue_cert(*names).configure_cert(ctx)
    ca.cert_pem.write_to_path(str(directory / HTTPS_CA_FILE))
    return ctx


def serve_acme(app: AcmeApp, config: AcmeConfig,
               directory: Path) -> Tuple[WsgiThread, Optional[ssl.SSLContext]]:
    """Bind the ACME port and serve ``app`` on it in a daemon thread; with its TLS
    context when ``config.tls`` (see :func:`tls_context`).

    Raises:
        ServerStartError: the address could not be bound, or the certificate loaded.
    """
    context = tls_context(config, directory) if config.tls else None
    httpd = WsgiThread(app, config.host, config.port, context, limits=HttpLimits.of(config),
                       refuse=app, render_refusal=problem_refusal).start()
    return httpd, context


def serve_dns(app: AcmeApp, host: str, port: int) -> DnsServer:
    """Serve ``app``'s zone (and take its DNS UPDATEs) on ``port`` of ``host``
    (127.0.0.1 for a wildcard host), UDP and TCP.

    Raises:
        ServerStartError: the port could not be bound.
    """
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    try:
        return DnsServer(app.zone, host, port, updater=app.dns_updates).start()
    except OSError as e:
        raise ServerStartError(f"pytest-acme cannot serve DNS on {host}:{port}: {e}") from e
