"""The network guard: the validator reaches loopback and nothing else unless told.

A test server must never become a way to reach the outside network from a
test machine, whatever a client (or a DNS answer, or a redirect) says.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, List, Sequence

from ..protocol import problems

if TYPE_CHECKING:
    from .base import Network


def check_address(address: str, allowed: Sequence[str], what: str) -> None:
    """Raise a ``connection`` problem unless ``address`` is loopback or allowed.

    Args:
        address: an IP address the validator is about to connect to.
        allowed: extra networks (CIDR strings) from ``validation_allow``.
        what: the target as a person would name it, for the detail.
    """
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        # ::ffff:a.b.c.d is a.b.c.d on the wire; judge it as that (Python versions
        # differ in what is_loopback says of it).
        ip = ip.ipv4_mapped
    if ip.is_loopback or any(ip in ipaddress.ip_network(net) for net in allowed):
        return
    raise problems.Connection(
        f"refusing to connect to {address} for {what}: the validator only reaches "
        "loopback addresses; allow more with validation_allow=['"
        f"{address}/{ip.max_prefixlen}']"
    )


def allowed_addresses(net: Network, resolved: Sequence[str], what: str) -> List[str]:
    """The addresses of ``resolved`` the guard lets through, in order.

    Raises:
        problems.Connection: none of them is allowed (the detail names the first).
    """
    allowed = net.allowed
    out: List[str] = []
    refusal = None
    for address in resolved:
        try:
            check_address(address, allowed, what)
        except problems.Connection as p:
            refusal = refusal or p
            continue
        out.append(address)
    if not out:
        assert refusal is not None
        raise refusal
    return out
