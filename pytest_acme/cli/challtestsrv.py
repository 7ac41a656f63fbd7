"""``pytest-acme challtestsrv``: pebble-challtestsrv's command, with its listener
flags, defaults and start-up lines."""

from __future__ import annotations

import argparse
import sys
import threading
from contextlib import ExitStack
from typing import Any, Dict, List, TextIO

from ..httpd import ServerStartError
from ..standalone.challtestsrv_server import beyond_loopback
from .go_style import go_flag, go_log, with_port
from .listeners import EXPOSES, exposure_warning, show_host

#: pebble-challtestsrv's listener flags: name, default, what listens.
CHALLTESTSRV_LISTENERS = (
    ("http01", ":5002", "the HTTP-01 responder"),
    ("https01", ":5003", "the same responder over HTTPS (a redirect target)"),
    ("dns01", ":8053", "the mock DNS server (UDP and TCP)"),
    ("tlsalpn01", ":5001", "the TLS-ALPN-01 responder"),
)


def add_parser(sub: Any) -> None:
    """Add ``challtestsrv`` to the subcommands ``sub``."""
    chall = sub.add_parser(
        "challtestsrv", help="stand in for Pebble's `pebble-challtestsrv` command",
        description="Run pebble-challtestsrv's mock DNS, challenge responders and "
        "management API, with its flags and defaults. Each listener flag is a "
        "comma-separated list of addresses (':8053' is every interface); an empty value "
        "turns it off. Installed as `pebble-challtestsrv` (a symlink to pytest-acme), it "
        "runs this command.")
    for name, default, what in CHALLTESTSRV_LISTENERS:
        go_flag(chall, name, default=default, metavar="ADDRS",
                help=f"where {what} listens: host:port, comma-separated; '' for "
                "nowhere (default %(default)r)")
    go_flag(chall, "management", default=":8055", metavar="ADDR",
            help="where the management API listens: host:port (default %(default)r)")
    go_flag(chall, "defaultIPv4", default="127.0.0.1", metavar="IP",
            help="the A record of names without one of their own; '' for none "
            "(default %(default)r)")
    go_flag(chall, "defaultIPv6", default="::1", metavar="IP",
            help="the AAAA record of names without one of their own; '' for none "
            "(default %(default)r)")


def run_challtestsrv(args: argparse.Namespace, out: TextIO, stop: threading.Event) -> int:
    """Run ``pytest-acme challtestsrv`` until ``stop`` is set."""
    from ..standalone.challtestsrv_server import ChalltestsrvServer, go_addresses

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
        print(go_log("pebble-challtestsrv - ", _challtestsrv_log(args, server.listening)),
              file=out, flush=True)
        lines = ["pytest-acme: pebble-challtestsrv stand-in running"]
        for what, host, port in server.listening:
            scheme = {"management API": "http://", "HTTP-01": "http://",
                      "HTTPS HTTP-01": "https://"}.get(what, "")
            lines.append(f"  {what + ':':<16}{scheme}{show_host(host)}:{port}"
                         + ("   (UDP and TCP)" if what == "DNS" else ""))
            if beyond_loopback(host):
                exposed = exposure_warning(
                    what, host, port, "pass 127.0.0.1:PORT to keep it local",
                    EXPOSES["challtestsrv API"] if what == "management API" else None)
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
        lines += [f"Creating {name} on {with_port(item, port)}"
                  for item, port in zip(written, ports.get(what, []))]
    if args.dns01:
        for rtype, default in (("A", args.defaultIPv4), ("AAAA", args.defaultIPv6)):
            if default:
                lines.append(f"Answering {rtype} queries with {default} by default")
    lines.append("Starting challenge servers")
    if ports.get("management API"):
        lines.append("Starting management server on "
                     + with_port(args.management.strip(), ports["management API"][0]))
    return lines
