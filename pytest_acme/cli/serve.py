"""Running ``pytest-acme serve``: the settings its flags make, then the server with
its management, challtestsrv and console listeners until it is stopped."""

from __future__ import annotations

import argparse
import sys
import threading
from contextlib import ExitStack
from typing import Any, Dict, Mapping, TextIO

from ..config import AcmeConfig, parse_tsig_spec
from ..httpd import HttpLimits, ServerStartError, WsgiThread
from ..server import AcmeServer
from ..standalone.challtestsrv_server import beyond_loopback
from ..standalone.pebble import from_pebble, read_config
from .listeners import (
    DEFAULT_MANAGEMENT_PORT,
    DEFAULT_PORT,
    LOOPBACK,
    exposure_warning,
    show_host,
    start_management,
)
from .output import banner, log_requests

#: The flags that are settings of the same name, passed on when given.
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

#: Likewise, the flags of challenges and CAA.
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
        warnings.append(f"managementListenAddress {show_host(wanted[0])}:{wanted[1]}: serve "
                        f"keeps the management API on {LOOPBACK}; pass --management-host "
                        f"{wanted[0]} to listen there (or run `pytest-acme pebble`)")
    if args.pebble_strict not in (None, "false", "0"):
        warnings.append("-strict: pebble mode is on; pytest-acme always behaves strictly "
                        "(POST-as-GET only, exact JWS checks), so nothing more changes")
    return {"settings": settings, "management": management, "faults": pebble.faults,
            "warnings": warnings}


def serve(args: argparse.Namespace, planned: Dict[str, Any], out: TextIO,
          stop: threading.Event) -> int:
    """Run ``pytest-acme serve`` as ``planned`` (see :func:`plan`) until ``stop`` is set."""
    from ..responders import Http01Responder, TlsAlpn01Responder
    from ..standalone.challtestsrv import make_challtestsrv_app

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
                management = start_management(server, stack, mhost, mport, console=True)
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
                challtestsrv = f"http://{show_host(mhost)}:{chall.port}"
        except (ServerStartError, OSError) as e:
            print(f"pytest-acme: {e}", file=sys.stderr)
            return 1
        if beyond_loopback(mhost):
            for what, url in (("management API", management), ("challtestsrv API", challtestsrv)):
                if url is not None:
                    warning = exposure_warning(what, mhost, int(url.rsplit(":", 1)[1]),
                                               "leave --management-host out to keep it on "
                                               f"{LOOPBACK}")
                    print(f"pytest-acme: warning: {warning}", file=sys.stderr, flush=True)
        if not args.quiet:
            log_requests(server, out, args.verbose)
        print(banner(server, management, challtestsrv, console=True), file=out, flush=True)
        stop.wait()
    print("pytest-acme: stopped", file=out, flush=True)
    return 0
