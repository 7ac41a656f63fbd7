"""The sockets an :class:`~pytest_acme.AcmeServer` listens on, and how each is opened.

The ACME port serves the application over HTTP or HTTPS: with the certificate
the configuration names, or with a leaf for the loopback names from a
throwaway CA whose certificate clients are told to trust.  A request the HTTP
layer refuses on it is answered with a problem document.  The DNS server, when
asked for, serves the validator's zone.
"""

from __future__ import annotations

import json
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
