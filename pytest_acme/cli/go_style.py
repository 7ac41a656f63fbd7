"""Go's conventions, which the stand-ins for Pebble's Go programs follow: flags as
Go's ``flag`` package takes them, start-up lines as Go's ``log`` prints them, and
addresses as written with the port the OS picked."""

from __future__ import annotations

import time
from typing import Any, Sequence


def go_flag(group: Any, name: str, **kwargs: Any) -> None:
    """A Go-style flag: Go's ``flag`` package takes ``-name`` and ``--name``, with
    the value as the next word or after ``=``."""
    group.add_argument(f"-{name}", f"--{name}", dest=name, **kwargs)


def with_port(address: str, port: int) -> str:
    """``address`` as written in a config or flag, with the port the OS picked for ``:0``."""
    host, sep, written = address.rpartition(":")
    return f"{host}:{port}" if sep and written == "0" else address


def go_log(prefix: str, lines: Sequence[str]) -> str:
    """``lines`` as Go's ``log`` package prints them (prefix, local date and time):
    scripts written for Pebble and pebble-challtestsrv wait for these lines (e.g.
    "ACME directory available at:", "Starting challenge servers") before they go on."""
    stamp = time.strftime("%Y/%m/%d %H:%M:%S")
    return "\n".join(f"{prefix}{stamp} {line}" for line in lines)
