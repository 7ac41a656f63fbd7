"""The ``pytest-acme`` command: the table of its subcommands, and ``main``.

``pytest-acme serve`` runs the server in the foreground until SIGINT or
SIGTERM, for clients in any language, tox runs and manual testing.  It is a
drop-in for Pebble + pebble-challtestsrv: Pebble's flags (``-config``,
``-strict``, ``-dnsserver``), config file, environment variables and default
ports work, and both management APIs are served.

``pytest-acme pebble`` and ``pytest-acme challtestsrv`` are the two programs
separately, each with the flags and defaults of the binary it stands in for
(``pebble``, ``pebble-challtestsrv``), and run as that binary's name.  This
package is the only place that reads the environment.

Each subcommand is a module of this package: :mod:`.serve_flags` and
:mod:`.serve`, :mod:`.pebble`, :mod:`.challtestsrv`, :mod:`.check_client`; what
they share is in :mod:`.listeners`, :mod:`.output` and :mod:`.go_style`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any, Callable, Dict, List, Mapping, Optional, TextIO

from ..config import AcmeConfig
from .challtestsrv import CHALLTESTSRV_LISTENERS, run_challtestsrv
from .challtestsrv import add_parser as add_challtestsrv_parser
from .check_client import add_parser as add_check_client_parser
from .check_client import check_client
from .listeners import (
    DEFAULT_CHALLTESTSRV_PORT,
    DEFAULT_DNS_PORT,
    DEFAULT_MANAGEMENT_PORT,
    DEFAULT_PORT,
    EXPOSES,
    LOOPBACK,
)
from .output import banner
from .pebble import PEBBLE_CONFIG, PEBBLE_LISTEN, missing_pebble_config, pebble_plan, run_pebble
from .pebble import add_parser as add_pebble_parser
from .serve import plan, serve
from .serve_flags import add_parser as add_serve_parser

__all__ = [
    "CHALLTESTSRV_LISTENERS", "DEFAULT_CHALLTESTSRV_PORT", "DEFAULT_DNS_PORT",
    "DEFAULT_MANAGEMENT_PORT", "DEFAULT_PORT", "EXPOSES", "LOOPBACK", "PEBBLE_CONFIG",
    "PEBBLE_LISTEN", "PROGRAM_NAMES", "banner", "check_client", "main", "pebble_plan", "plan",
    "run_challtestsrv", "run_pebble", "serve",
]

#: The subcommands, in the order of the help, each with what adds its parser.
SUBCOMMANDS: Dict[str, Callable[[Any], None]] = {
    "serve": add_serve_parser,
    "pebble": add_pebble_parser,
    "challtestsrv": add_challtestsrv_parser,
    "check-client": add_check_client_parser,
}


def _parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The command line's parser; for a known ``command``, with only that
    subcommand's parser (the others import what they need to describe
    themselves, ``check-client`` its scenarios, which ``serve`` need not wait for)."""
    parser = argparse.ArgumentParser(
        prog="pytest-acme",
        description="An in-process ACME (RFC 8555) test server.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, add_parser in SUBCOMMANDS.items():
        if command not in SUBCOMMANDS or command == name:
            add_parser(sub)
    return parser


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
    parser = _parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    if args.command not in SUBCOMMANDS:
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
        print(missing_pebble_config(str(e)), file=sys.stderr)
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
