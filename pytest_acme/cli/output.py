"""What ``serve`` and ``pebble`` print: the banner that says where everything is,
and one line per ACME request."""

from __future__ import annotations

import threading
from typing import Any, Optional, Sequence, TextIO

from ..config import tsig_keys_of
from ..server import AcmeServer


def banner(server: AcmeServer, management: Optional[str] = None,
           challtestsrv: Optional[str] = None, extra: Sequence[str] = (),
           console: bool = False) -> str:
    """What ``serve`` and ``pebble`` print once the server is up: the directory URL,
    what to trust, where the management APIs and the DNS server are, the settings a
    client meets, and ``extra`` lines."""
    lines = [
        f"pytest-acme: ACME server running (seed {server.seed})",
        f"  directory:    {server.directory_url}",
    ]
    if server.ca_bundle:
        lines.append(f"  CA bundle:    {server.ca_bundle}   (trust this for the server's HTTPS)")
    elif server.config.tls_certificate:
        lines.append(f"  HTTPS cert:   {server.config.tls_certificate}   (trust its issuer)")
    lines.append(f"  roots:        {server.roots_file}   (issued certificates chain to this)")
    if management:
        lines.append(f"  management:   {management}/roots/0 (Pebble), {management}/pytest-acme/")
    if management and console:
        lines.append(f"  console:      {management}/console/   (open it in a browser)")
    alternates = len(server.chain_roots_pem) - 1
    if alternates and management:
        lines.append(f"  alternates:   {alternates} more chain(s), roots at "
                     f"{management}/roots/1 .. /roots/{alternates}")
    if server.config.profiles:
        lines.append(f"  profiles:     {', '.join(server.config.profiles)} (default "
                     f"{server.config.profile_default})")
    if challtestsrv:
        lines.append(f"  challtestsrv: {challtestsrv}/set-txt, /clear-txt, ... "
                     "(pebble-challtestsrv API)")
    if server.dns_address:
        lines.append(f"  DNS:          {server.dns_address}   (UDP and TCP; every name is "
                     "127.0.0.1)")
        keys = tsig_keys_of(server.config) if server.config.tsig_keys is not None else (
            server.tsig_key,)
        lines.extend(f"  DNS UPDATE:   TSIG key {key.spec}   (nsupdate -y)"
                     for key in keys if key is not None)
    cfg = server.config
    lines.append(f"  validation:   {cfg.validation} (http-01 port {cfg.http01_port}, "
                 f"tls-alpn-01 port {cfg.tlsalpn01_port})")
    if cfg.ocsp or cfg.ocsp_responder_url:
        lines.append(f"  OCSP:         {cfg.ocsp_responder_url or server.ocsp_url}   (named in "
                     "every certificate)")
    if cfg.boulder:
        lines.append("  mode:         Boulder-compatible (see the README's list of differences)")
    if cfg.eab_required or cfg.eab_keys:
        lines.append(f"  EAB:          {'required' if cfg.eab_required else 'optional'}; "
                     f"key ids: {', '.join(sorted(cfg.eab_keys)) or '(none)'}")
    lines += extra
    if server.ca_bundle:
        lines += [
            "",
            "  export REQUESTS_CA_BUNDLE=" + server.ca_bundle,
            "  export SSL_CERT_FILE=" + server.ca_bundle,
            "  export LEGO_CA_CERTIFICATES=" + server.ca_bundle,
        ]
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def _request_line(record: Any, verbose: bool) -> str:
    line = f"{record.method} {record.path} {record.status}"
    if record.problem:
        line += f" {record.problem}"
        if verbose and record.detail:
            line += f": {record.detail}"
    return line


def log_requests(server: AcmeServer, out: TextIO, verbose: bool) -> None:
    """Print one line per ACME request (method, path, status, problem)."""
    lock = threading.Lock()

    def log(record: Any) -> None:
        with lock:
            print(_request_line(record, verbose), file=out, flush=True)

    server.app.request_listeners.append(log)
