"""The flags of ``pytest-acme serve``: one for most settings, Pebble's own, and what
they take."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from ..config import FINALIZE_MODES, KEY_TYPES, VALIDATION_MODES
from .listeners import (
    DEFAULT_CHALLTESTSRV_PORT,
    DEFAULT_DNS_PORT,
    DEFAULT_MANAGEMENT_PORT,
    DEFAULT_PORT,
)


def add_parser(sub: Any) -> None:
    """Add ``serve`` to the subcommands ``sub``."""
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
                       "account 'orders', notBefore/notAfter refused, no newAuthz, terms "
                       "agreement required, contacts checked and not kept, a refused CSR "
                       "leaves the order ready")
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
