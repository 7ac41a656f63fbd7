"""Checks and conversions of single setting values, for ``AcmeConfig.__post_init__``:
a choice among names, a reuse rate, an RFC 3339 instant, the validator's DNS
server, an external account MAC key, an OCSP responder URL.

Each raises ``ValueError`` with the setting's name and what it takes.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Any, Optional, Tuple

#: A MAC key as ``eab_keys`` takes it: base64url (or base64) text.
_B64_KEY = re.compile(r"^[A-Za-z0-9+/_-]+=*$")
#: An OCSP responder URL as certificates carry it: an IA5String URI (RFC 5280 §4.2.2.1).
OCSP_URL = re.compile(r"https?://[!-~]+", re.ASCII)


def check_choice(name: str, value: Any, allowed: Tuple[str, ...]) -> None:
    """Refuse ``value`` unless it is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


def is_mac_key(key: str) -> bool:
    """Whether ``key`` is a non-empty base64url MAC key (``eab_keys``' values)."""
    unpadded = key.rstrip("=")
    return bool(_B64_KEY.match(key)) and len(unpadded) % 4 != 1 and bool(unpadded)


def as_rate(name: str, value: Any) -> Optional[float]:
    """``"never"``, ``"always"`` or a probability, as a float (None stays None)."""
    if value is None:
        return None
    words = {"never": 0.0, "always": 1.0}
    if isinstance(value, str) and value in words:
        return words[value]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be 'never', 'always' or a rate from 0 to 1; "
                         f"got {value!r}")
    return float(value)


def check_dns_server(host: str, allowed: "list[str]") -> None:
    """The validator's DNS server is an address it may reach: loopback, or in
    ``validation_allow`` (a host name would need the system's resolver, which
    could send queries anywhere)."""
    try:
        ip = ipaddress.ip_address("127.0.0.1" if host == "localhost" else host)
    except ValueError:
        raise ValueError(f"dns_server must be an IP address and port like '127.0.0.1:8053', "
                         f"not the host name {host!r}") from None
    if not ip.is_loopback and not any(ip in ipaddress.ip_network(n) for n in allowed):
        raise ValueError(f"dns_server {host} is not a loopback address; the validator only "
                         f"reaches loopback unless validation_allow includes it "
                         f"(e.g. validation_allow=['{ip}/{ip.max_prefixlen}'])")


_RFC3339 = re.compile(r"(?P<date>\d{4}-\d\d-\d\d)[Tt](?P<time>\d\d:\d\d:\d\d)"
                      r"(?:\.(?P<fraction>\d+))?(?P<zone>[Zz]|[+-]\d\d:\d\d)")


def as_instant(name: str, value: Any) -> Optional[dt.datetime]:
    """An RFC 3339 text or an aware datetime, as a UTC datetime (None stays None)."""
    if value is None:
        return None
    when = value
    if isinstance(value, str):
        match = _RFC3339.fullmatch(value.strip())
        if match:
            # Spelled out: fromisoformat takes neither "Z" nor every fraction before 3.11.
            fraction = (match["fraction"] or "").ljust(6, "0")[:6]
            zone = match["zone"].upper()
            try:
                when = dt.datetime.fromisoformat(
                    f"{match['date']}T{match['time']}"
                    + (f".{fraction}" if match["fraction"] else "")
                    + ("+00:00" if zone == "Z" else zone))
            except ValueError as e:
                raise ValueError(f"{name}: {value!r} is not a time: {e}") from None
    if not isinstance(when, dt.datetime) or when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{name} must be an RFC 3339 time like '2030-01-01T00:00:00Z' or a "
                         f"timezone-aware datetime, got {value!r}")
    return when.astimezone(dt.timezone.utc)
