"""The ``pytest-acme`` command.

``pytest-acme serve`` runs the server in the foreground until SIGINT or
SIGTERM, for clients in any language, tox runs and manual testing.  It is a
drop-in for Pebble + pebble-challtestsrv: Pebble's flags (``-config``,
``-strict``, ``-dnsserver``), config file, environment variables and default
ports work, and both management APIs are served.  This module is the only
place that reads the environment.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from contextlib import ExitStack
from typing import Any, Callable, Dict, List, Mapping, Optional, TextIO

from .config import FINALIZE_MODES, KEY_TYPES, VALIDATION_MODES, AcmeConfig
from .httpd import HttpLimits, ServerStartError, WsgiThread
from .server import AcmeServer
from .standalone.pebble import from_pebble, read_config

#: Pebble's ports, so Pebble-based setups keep working.
DEFAULT_PORT = 14000
DEFAULT_MANAGEMENT_PORT = 15000
#: pebble-challtestsrv's DNS and management ports.
DEFAULT_DNS_PORT = 8053
DEFAULT_CHALLTESTSRV_PORT = 8055


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pytest-acme",
        description="An in-process ACME (RFC 8555) test server.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser(
        "serve",
        help="run the ACME server in the foreground",
        description="Run an ACME server until interrupted, with Pebble's and "
        "pebble-challtestsrv's management APIs. It prints the directory URL, the CA "
        "bundle clients must trust, and the management URLs.",
    )
    where = serve.add_argument_group("where")
    where.add_argument("--host", help="address to listen on (default: 127.0.0.1)")
    where.add_argument("--port", type=int,
                       help=f"ACME port; 0 picks a free one (default: {DEFAULT_PORT}, as Pebble)")
    where.add_argument("--http", action="store_true", help="serve plain HTTP instead of HTTPS")
    where.add_argument("--management-port", type=int,
                       help="Pebble management API and pytest-acme's JSON API "
                       f"(default: {DEFAULT_MANAGEMENT_PORT}; -1: off)")
    where.add_argument("--challtestsrv-port", type=int, default=DEFAULT_CHALLTESTSRV_PORT,
                       help="pebble-challtestsrv-compatible API (default: %(default)s; -1: off)")
    where.add_argument("--dns-port", type=int, default=DEFAULT_DNS_PORT, metavar="PORT",
                       help="built-in DNS server, UDP and TCP (default: %(default)s)")
    behave = serve.add_argument_group("behaviour")
    behave.add_argument("--order-expiry", type=float, metavar="SECONDS",
                        help="seconds until an order expires (default: 86400)")
    behave.add_argument("--authorization-lifetime", type=float, metavar="SECONDS",
                        help="seconds until an authorization expires (default: 604800)")
    behave.add_argument("--certificate-validity", type=float, metavar="SECONDS",
                        help="lifetime of issued certificates (default: 90 days)")
    behave.add_argument("--finalize", choices=FINALIZE_MODES,
                        help="sync: finalize answers 'valid'; async: 'processing', then valid")
    behave.add_argument("--validation", choices=VALIDATION_MODES,
                        help="real (default): check challenges; always_valid: pass them all")
    behave.add_argument("--http01-port", type=int, metavar="PORT",
                        help="port the validator connects to for http-01 (default: 5002)")
    behave.add_argument("--tlsalpn01-port", type=int, metavar="PORT",
                        help="port the validator connects to for tls-alpn-01 (default: 5001)")
    behave.add_argument("--http01-responder", action="store_true",
                        help="serve challtestsrv's /add-http01 answers on the http-01 port")
    behave.add_argument("--tlsalpn01-responder", action="store_true",
                        help="serve challtestsrv's /add-tlsalpn01 answers on the tls-alpn-01 port")
    behave.add_argument("--validation-timeout", type=float, metavar="SECONDS",
                        help="seconds per validation connection or DNS query (default: 5)")
    behave.add_argument("--validation-delay", type=float, metavar="SECONDS",
                        help="server-clock seconds a challenge stays processing (default: 0)")
    behave.add_argument("--validation-allow", action="append", metavar="CIDR",
                        help="a network the validator may reach besides loopback (repeatable)")
    behave.add_argument("--require-terms-agreement", action="store_true", default=None,
                        help="refuse newAccount without termsOfServiceAgreed")
    behave.add_argument("--dns-server", metavar="HOST:PORT",
                        help="resolve challenge names with this DNS server instead of the "
                        "built-in zone")
    behave.add_argument("--ca-key-type", choices=KEY_TYPES, help="key type of the issuing CA")
    behave.add_argument("--chain-length", type=int, metavar="N",
                        help="intermediates between a leaf and its root (default: 1)")
    behave.add_argument("--alternate-roots", type=int, metavar="N",
                        help="extra roots, each offered as a Link rel=alternate chain "
                        "(default: 0)")
    behave.add_argument("--default-profile", metavar="NAME",
                        help="profile of orders that name none (default: the first offered)")
    behave.add_argument("--retry-after", type=int, metavar="SECONDS",
                        help="Retry-After on pending and processing objects (default: 1)")
    behave.add_argument("--orders-per-page", type=int, help="page size of account order lists")
    behave.add_argument("--idle-timeout", type=float, metavar="SECONDS",
                        help="close a kept-alive connection idle this long (default: 30)")
    behave.add_argument("--handshake-timeout", type=float, metavar="SECONDS",
                        help="seconds a TLS handshake may take (default: 10)")
    behave.add_argument("--max-connections", type=int, metavar="N",
                        help="connections served at once; more are closed when accepted "
                        "(default: 512)")
    behave.add_argument("--max-orders", type=_max_orders, metavar="N",
                        help="orders kept; past N the oldest finished ones are forgotten, "
                        "so memory stays bounded ('none' keeps all; default: 2000)")
    behave.add_argument("--nonce-lifetime", type=_seconds_or_none, metavar="SECONDS",
                        help="seconds a nonce stays usable ('none': forever; default: 3600)")
    behave.add_argument("--max-body-bytes", type=int, metavar="N",
                        help="larger request bodies get a 413 problem (default: 65536)")
    behave.add_argument("--event-log-size", type=int, metavar="N",
                        help="events kept for inspection; older ones are dropped and "
                        "counted (default: 10000)")
    behave.add_argument("--request-log-size", type=int, metavar="N",
                        help="requests kept for inspection (default: 2000)")
    behave.add_argument("--seed", type=int, help="seed for every random choice (default: random)")
    behave.add_argument("--terms-of-service", metavar="URL",
                        help="terms-of-service URL in the directory ('' for none)")
    proto = serve.add_argument_group("protocol")
    proto.add_argument("--boulder", action="store_true", default=None,
                       help="behave like Let's Encrypt's Boulder where it differs from RFC "
                       "8555: plain GET, identical orders and authorizations reused, no "
                       "account 'orders', notBefore/notAfter refused, no newAuthz")
    proto.add_argument("--no-new-authz", dest="new_authz", action="store_false", default=None,
                       help="do not offer pre-authorization (newAuthz)")
    proto.add_argument("--authz-reuse-valid", metavar="RATE", type=_rate_arg,
                       help="reuse valid authorizations: never, always or a rate 0..1 "
                       "(seeded; default: never)")
    proto.add_argument("--authz-reuse-pending", metavar="RATE", type=_rate_arg,
                       help="reuse pending authorizations: never, always or a rate 0..1")
    proto.add_argument("--eab-required", action="store_true", default=None,
                       help="require external account binding for newAccount")
    proto.add_argument("--eab-key", action="append", metavar="KID=MACKEY",
                       help="accept external account bindings under this key id and "
                       "base64url MAC key (repeatable)")
    va = serve.add_argument_group("challenges and CAA")
    va.add_argument("--challenge-type", dest="challenge_types", action="append",
                    metavar="TYPE", help="offer this challenge type (repeat, in order; "
                    "default: http-01 dns-01 tls-alpn-01 dns-account-01 dns-persist-01)")
    va.add_argument("--caa-identity", dest="caa_identities", action="append", metavar="DOMAIN",
                    help="an issuer domain name of this CA in CAA and dns-persist-01 records "
                    "(repeat; default: pytest-acme.test)")
    va.add_argument("--no-caa", dest="caa", action="store_false", default=None,
                    help="do not check CAA records")
    va.add_argument("--caa-recheck-after", type=float, metavar="SECONDS",
                    help="finalization rechecks CAA of authorizations validated longer ago "
                    "(default: 25200, 7 hours)")
    log = serve.add_argument_group("output")
    log.add_argument("-q", "--quiet", action="store_true", help="no per-request log lines")
    log.add_argument("-v", "--verbose", action="store_true",
                     help="also log each problem's detail")
    pebble = serve.add_argument_group(
        "Pebble compatibility",
        "Pebble's own flags; PEBBLE_VA_ALWAYS_VALID, PEBBLE_VA_NOSLEEP, "
        "PEBBLE_WFE_NONCEREJECT, PEBBLE_WFE_ORDERS_PER_PAGE, PEBBLE_AUTHZREUSE, "
        "PEBBLE_CHAIN_LENGTH and PEBBLE_ALTERNATE_ROOTS are read too.")
    pebble.add_argument("-config", dest="pebble_config", metavar="FILE",
                        help="a Pebble JSON config file ({\"pebble\": {...}})")
    pebble.add_argument("-strict", dest="pebble_strict", nargs="?", const="true",
                        metavar="BOOL", help="accepted; pytest-acme is always strict")
    pebble.add_argument("-dnsserver", dest="pebble_dnsserver", metavar="HOST:PORT",
                        help="same as --dns-server")
    return parser


_PASSTHROUGH = ("order_expiry", "authorization_lifetime", "certificate_validity", "finalize",
                "validation", "ca_key_type", "retry_after", "orders_per_page", "seed",
                "terms_of_service", "http01_port", "tlsalpn01_port", "dns_server", "host",
                "port", "validation_timeout", "validation_delay", "validation_allow",
                "require_terms_agreement", "boulder", "new_authz", "authz_reuse_valid",
                "authz_reuse_pending", "eab_required", "chain_length", "alternate_roots",
                "default_profile", "idle_timeout", "handshake_timeout", "max_connections", "max_orders",
                "nonce_lifetime", "max_body_bytes", "event_log_size", "request_log_size")


def _number_or_none(convert: Callable[[str], Any], what: str) -> Callable[[str], Any]:
    """An argparse type: a number, or ``none`` (which ``plan()`` turns into None,
    since a None argument means "not given")."""
    def parse(text: str) -> Any:
        if text.lower() == "none":
            return "none"
        try:
            return convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what} or 'none'") from None
    return parse


_max_orders = _number_or_none(int, "a number of orders")
_seconds_or_none = _number_or_none(float, "a number of seconds")


def _rate_arg(text: str) -> Any:
    if text in ("never", "always"):
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not 'never', 'always' or a rate like 0.5") from None


_VA_PASSTHROUGH = ("challenge_types", "caa_identities", "caa", "caa_recheck_after")


def plan(args: argparse.Namespace, env: Mapping[str, str]) -> Dict[str, Any]:
    """Everything ``serve`` will start: settings, management ports, faults, warnings."""
    pebble = from_pebble(read_config(args.pebble_config) if args.pebble_config else None, env)
    settings: Dict[str, Any] = {"host": "127.0.0.1", "port": DEFAULT_PORT}
    settings.update(pebble.settings)
    if args.pebble_dnsserver:
        settings["dns_server"] = args.pebble_dnsserver
    for name in _PASSTHROUGH:
        value = getattr(args, name, None)
        if value is not None:
            settings[name] = value
    for name in ("max_orders", "nonce_lifetime"):
        if settings.get(name) == "none":
            settings[name] = None
    if args.eab_key:
        keys = dict(settings.get("eab_keys", {}))
        for item in args.eab_key:
            kid, sep, key = item.partition("=")
            if not sep or not kid or not key:
                raise ValueError(f"--eab-key wants KID=MACKEY, got {item!r}")
            keys[kid] = key
        settings["eab_keys"] = keys
    for name in _VA_PASSTHROUGH:
        value = getattr(args, name, None)
        if value is not None:
            settings[name] = value
    if args.http:
        settings["tls"] = False
    settings["dns_port"] = args.dns_port
    if settings.get("dns_server") == f"127.0.0.1:{args.dns_port}":
        settings.pop("dns_server")  # that is this server's own zone: ask it directly
    management = pebble.management or (settings["host"], DEFAULT_MANAGEMENT_PORT)
    if args.management_port is not None:
        management = (management[0], args.management_port)
    warnings = list(pebble.warnings)
    if args.pebble_strict not in (None, "false", "0"):
        warnings.append("-strict: pytest-acme always behaves strictly (POST-as-GET only, "
                        "exact JWS checks); nothing changes")
    return {"settings": settings, "management": management, "faults": pebble.faults,
            "warnings": warnings}


def banner(server: AcmeServer, management: Optional[str] = None,
           challtestsrv: Optional[str] = None) -> str:
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
    cfg = server.config
    lines.append(f"  validation:   {cfg.validation} (http-01 port {cfg.http01_port}, "
                 f"tls-alpn-01 port {cfg.tlsalpn01_port})")
    if cfg.boulder:
        lines.append("  mode:         Boulder-compatible (see the README's list of differences)")
    if cfg.eab_required or cfg.eab_keys:
        lines.append(f"  EAB:          {'required' if cfg.eab_required else 'optional'}; "
                     f"key ids: {', '.join(sorted(cfg.eab_keys)) or '(none)'}")
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


def serve(args: argparse.Namespace, planned: Dict[str, Any], out: TextIO,
          stop: threading.Event) -> int:
    from .responders import Http01Responder, TlsAlpn01Responder
    from .standalone.challtestsrv import make_challtestsrv_app
    from .standalone.management import make_management_app

    for warning in planned["warnings"]:
        print(f"pytest-acme: warning: {warning}", file=sys.stderr, flush=True)
    with ExitStack() as stack:
        try:
            server = AcmeServer(AcmeConfig(**planned["settings"])).start()
            stack.callback(server.close)
            server.faults.add(*planned["faults"])
            host = server.config.host
            management = challtestsrv = None
            mhost, mport = planned["management"]
            if mport >= 0:
                mgmt = WsgiThread(make_management_app(server), mhost, mport,
                                  server.ssl_context, "management API",
                                  limits=HttpLimits.of(server.config)).start()
                stack.callback(mgmt.stop)
                scheme = "https" if server.ssl_context else "http"
                management = f"{scheme}://{_show(mhost)}:{mgmt.port}"
            http01 = tlsalpn01 = None
            if args.http01_responder:
                http01 = stack.enter_context(Http01Responder(host, server.config.http01_port))
            if args.tlsalpn01_responder:
                tlsalpn01 = stack.enter_context(
                    TlsAlpn01Responder(host, server.config.tlsalpn01_port))
            if args.challtestsrv_port >= 0:
                chall = WsgiThread(make_challtestsrv_app(server.dns, http01, tlsalpn01), host,
                                   args.challtestsrv_port, None, "challtestsrv API",
                                   limits=HttpLimits.of(server.config)).start()
                stack.callback(chall.stop)
                challtestsrv = f"http://{_show(host)}:{chall.port}"
        except (ServerStartError, OSError) as e:
            print(f"pytest-acme: {e}", file=sys.stderr)
            return 1
        if not args.quiet:
            lock = threading.Lock()

            def log(record: Any) -> None:
                with lock:
                    print(_request_line(record, args.verbose), file=out, flush=True)

            server.app.request_listeners.append(log)
        print(banner(server, management, challtestsrv), file=out, flush=True)
        stop.wait()
    print("pytest-acme: stopped", file=out, flush=True)
    return 0


def _show(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def main(argv: Optional[List[str]] = None, *, stop: Optional[threading.Event] = None,
         out: Optional[TextIO] = None, env: Optional[Mapping[str, str]] = None) -> int:
    """Run the command line.  ``stop`` ends ``serve`` without a signal; ``env``
    replaces ``os.environ`` (for tests)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command != "serve":
        parser.print_help()
        return 2
    try:
        planned = plan(args, os.environ if env is None else env)
        AcmeConfig(**planned["settings"])
    except (TypeError, ValueError) as e:
        parser.error(str(e))
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())  # type: ignore[union-attr]
    return serve(args, planned, out or sys.stdout, stop)
