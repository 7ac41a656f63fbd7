"""``pytest-acme pebble``: Pebble's ``pebble`` command, with its flags, config file,
environment and start-up lines."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from contextlib import ExitStack
from typing import Any, Dict, Mapping, TextIO

from ..config import AcmeConfig
from ..httpd import ServerStartError
from ..server import AcmeServer
from ..standalone.challtestsrv_server import beyond_loopback
from ..standalone.pebble import from_pebble, read_config
from .go_style import go_flag, go_log, with_port
from .listeners import DEFAULT_PORT, exposure_warning, show_host, start_management
from .output import banner, log_requests

#: Where ``pebble`` looks for its config file when ``-config`` names none
#: (relative to the working directory: a Pebble source checkout).
PEBBLE_CONFIG = "test/config/pebble-config.json"
#: Where Pebble's documented config listens, for a config that does not say.
PEBBLE_LISTEN = ("0.0.0.0", DEFAULT_PORT)


def add_parser(sub: Any) -> None:
    """Add ``pebble`` to the subcommands ``sub``."""
    pebble = sub.add_parser(
        "pebble", help="stand in for Pebble's `pebble` command",
        description="Run the ACME server as Debian's or Pebble's `pebble` command does: "
        "the same flags with the same defaults, Pebble's JSON config file (listenAddress, "
        "managementListenAddress, httpPort, tlsPort, certificate, privateKey, ...) and "
        "its PEBBLE_* environment variables. No DNS server and no challtestsrv API start: "
        "pair it with `pebble-challtestsrv` or `pytest-acme challtestsrv`, and pass "
        "-dnsserver their DNS address. Installed as `pebble` (a symlink to pytest-acme), "
        "it runs this command.")
    go_flag(pebble, "config", default=PEBBLE_CONFIG, metavar="FILE",
            help="Pebble's JSON config file, relative to the working directory "
            "(default %(default)r)")
    go_flag(pebble, "strict", nargs="?", const="true", default="false", metavar="BOOL",
            help="Pebble's switch for its stricter checks; accepted, since pytest-acme "
            "always checks strictly")
    go_flag(pebble, "dnsserver", default="", metavar="HOST:PORT",
            help="the DNS server the validator asks, e.g. a challtestsrv's 127.0.0.1:8053; "
            "loopback only. Without it, names resolve in the built-in zone, where every "
            "name is 127.0.0.1")


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


def missing_pebble_config(path: str) -> str:
    """What to say when the config file ``path`` does not exist."""
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
        warnings.append(exposure_warning(
            "ACME server", settings["host"], settings["port"],
            "set listenAddress to 127.0.0.1:PORT to keep it local"))
    if planned["management"] and beyond_loopback(planned["management"][0]):
        host, port = planned["management"]
        warnings.append(exposure_warning(
            "management API", host, port,
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
                management = start_management(server, stack, *planned["management"])
        except (ServerStartError, OSError) as e:
            print(f"pytest-acme: {e}", file=sys.stderr)
            return 1
        log_requests(server, out, verbose=False)
        listen, mgmt = planned["written"]
        lines = ["Starting Pebble ACME server"]
        if management:
            mgmt = with_port(mgmt, int(management.rsplit(":", 1)[1]))
            lines += [f"Management interface listening on: {mgmt}",
                      f"Root CA certificate available at: https://{mgmt}/roots/0"]
            lines += [f"Alternate ({i}) root CA certificate available at: https://{mgmt}/roots/{i}"
                      for i in range(1, server.config.alternate_roots + 1)]
        else:
            lines.append("Management interface is disabled")
        assert server.port is not None  # started above
        listen = with_port(listen, server.port)
        lines += [f"Listening on: {listen}", f"ACME directory available at: https://{listen}/dir"]
        print(go_log("Pebble ", lines), file=out, flush=True)
        resolver = (f"-dnsserver {settings['dns_server']}" if settings.get("dns_server") else
                    "the built-in zone (every name is 127.0.0.1; no -dnsserver given)")
        print(banner(server, management, extra=[
            f"  listening:    {show_host(server.config.host)}:{server.port} (ACME)"
            + (f", {management.split('://', 1)[1]} (management)" if management else
               "; management interface disabled (no managementListenAddress)"),
            f"  resolver:     {resolver}"]), file=out, flush=True)
        stop.wait()
    print("pytest-acme: stopped", file=out, flush=True)
    return 0
