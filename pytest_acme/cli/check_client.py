"""``pytest-acme check-client``: its flags, and running a client command through the
scenarios."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Mapping, TextIO


def add_parser(sub: Any) -> None:
    """Add ``check-client`` to the subcommands ``sub``."""
    from ..checkclient import runner, scenarios

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
    from ..checkclient import check, listing

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
