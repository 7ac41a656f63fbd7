"""The ``pytest-acme`` command.

``pytest-acme serve`` runs the server in the foreground until SIGINT or
SIGTERM, for clients in any language, tox runs and manual testing.  It is a
drop-in for Pebble + pebble-challtestsrv: Pebble's flags (``-config``,
``-strict``, ``-dnsserver``), config file, environment variables and default
ports work, and both management APIs are served.

``pytest-acme pebble`` and ``pytest-acme challtestsrv`` are the two programs
separately, each with the flags and defaults of the binary it stands in for
(``pebble``, ``pebble-challtestsrv``), and run as that binary's name.  This
module is the only place that reads the environment.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from contextlib import ExitStack
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, TextIO

from .config import FINALIZE_MODES, KEY_TYPES, VALIDATION_MODES, AcmeConfig, parse_tsig_spec, tsig_keys_of
from .httpd import HttpLimits, ServerStartError, WsgiThread
from .server import AcmeServer
from .standalone.challtestsrv_server import beyond_loopback
from .standalone.pebble import from_pebble, read_config

#: Where the management and challtestsrv APIs listen unless told otherwise.
LOOPBACK = "127.0.0.1"
#: Pebble's ports, so Pebble-based setups keep working.
DEFAULT_PORT = 14000
DEFAULT_MANAGEMENT_PORT = 15000
#: pebble-challtestsrv's DNS and management ports.
DEFAULT_DNS_PORT = 8053
DEFAULT_CHALLTESTSRV_PORT = 8055
#: Where ``pebble`` looks for its config file when ``-config`` names none
#: (relative to the working directory: a Pebble source checkout).
PEBBLE_CONFIG = "test/config/pebble-config.json"
#: Where Pebble's documented config listens, for a config that does not say.
PEBBLE_LISTEN = ("0.0.0.0", DEFAULT_PORT)
#: pebble-challtestsrv's listener flags: name, default, what listens.
CHALLTESTSRV_LISTENERS = (
    ("http01", ":5002", "the HTTP-01 responder"),
    ("https01", ":5003", "the same responder over HTTPS (a redirect target)"),
    ("dns01", ":8053", "the mock DNS server (UDP and TCP)"),
    ("tlsalpn01", ":5001", "the TLS-ALPN-01 responder"),
)


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
    where.add_argument("--management-host", metavar="ADDRESS",
                       help="address of the management API and the challtestsrv API "
                       "(default: 127.0.0.1, whatever --host says: they hand out the CA's "
                       "private keys and reset the server, without authentication)")
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
    behave.add_argument("--poll-wait", type=float, metavar="SECONDS",
                        help="seconds a poll may wait for a running validation to end "
                        "(default: 0.25; 0 answers at once)")
    behave.add_argument("--validation-allow", action="append", metavar="CIDR",
                        help="a network the validator may reach besides loopback (repeatable)")
    behave.add_argument("--require-terms-agreement", action="store_true", default=None,
                        help="refuse newAccount without termsOfServiceAgreed")
    behave.add_argument("--dns-server", metavar="HOST:PORT",
                        help="resolve challenge names with this DNS server instead of the "
                        "built-in zone")
    behave.add_argument("--tsig-key", action="append", metavar="[ALG:]NAME:SECRET",
                        help="a TSIG key whose DNS UPDATEs (RFC 2136) the built-in DNS server "
                        "applies, as nsupdate -y takes it (repeatable; default: one made "
                        "from the seed, shown at start)")
    behave.add_argument("--ca-key-type", choices=KEY_TYPES, help="key type of the issuing CA")
    behave.add_argument("--chain-length", type=int, metavar="N",
                        help="intermediates between a leaf and its root (default: 1)")
    behave.add_argument("--alternate-roots", type=int, metavar="N",
                        help="extra roots, each offered as a Link rel=alternate chain "
                        "(default: 0)")
    behave.add_argument("--ocsp", action="store_true", default=None,
                        help="name the server's OCSP responder (/ocsp) in every certificate")
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
    behave.add_argument("--max-pending-orders-per-account", type=_max_orders, metavar="N",
                        help="unfinished orders an account may have; more get rateLimited "
                        "(429), as at Let's Encrypt ('none': no limit; default: 1000)")
    behave.add_argument("--max-pending-orders", type=_max_orders, metavar="N",
                        help="unfinished orders of all accounts together; more get "
                        "rateLimited (429) ('none': no limit; default: 2000)")
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
                    "default: http-01 dns-01 tls-alpn-01, as Let's Encrypt; the drafts "
                    "dns-account-01 and dns-persist-01 only when named)")
    va.add_argument("--caa-identity", dest="caa_identities", action="append", metavar="DOMAIN",
                    help="an issuer domain name of this CA in CAA and dns-persist-01 records "
                    "(repeat; default: pytest-acme.test)")
    va.add_argument("--no-caa", dest="caa", action="store_false", default=None,
                    help="do not check CAA records")
    va.add_argument("--caa-recheck-after", type=float, metavar="SECONDS",
                    help="finalization rechecks CAA of authorizations validated longer ago "
                    "(default: 25200, 7 hours)")
    proto.add_argument("--strict-csr", action="store_true", default=None,
                       help="refuse a CSR whose version is not 0 (v1) with badCSR; by "
                       "default it is accepted, as Let's Encrypt does, with a warning")
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
    _pebble_parser(sub)
    _challtestsrv_parser(sub)
    _check_client_parser(sub)
    return parser


def _check_client_parser(sub: Any) -> None:
    from .checkclient import runner, scenarios

    check = sub.add_parser(
        "check-client", help="report how an ACME client copes when the CA misbehaves",
        description="Run CMD once per scenario, each time against a fresh server with that "
        "scenario's faults, and judge it from what the server saw: exit 0 with a "
        "certificate for the names ordered, downloaded (or, where nothing can succeed, a "
        "non-zero exit without one). CMD finds the server in ACME_DIRECTORY, "
        "ACME_CA_BUNDLE (also SSL_CERT_FILE, REQUESTS_CA_BUNDLE, LEGO_CA_CERTIFICATES), "
        "ACME_HTTP01_PORT and ACME_TLSALPN01_PORT (the ports it serves challenges on), "
        "ACME_DNS_MGMT (pebble-challtestsrv API), ACME_DNS_RESOLVER and ACME_ROOT_URL. "
        "Exits 0 only when every selected scenario passes.")
    check.add_argument("--scenario", dest="scenarios", action="append", metavar="NAME",
                       choices=scenarios.NAMES, default=[],
                       help="run this scenario (repeatable; default: all): "
                       + ", ".join(scenarios.NAMES))
    check.add_argument("--list", action="store_true", help="list the scenarios and exit")
    check.add_argument("--json", dest="json_file", metavar="FILE", help="write a JSON report")
    check.add_argument("--junit-xml", dest="junit_file", metavar="FILE",
                       help="write a JUnit XML report")
    check.add_argument("--timeout", type=float, default=runner.DEFAULT_TIMEOUT,
                       metavar="SECONDS",
                       help="kill CMD and fail the scenario after this long (default: %(default)g)")
    check.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                       help="run N scenarios at once, each on its own ports (default: 1)")
    check.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]")


def check_client(args: argparse.Namespace, env: Mapping[str, str], out: TextIO) -> int:
    """Run ``pytest-acme check-client``."""
    from .checkclient import check, listing

    if args.list:
        print(listing(), file=out)
        return 0
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        print("pytest-acme check-client: give the client command after --, e.g. "
              "pytest-acme check-client -- ./get-cert.sh", file=sys.stderr)
        return 2
    if args.timeout <= 0 or args.jobs < 1:
        print("pytest-acme check-client: --timeout must be positive and -j at least 1",
              file=sys.stderr)
        return 2
    return check(cmd, env, scenarios=args.scenarios, timeout=args.timeout, jobs=args.jobs,
                 json_file=args.json_file, junit_file=args.junit_file, out=out)


def _go_flag(group: Any, name: str, **kwargs: Any) -> None:
    """A Go-style flag: Go's ``flag`` package takes ``-name`` and ``--name``, with
    the value as the next word or after ``=``."""
    group.add_argument(f"-{name}", f"--{name}", dest=name, **kwargs)


def _pebble_parser(sub: Any) -> None:
    pebble = sub.add_parser(
        "pebble", help="stand in for Pebble's `pebble` command",
        description="Run the ACME server as Debian's or Pebble's `pebble` command does: "
        "the same flags with the same defaults, Pebble's JSON config file (listenAddress, "
        "managementListenAddress, httpPort, tlsPort, certificate, privateKey, ...) and "
        "its PEBBLE_* environment variables. No DNS server and no challtestsrv API start: "
        "pair it with `pebble-challtestsrv` or `pytest-acme challtestsrv`, and pass "
        "-dnsserver their DNS address. Installed as `pebble` (a symlink to pytest-acme), "
        "it runs this command.")
    _go_flag(pebble, "config", default=PEBBLE_CONFIG, metavar="FILE",
             help="Pebble's JSON config file, relative to the working directory "
             "(default %(default)r)")
    _go_flag(pebble, "strict", nargs="?", const="true", default="false", metavar="BOOL",
             help="Pebble's switch for its stricter checks; accepted, since pytest-acme "
             "always checks strictly")
    _go_flag(pebble, "dnsserver", default="", metavar="HOST:PORT",
             help="the DNS server the validator asks, e.g. a challtestsrv's 127.0.0.1:8053; "
             "loopback only. Without it, names resolve in the built-in zone, where every "
             "name is 127.0.0.1")


def _challtestsrv_parser(sub: Any) -> None:
    chall = sub.add_parser(
        "challtestsrv", help="stand in for Pebble's `pebble-challtestsrv` command",
        description="Run pebble-challtestsrv's mock DNS, challenge responders and "
        "management API, with its flags and defaults. Each listener flag is a "
        "comma-separated list of addresses (':8053' is every interface); an empty value "
        "turns it off. Installed as `pebble-challtestsrv` (a symlink to pytest-acme), it "
        "runs this command.")
    for name, default, what in CHALLTESTSRV_LISTENERS:
        _go_flag(chall, name, default=default, metavar="ADDRS",
                 help=f"where {what} listens: host:port, comma-separated; '' for "
                 "nowhere (default %(default)r)")
    _go_flag(chall, "management", default=":8055", metavar="ADDR",
             help="where the management API listens: host:port (default %(default)r)")
    _go_flag(chall, "defaultIPv4", default="127.0.0.1", metavar="IP",
             help="the A record of names without one of their own; '' for none "
             "(default %(default)r)")
    _go_flag(chall, "defaultIPv6", default="::1", metavar="IP",
             help="the AAAA record of names without one of their own; '' for none "
             "(default %(default)r)")


_PASSTHROUGH = ("order_expiry", "authorization_lifetime", "certificate_validity", "finalize",
                "validation", "ca_key_type", "retry_after", "orders_per_page", "seed",
                "terms_of_service", "http01_port", "tlsalpn01_port", "dns_server", "host",
                "port", "validation_timeout", "validation_delay", "poll_wait", "validation_allow",
                "require_terms_agreement", "boulder", "new_authz", "authz_reuse_valid",
                "authz_reuse_pending", "eab_required", "chain_length", "alternate_roots",
                "default_profile", "idle_timeout", "handshake_timeout", "max_connections",
                "max_orders", "max_pending_orders_per_account", "max_pending_orders",
                "nonce_lifetime", "max_body_bytes", "event_log_size",
                "request_log_size", "ocsp", "strict_csr")


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
    if args.pebble_config or args.pebble_strict is not None or args.pebble_dnsserver:
        # Pebble's own flags: behave as Pebble where its users can see it.
        settings["pebble"] = True
    if args.pebble_dnsserver:
        settings["dns_server"] = args.pebble_dnsserver
    for name in _PASSTHROUGH:
        value = getattr(args, name, None)
        if value is not None:
            settings[name] = value
    for name in ("max_orders", "max_pending_orders_per_account", "max_pending_orders",
                 "nonce_lifetime"):
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
    if args.tsig_key:
        tsig = {}
        for spec in args.tsig_key:
            key = parse_tsig_spec(spec)
            tsig[key.name] = f"{key.algorithm}:{key.secret}"
        settings["tsig_keys"] = tsig
    for name in _VA_PASSTHROUGH:
        value = getattr(args, name, None)
        if value is not None:
            settings[name] = value
    if args.http:
        settings["tls"] = False
    settings["dns_port"] = args.dns_port
    if settings.get("dns_server") == f"127.0.0.1:{args.dns_port}":
        settings.pop("dns_server")  # that is this server's own zone: ask it directly
    # The management and challtestsrv APIs stay on loopback unless --management-host
    # says otherwise: --host (or a Pebble config's managementListenAddress) opening
    # the ACME port to other machines must not open these too.
    wanted = pebble.management or (LOOPBACK, DEFAULT_MANAGEMENT_PORT)
    host = args.management_host
    if host is None:
        host = wanted[0] if not beyond_loopback(wanted[0]) else LOOPBACK
    management = (host, wanted[1] if args.management_port is None else args.management_port)
    warnings = list(pebble.warnings)
    if args.management_host is None and beyond_loopback(wanted[0]):
        warnings.append(f"managementListenAddress {_show(wanted[0])}:{wanted[1]}: serve keeps "
                        f"the management API on {LOOPBACK}; pass --management-host "
                        f"{wanted[0]} to listen there (or run `pytest-acme pebble`)")
    if args.pebble_strict not in (None, "false", "0"):
        warnings.append("-strict: pebble mode is on; pytest-acme always behaves strictly "
                        "(POST-as-GET only, exact JWS checks), so nothing more changes")
    return {"settings": settings, "management": management, "faults": pebble.faults,
            "warnings": warnings}


def banner(server: AcmeServer, management: Optional[str] = None,
           challtestsrv: Optional[str] = None, extra: Sequence[str] = (),
           console: bool = False) -> str:
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


def serve(args: argparse.Namespace, planned: Dict[str, Any], out: TextIO,
          stop: threading.Event) -> int:
    from .responders import Http01Responder, TlsAlpn01Responder
    from .standalone.challtestsrv import make_challtestsrv_app

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
                management = _start_management(server, stack, mhost, mport, console=True)
            http01 = tlsalpn01 = None
            if args.http01_responder:
                http01 = stack.enter_context(Http01Responder(host, server.config.http01_port))
            if args.tlsalpn01_responder:
                tlsalpn01 = stack.enter_context(
                    TlsAlpn01Responder(host, server.config.tlsalpn01_port))
            if args.challtestsrv_port >= 0:
                chall = WsgiThread(make_challtestsrv_app(server.dns, http01, tlsalpn01), mhost,
                                   args.challtestsrv_port, None, "challtestsrv API",
                                   limits=HttpLimits.of(server.config)).start()
                stack.callback(chall.stop)
                challtestsrv = f"http://{_show(mhost)}:{chall.port}"
        except (ServerStartError, OSError) as e:
            print(f"pytest-acme: {e}", file=sys.stderr)
            return 1
        if beyond_loopback(mhost):
            for what, url in (("management API", management), ("challtestsrv API", challtestsrv)):
                if url is not None:
                    warning = _exposed(what, mhost, int(url.rsplit(":", 1)[1]),
                                       "leave --management-host out to keep it on "
                                       f"{LOOPBACK}")
                    print(f"pytest-acme: warning: {warning}", file=sys.stderr, flush=True)
        if not args.quiet:
            _log_requests(server, out, args.verbose)
        print(banner(server, management, challtestsrv, console=True), file=out, flush=True)
        stop.wait()
    print("pytest-acme: stopped", file=out, flush=True)
    return 0


def _start_management(server: AcmeServer, stack: ExitStack, host: str, port: int,
                      console: bool = False) -> str:
    """Serve the management API (Pebble's and pytest-acme's), and with ``console`` the
    web console under ``/console/``, until ``stack`` closes; returns its base URL."""
    from .console import make_console_app, mount
    from .standalone.management import make_management_app

    app: Any = make_management_app(server)
    if console:
        app = mount(make_console_app(server), app)
    mgmt = WsgiThread(app, host, port, server.ssl_context,
                      "management API", limits=HttpLimits.of(server.config)).start()
    stack.callback(mgmt.stop)
    scheme = "https" if server.ssl_context else "http"
    return f"{scheme}://{_show(host)}:{mgmt.port}"


def _log_requests(server: AcmeServer, out: TextIO, verbose: bool) -> None:
    """Print one line per ACME request (method, path, status, problem)."""
    lock = threading.Lock()

    def log(record: Any) -> None:
        with lock:
            print(_request_line(record, verbose), file=out, flush=True)

    server.app.request_listeners.append(log)


def _show(host: str) -> str:
    return f"[{host}]" if ":" in host else host


#: What each listener gives to whoever reaches it, for the warning of :func:`_exposed`.
EXPOSES = {
    "management API": "the root's and intermediate's private keys (/root-keys/0, "
                      "/intermediate-keys/0), reset and the server clock",
    "challtestsrv API": "control of the DNS zone and the challenge answers",
}


def _exposed(what: str, host: str, port: int, hint: str, gives: Optional[str] = None) -> str:
    """The warning for a listener other machines can reach: the one helper every
    command uses, naming what the listener hands out (``gives``; by default
    :data:`EXPOSES` of ``what``)."""
    where = "every interface" if host in ("0.0.0.0", "::") else host
    gives = gives or EXPOSES.get(what)
    gives = f" It hands out {gives}." if gives else ""
    return (f"the {what} listens on {_show(host)}:{port} ({where}): anyone who can reach "
            f"this machine can use it, and it needs no authentication.{gives} {hint}")


# -- pytest-acme pebble ---------------------------------------------------------------


def pebble_plan(args: argparse.Namespace, env: Mapping[str, str]) -> Dict[str, Any]:
    """What ``pytest-acme pebble`` will start: settings, management address, faults,
    warnings, from Pebble's flags, config file and environment.

    Raises:
        FileNotFoundError: the config file does not exist (Pebble exits with 1).
        ValueError: the config file or a setting is wrong.
    """
    if not os.path.exists(args.config):
        raise FileNotFoundError(args.config)
    config = read_config(args.config)
    pebble = from_pebble(config, env)
    settings: Dict[str, Any] = {"host": PEBBLE_LISTEN[0], "port": PEBBLE_LISTEN[1]}
    settings.update(pebble.settings)
    # Pebble starts no DNS server; it asks -dnsserver, or else the system resolver.
    # The system resolver would send test names to whatever DNS this machine uses,
    # and the validator may only reach loopback: the built-in zone, where every name
    # is 127.0.0.1 (what pebble-challtestsrv answers by default), stands in for it.
    settings.update(pebble=True, dns_port=None)
    if args.dnsserver:
        settings["dns_server"] = args.dnsserver
    warnings = list(pebble.warnings)
    if args.strict not in ("false", "0", "f", "F", "FALSE", "False"):
        warnings.append("-strict: pytest-acme always behaves strictly (POST-as-GET only, "
                        "exact JWS checks); nothing changes")
    AcmeConfig(**settings)  # refuse bad settings before anything listens
    return {"settings": settings, "management": pebble.management, "faults": pebble.faults,
            "warnings": warnings,
            # The addresses as written, for the lines Pebble prints.
            "written": (str(config.get("listenAddress") or "{}:{}".format(*PEBBLE_LISTEN)),
                        str(config.get("managementListenAddress") or ""))}


def _missing_pebble_config(path: str) -> str:
    return (f"pytest-acme pebble: cannot read the Pebble config file {path!r}: no such file "
            f"in {os.getcwd()}.\n  Pebble reads {PEBBLE_CONFIG} (relative to the working "
            "directory, as in its source tree) unless -config names another. Pass -config "
            "FILE with a file like\n    {\"pebble\": {\"listenAddress\": \"127.0.0.1:14000\", "
            "\"managementListenAddress\": \"127.0.0.1:15000\", \"httpPort\": 5002, "
            "\"tlsPort\": 5001}}\n  (without certificate and privateKey, pytest-acme makes its "
            "own HTTPS certificate), or run `pytest-acme serve`, which needs no file.")


def run_pebble(planned: Dict[str, Any], out: TextIO, stop: threading.Event) -> int:
    """Run ``pytest-acme pebble`` until ``stop`` is set."""
    settings = planned["settings"]
    warnings = list(planned["warnings"])
    if beyond_loopback(settings["host"]):
        warnings.append(_exposed("ACME server", settings["host"], settings["port"],
                                 "set listenAddress to 127.0.0.1:PORT to keep it local"))
    if planned["management"] and beyond_loopback(planned["management"][0]):
        host, port = planned["management"]
        warnings.append(_exposed("management API", host, port,
                                 "set managementListenAddress to 127.0.0.1:PORT to keep it local"))
    for warning in warnings:
        print(f"pytest-acme: warning: {warning}", file=sys.stderr, flush=True)
    with ExitStack() as stack:
        try:
            server = AcmeServer(AcmeConfig(**settings)).start()
            stack.callback(server.close)
            server.faults.add(*planned["faults"])
            management = None
            if planned["management"]:
                management = _start_management(server, stack, *planned["management"])
        except (ServerStartError, OSError) as e:
            print(f"pytest-acme: {e}", file=sys.stderr)
            return 1
        _log_requests(server, out, verbose=False)
        listen, mgmt = planned["written"]
        lines = ["Starting Pebble ACME server"]
        if management:
            mgmt = _with_port(mgmt, int(management.rsplit(":", 1)[1]))
            lines += [f"Management interface listening on: {mgmt}",
                      f"Root CA certificate available at: https://{mgmt}/roots/0"]
            lines += [f"Alternate ({i}) root CA certificate available at: https://{mgmt}/roots/{i}"
                      for i in range(1, server.config.alternate_roots + 1)]
        else:
            lines.append("Management interface is disabled")
        assert server.port is not None  # started above
        listen = _with_port(listen, server.port)
        lines += [f"Listening on: {listen}", f"ACME directory available at: https://{listen}/dir"]
        print(_go_log("Pebble ", lines), file=out, flush=True)
        resolver = (f"-dnsserver {settings['dns_server']}" if settings.get("dns_server") else
                    "the built-in zone (every name is 127.0.0.1; no -dnsserver given)")
        print(banner(server, management, extra=[
            f"  listening:    {_show(server.config.host)}:{server.port} (ACME)"
            + (f", {management.split('://', 1)[1]} (management)" if management else
               "; management interface disabled (no managementListenAddress)"),
            f"  resolver:     {resolver}"]), file=out, flush=True)
        stop.wait()
    print("pytest-acme: stopped", file=out, flush=True)
    return 0


def _with_port(address: str, port: int) -> str:
    """``address`` as written in a config or flag, with the port the OS picked for ``:0``."""
    host, sep, written = address.rpartition(":")
    return f"{host}:{port}" if sep and written == "0" else address


def _go_log(prefix: str, lines: Sequence[str]) -> str:
    """``lines`` as Go's ``log`` package prints them (prefix, local date and time):
    scripts written for Pebble and pebble-challtestsrv wait for these lines (e.g.
    "ACME directory available at:", "Starting challenge servers") before they go on."""
    stamp = time.strftime("%Y/%m/%d %H:%M:%S")
    return "\n".join(f"{prefix}{stamp} {line}" for line in lines)


# -- pytest-acme challtestsrv ---------------------------------------------------------


def run_challtestsrv(args: argparse.Namespace, out: TextIO, stop: threading.Event) -> int:
    """Run ``pytest-acme challtestsrv`` until ``stop`` is set."""
    from .standalone.challtestsrv_server import ChalltestsrvServer, go_addresses

    try:
        where = {name: go_addresses(getattr(args, name), name)
                 for name, _, _ in CHALLTESTSRV_LISTENERS}
        management = go_addresses(args.management, "management")
        server = ChalltestsrvServer(management=management[:1], **where,
                                    default_ipv4=args.defaultIPv4 or None,
                                    default_ipv6=args.defaultIPv6 or None)
    except ValueError as e:
        print(f"pytest-acme challtestsrv: {e}", file=sys.stderr)
        return 2
    with ExitStack() as stack:
        try:
            stack.enter_context(server)
        except (ServerStartError, OSError) as e:
            print(f"pytest-acme challtestsrv: {e}", file=sys.stderr)
            return 1
        print(_go_log("pebble-challtestsrv - ", _challtestsrv_log(args, server.listening)),
              file=out, flush=True)
        lines = ["pytest-acme: pebble-challtestsrv stand-in running"]
        for what, host, port in server.listening:
            scheme = {"management API": "http://", "HTTP-01": "http://",
                      "HTTPS HTTP-01": "https://"}.get(what, "")
            lines.append(f"  {what + ':':<16}{scheme}{_show(host)}:{port}"
                         + ("   (UDP and TCP)" if what == "DNS" else ""))
            if beyond_loopback(host):
                exposed = _exposed(what, host, port, "pass 127.0.0.1:PORT to keep it local",
                                   EXPOSES["challtestsrv API"] if what == "management API"
                                   else None)
                print(f"pytest-acme: warning: {exposed}", file=sys.stderr, flush=True)
        if where["dns01"]:
            lines.append(f"  default A:      {args.defaultIPv4 or '(none)'}; default AAAA: "
                         f"{args.defaultIPv6 or '(none)'}")
        lines.append("Press Ctrl-C to stop.")
        print("\n".join(lines), file=out, flush=True)
        stop.wait()
    print("pytest-acme: stopped", file=out, flush=True)
    return 0


#: How pebble-challtestsrv names each listener when it starts, in its order.
_CHALLTESTSRV_LOG = (("http01", "HTTP-01", "HTTP-01 challenge server"),
                     ("https01", "HTTPS HTTP-01", "HTTPS HTTP-01 challenge server"),
                     ("dns01", "DNS", "TCP and UDP DNS-01 challenge server"),
                     ("tlsalpn01", "TLS-ALPN-01", "TLS-ALPN-01 challenge server"))


def _challtestsrv_log(args: argparse.Namespace, listening: List[Any]) -> List[str]:
    """The start-up lines of pebble-challtestsrv, with each address as the flag
    wrote it (and the port the OS picked for ``:0``)."""
    ports: Dict[str, List[int]] = {}
    for what, _host, port in listening:
        ports.setdefault(what, []).append(port)
    lines = []
    for flag, what, name in _CHALLTESTSRV_LOG:
        written = [item.strip() for item in getattr(args, flag).split(",") if item.strip()]
        lines += [f"Creating {name} on {_with_port(item, port)}"
                  for item, port in zip(written, ports.get(what, []))]
    if args.dns01:
        lines += [f"Answering A queries with {args.defaultIPv4} by default"] if args.defaultIPv4 else []
        lines += [f"Answering AAAA queries with {args.defaultIPv6} by default"] if args.defaultIPv6 else []
    lines.append("Starting challenge servers")
    if ports.get("management API"):
        lines.append("Starting management server on "
                     + _with_port(args.management.strip(), ports["management API"][0]))
    return lines


#: Names under which the pytest-acme executable runs one command: a symlink named
#: ``pebble`` to it is ``pytest-acme pebble`` (see the README).
PROGRAM_NAMES = {"pebble": "pebble", "pebble-challtestsrv": "challtestsrv"}


def main(argv: Optional[List[str]] = None, *, stop: Optional[threading.Event] = None,
         out: Optional[TextIO] = None, env: Optional[Mapping[str, str]] = None) -> int:
    """Run the command line.  ``stop`` ends a command without a signal; ``env``
    replaces ``os.environ`` (for tests).  Run as ``pebble`` or
    ``pebble-challtestsrv`` (``sys.argv[0]``), it is that command."""
    if argv is None:
        command = PROGRAM_NAMES.get(os.path.basename(sys.argv[0]))
        argv = ([command] if command else []) + sys.argv[1:]
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command not in ("serve", "pebble", "challtestsrv", "check-client"):
        parser.print_help()
        return 2
    environ = os.environ if env is None else env
    if args.command == "check-client":
        return check_client(args, environ, out or sys.stdout)
    planned: Dict[str, Any] = {}
    try:
        if args.command == "serve":
            planned = plan(args, environ)
            AcmeConfig(**planned["settings"])
        elif args.command == "pebble":
            planned = pebble_plan(args, environ)
    except FileNotFoundError as e:
        print(_missing_pebble_config(str(e)), file=sys.stderr)
        return 1  # as Pebble, which exits with 1 when it cannot read its config
    except (TypeError, ValueError) as e:
        parser.error(str(e))
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    out = out or sys.stdout
    if args.command == "pebble":
        return run_pebble(planned, out, stop)
    if args.command == "challtestsrv":
        return run_challtestsrv(args, out, stop)
    return serve(args, planned, out, stop)
