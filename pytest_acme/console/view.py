"""What the console shows, read from a running server's Python API.

This is the console's one adapter to the rest of pytest-acme: the pages never
reach into the server themselves.  Everything here is a snapshot taken under
the server's locks (:mod:`pytest_acme.inspection`), so a page renders from values
that no longer change.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from ..describe import human_duration, problem_text
from ..inspection import AccountInfo, AuthorizationInfo, CertificateInfo, OrderInfo
from ..protocol.states import Status

if TYPE_CHECKING:  # pragma: no cover
    from ..faults import Fault, Fired
    from ..server import AcmeServer
    from ..web.app import RequestRecord

__all__ = [
    "Overview", "overview", "orders", "order", "accounts", "account", "authorizations",
    "authorization", "certificates", "certificate", "requests", "armed_faults", "fired_faults",
    "zone_records", "describe_text", "clock_can_set", "countdown", "problem_text",
]


@dataclass(frozen=True)
class Overview:
    """The numbers of the overview page."""

    directory_url: str
    seed: int
    now: dt.datetime
    offset: dt.timedelta
    validation: str
    accounts: int
    orders_by_status: Dict[str, int]
    certificates: int
    #: Faults that can still fire (a fault that fired its ``times`` stays listed, spent).
    faults_armed: int
    faults_fired: int
    requests: int


def overview(server: "AcmeServer") -> Overview:
    infos = server.orders()
    by_status = Counter(o.status.value for o in infos)
    plan = server.faults
    return Overview(
        directory_url=server.directory_url,
        seed=server.seed,
        now=server.clock.now(),
        offset=server.clock.offset,
        validation=server.config.validation,
        accounts=len(server.accounts()),
        orders_by_status={s.value: by_status.get(s.value, 0) for s in _ORDER_STATUSES},
        certificates=len(_ids(server, "certificates")),
        faults_armed=sum(1 for f in list(plan.faults) if f.active),
        faults_fired=len(list(plan.fired)),
        requests=len(server.requests),
    )


#: The statuses an order can read as (RFC 8555 §7.1.6), in lifecycle order.
_ORDER_STATUSES = (Status.PENDING, Status.READY, Status.PROCESSING, Status.VALID, Status.INVALID)
ORDER_STATUSES = tuple(s.value for s in _ORDER_STATUSES)


def orders(server: "AcmeServer", status: str = "", identifier: str = "") -> List[OrderInfo]:
    """Every order, newest first; only those reading ``status`` and naming an
    identifier that contains ``identifier`` (case-insensitive), when given."""
    wanted = identifier.strip().lower()
    return [o for o in reversed(server.orders())
            if (not status or o.status.value == status)
            and (not wanted or any(wanted in i.value.lower() for i in o.identifiers))]


def _ids(server: "AcmeServer", table: str) -> List[str]:
    """The ids in one table of the store, oldest first (the Python API lists orders
    and accounts, and looks up every other object by URL)."""
    store = server.app.store
    with store.lock:
        return list(getattr(store, table))


def _find(server: "AcmeServer", url: str, kind: type) -> Optional[Any]:
    try:
        info = server.lookup(url)
    except KeyError:
        return None
    return info if isinstance(info, kind) else None


def order(server: "AcmeServer", id: str) -> Optional[OrderInfo]:
    return _find(server, server.urls.order(id), OrderInfo)


def accounts(server: "AcmeServer") -> List[AccountInfo]:
    return list(reversed(server.accounts()))


def account(server: "AcmeServer", id: str) -> Optional[AccountInfo]:
    return _find(server, server.urls.account(id), AccountInfo)


def authorizations(server: "AcmeServer") -> List[AuthorizationInfo]:
    """Every authorization (pre-authorizations too), newest first."""
    found = (authorization(server, i) for i in reversed(_ids(server, "authzs")))
    return [a for a in found if a is not None]


def authorization(server: "AcmeServer", id: str) -> Optional[AuthorizationInfo]:
    return _find(server, server.urls.authz(id), AuthorizationInfo)


def certificates(server: "AcmeServer") -> List[CertificateInfo]:
    """Every certificate issued since the last reset, newest first."""
    found = (certificate(server, i) for i in reversed(_ids(server, "certificates")))
    return [c for c in found if c is not None]


def certificate(server: "AcmeServer", id: str) -> Optional[CertificateInfo]:
    return _find(server, server.urls.certificate(id), CertificateInfo)


def requests(server: "AcmeServer") -> List[Tuple[int, "RequestRecord"]]:
    """The request log, newest first, each with its number since the last reset
    (numbers stay the same as older entries are dropped from the bounded log)."""
    app = server.app
    with app.store.lock:
        records = list(app.requests)
        dropped = app.requests.dropped
    return [(dropped + i, r) for i, r in reversed(list(enumerate(records)))]


def armed_faults(server: "AcmeServer") -> List["Fault"]:
    return list(server.faults.faults)


def fired_faults(server: "AcmeServer") -> List["Fired"]:
    """Firings, newest first."""
    return list(reversed(list(server.faults.fired)))


def zone_records(server: "AcmeServer") -> List[Tuple[str, str, str]]:
    """The DNS zone's explicit records as (name, type, value), by name."""
    return server.dns.records()


def describe_text(server: "AcmeServer", info: Any) -> str:
    """``describe()``'s text of one snapshot."""
    return server.describe(info)


def clock_can_set(server: "AcmeServer") -> bool:
    """Whether this server's clock can be set to an instant (``Clock.set``), not only
    advanced; the console offers the form only then."""
    return callable(getattr(server.clock, "set", None))


def countdown(at: Optional[dt.datetime], now: dt.datetime) -> str:
    """``in 6d23h``, ``5m ago``: how far ``at`` is from the server clock's ``now``."""
    if at is None:
        return ""
    delta = at - now
    if delta.total_seconds() > 0:
        return f"in {human_duration(delta)}"
    return f"{human_duration(-delta)} ago"
