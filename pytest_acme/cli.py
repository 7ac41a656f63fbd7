"""The ``pytest-acme`` command.

``pytest-acme serve`` runs the server in the foreground until SIGINT or
SIGTERM, for clients in any language, tox runs and manual testing.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any, Dict, List, Optional, TextIO

from .config import FINALIZE_MODES, KEY_TYPES, VALIDATION_MODES, AcmeConfig
from .server import AcmeServer, ServerStartError

#: Pebble's ACME port, so Pebble-based setups keep working.
DEFAULT_PORT = 14000
#: pebble-challtestsrv's DNS port.
DEFAULT_DNS_PORT = 8053


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pytest-acme",
        description="An in-process ACME (RFC 8555) test server.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser(
        "serve",
        help="run the ACME server in the foreground",
        description="Run an ACME server until interrupted. It prints the directory URL "
        "and the CA bundle clients must trust.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT,
                       help="ACME port; 0 picks a free one (default: %(default)s, as Pebble)")
    serve.add_argument("--http", action="store_true", help="serve plain HTTP instead of HTTPS")
    serve.add_argument("--order-expiry", type=float, metavar="SECONDS",
                       help="seconds until an order expires (default: 86400)")
    serve.add_argument("--authorization-lifetime", type=float, metavar="SECONDS",
                       help="seconds until an authorization expires (default: 604800)")
    serve.add_argument("--certificate-validity", type=float, metavar="SECONDS",
                       help="lifetime of issued certificates (default: 90 days)")
    serve.add_argument("--finalize", choices=FINALIZE_MODES,
                       help="sync: finalize answers 'valid'; async: 'processing', then valid")
    serve.add_argument("--validation", choices=VALIDATION_MODES, help="how challenges are checked")
    serve.add_argument("--http01-port", type=int, metavar="PORT",
                       help="port the validator connects to for http-01 (default: 5002)")
    serve.add_argument("--tlsalpn01-port", type=int, metavar="PORT",
                       help="port the validator connects to for tls-alpn-01 (default: 5001)")
    serve.add_argument("--dns-port", type=int, default=DEFAULT_DNS_PORT, metavar="PORT",
                       help="port of the built-in DNS server, UDP and TCP (default: %(default)s)")
    serve.add_argument("--dns-server", metavar="HOST:PORT",
                       help="resolve challenge names with this DNS server instead of the "
                       "built-in zone")
    serve.add_argument("--ca-key-type", choices=KEY_TYPES, help="key type of the issuing CA")
    serve.add_argument("--retry-after", type=int, metavar="SECONDS",
                       help="Retry-After on pending and processing objects (default: 1)")
    serve.add_argument("--orders-per-page", type=int, help="page size of account order lists")
    serve.add_argument("--seed", type=int, help="seed for every random choice (default: random)")
    serve.add_argument("--terms-of-service", metavar="URL",
                       help="terms-of-service URL in the directory ('' for none)")
    return parser


def _settings(args: argparse.Namespace) -> Dict[str, Any]:
    settings: Dict[str, Any] = {"host": args.host, "port": args.port, "tls": not args.http}
    for name in ("order_expiry", "authorization_lifetime", "certificate_validity", "finalize",
                 "validation", "ca_key_type", "retry_after", "orders_per_page", "seed",
                 "terms_of_service", "http01_port", "tlsalpn01_port", "dns_port",
                 "dns_server"):
        value = getattr(args, name)
        if value is not None:
            settings[name] = value
    return settings


def banner(server: AcmeServer) -> str:
    lines = [
        f"pytest-acme: ACME server running (seed {server.seed})",
        f"  directory:  {server.directory_url}",
    ]
    if server.ca_bundle:
        lines.append(f"  CA bundle:  {server.ca_bundle}   (trust this for the server's HTTPS)")
    lines.append(f"  roots:      {server.roots_file}   (issued certificates chain to this)")
    if server.dns_address:
        lines.append(f"  DNS:        {server.dns_address}   (UDP and TCP; every name is 127.0.0.1)")
    cfg = server.config
    lines.append(f"  validation: {cfg.validation} (http-01 port {cfg.http01_port}, "
                 f"tls-alpn-01 port {cfg.tlsalpn01_port})")
    if server.ca_bundle:
        lines += [
            "",
            "  export REQUESTS_CA_BUNDLE=" + server.ca_bundle,
            "  export SSL_CERT_FILE=" + server.ca_bundle,
            "  export LEGO_CA_CERTIFICATES=" + server.ca_bundle,
        ]
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def serve(config: AcmeConfig, out: TextIO, stop: threading.Event) -> int:
    try:
        server = AcmeServer(config).start()
    except ServerStartError as e:
        print(f"pytest-acme: {e}", file=sys.stderr)
        return 1
    try:
        print(banner(server), file=out, flush=True)
        stop.wait()
    finally:
        server.close()
    print("pytest-acme: stopped", file=out, flush=True)
    return 0


def main(argv: Optional[List[str]] = None, *, stop: Optional[threading.Event] = None,
         out: Optional[TextIO] = None) -> int:
    """Run the command line.  ``stop`` lets a caller end ``serve`` without a signal."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command != "serve":
        parser.print_help()
        return 2
    try:
        config = AcmeConfig(**_settings(args))
    except (TypeError, ValueError) as e:
        parser.error(str(e))
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())  # type: ignore[union-attr]
    return serve(config, out or sys.stdout, stop)

