"""Inspection and debugging: snapshots of the server's objects, and ``describe`` text.

In the spirit of ``kubectl describe order`` (cert-manager's Order debugging):
a snapshot states what an object *reads as* at the server clock, and
:func:`describe` prints it with its URL, state, authorizations, challenges and
an Events table (Type, Reason, Age, From, Message)::

    print(acme_server.describe())           # every order on the server
    info = acme_server.order(order_url)     # an OrderInfo snapshot
    assert info.status == "invalid"
    print(acme_server.describe_requests())  # the last requests and their problems

Snapshots are frozen dataclasses taken under the store lock: they never change
afterwards, and holding one keeps nothing in the server alive.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Union
from urllib.parse import urlsplit

from cryptography import x509
from werkzeug.exceptions import HTTPException

from .protocol import ari
from .protocol.identifiers import Identifier
from .protocol.resources import (
    Account, Authorization, Certificate, Challenge, Order, rfc3339,
)
from .protocol.states import Status
from .web.routes import RULES, Urls

if TYPE_CHECKING:  # pragma: no cover
    from .web.app import AcmeApp, RequestRecord, TimelineEvent

#: The "From" column of the Events table.
SOURCE = "pytest-acme"

#: Longest message or detail shown on one line of describe text.
MAX_DETAIL = 120

_WARNING_WORDS = ("Invalid", "Expired", "Deactivated", "Revoked")


# -- snapshots -------------------------------------------------------------------


@dataclass(frozen=True)
class ChallengeInfo:
    """One challenge as it reads at the server clock."""

    id: str
    url: str
    authz_url: str
    type: str
    status: Status
    token: str
    error: Optional[Dict[str, Any]] = None
    validated: Optional[dt.datetime] = None
    validation_record: List[Dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class AuthorizationInfo:
    """One authorization; ``status`` is the effective one (expiry applied)."""

    id: str
    url: str
    account_url: str
    identifier: Identifier
    wildcard: bool
    status: Status
    stored_status: Status
    expires: dt.datetime
    challenges: List[ChallengeInfo]
    order_urls: List[str]
    #: Made through newAuthz (pre-authorization, RFC 8555 §7.4.1), not by an order.
    preauthorized: bool = False


@dataclass(frozen=True)
class OrderInfo:
    """One order; ``status`` is the effective one at the server clock (expiry, and
    authorizations that went invalid, applied), ``stored_status`` what was recorded."""

    id: str
    url: str
    account_url: str
    status: Status
    stored_status: Status
    identifiers: List[Identifier]
    created: dt.datetime
    expires: dt.datetime
    not_before: Optional[dt.datetime]
    not_after: Optional[dt.datetime]
    error: Optional[Dict[str, Any]]
    finalize_url: str
    certificate_url: Optional[str]
    certificate: Optional[x509.Certificate]
    authorizations: List[AuthorizationInfo]
    events: List["TimelineEvent"]
    #: The profile the certificate follows (draft-ietf-acme-profiles), if any.
    profile: Optional[str] = None
    #: The certID of the certificate this order replaces (RFC 9773), if any.
    replaces: Optional[str] = None


@dataclass(frozen=True)
class AccountInfo:
    id: str
    url: str
    status: Status
    contact: List[str]
    created: dt.datetime
    order_urls: List[str]
    events: List["TimelineEvent"] = field(default_factory=list)
    #: The external account key id bound at creation (RFC 8555 §7.3.4), if any.
    external_account: Optional[str] = None


@dataclass(frozen=True)
class CertificateInfo:
    id: str
    url: str
    account_url: str
    order_url: str
    serial: int
    not_before: dt.datetime
    not_after: dt.datetime
    issued: dt.datetime
    certificate: x509.Certificate
    chain_pem: bytes
    #: notAfter has passed on the server clock (move it with ``clock.advance``).
    expired: bool = False
    #: When and why it was revoked (RFC 5280 reason code), if it was.
    revoked_at: Optional[dt.datetime] = None
    revocation_reason: Optional[int] = None
    #: Its RFC 9773 certID, and the orders (not invalid) that name it in ``replaces``.
    cert_id: str = ""
    replaced_by: List[str] = field(default_factory=list)


Info = Union[OrderInfo, AuthorizationInfo, ChallengeInfo, AccountInfo, CertificateInfo]


def _challenge(c: Challenge, urls: Urls) -> ChallengeInfo:
    return ChallengeInfo(
        id=c.id,
        url=urls.challenge(c.id),
        authz_url=urls.authz(c.authz_id),
        type=c.type,
        status=c.status,
        token=c.token,
        error=c.error.to_json() if c.error is not None else None,
        validated=c.validated,
        validation_record=copy.deepcopy(list(c.validation_record)),
    )


def _authz(a: Authorization, urls: Urls, now: dt.datetime) -> AuthorizationInfo:
    return AuthorizationInfo(
        id=a.id,
        url=urls.authz(a.id),
        account_url=urls.account(a.account_id),
        identifier=a.identifier,
        wildcard=a.wildcard,
        status=a.status_at(now),
        stored_status=a.status,
        expires=a.expires,
        challenges=[_challenge(c, urls) for c in a.challenges],
        order_urls=[urls.order(o) for o in a.order_ids],
        preauthorized=a.preauthorized,
    )


def _not_after(cert: x509.Certificate) -> dt.datetime:
    value = getattr(cert, "not_valid_after_utc", None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=dt.timezone.utc)


def _not_before(cert: x509.Certificate) -> dt.datetime:
    value = getattr(cert, "not_valid_before_utc", None)
    return value if value is not None else cert.not_valid_before.replace(tzinfo=dt.timezone.utc)


def _order(app: "AcmeApp", o: Order, urls: Urls, now: dt.datetime) -> OrderInfo:
    store = app.store
    cert = store.certificates.get(o.certificate_id) if o.certificate_id else None
    return OrderInfo(
        id=o.id,
        url=urls.order(o.id),
        account_url=urls.account(o.account_id),
        status=o.status_at(now, store.authz),
        stored_status=o.status,
        identifiers=list(o.identifiers),
        created=o.created,
        expires=o.expires,
        not_before=o.not_before,
        not_after=o.not_after,
        error=o.error.to_json() if o.error is not None else None,
        finalize_url=urls.finalize(o.id),
        certificate_url=urls.certificate(o.certificate_id) if o.certificate_id else None,
        certificate=cert.leaf if cert is not None else None,
        authorizations=[_authz(a, urls, now) for a in store.authzs_of_order(o)],
        events=_with_expiry(app, o, [e for e in app.events if o.id in e.order_ids], now),
        profile=o.profile,
        replaces=o.replaces,
    )


def _with_expiry(app: "AcmeApp", o: Order, events: List["TimelineEvent"],
                 now: dt.datetime) -> List["TimelineEvent"]:
    """The stored events plus the expiries the clock has passed (derived at read
    time, as expiry itself is: nothing is stored by looking)."""
    from .web.app import TimelineEvent

    derived = []
    if o.status in (Status.PENDING, Status.READY) and now >= o.expires:
        derived.append(TimelineEvent(o.expires, "order", o.id, "OrderExpired",
                                     f"order expired at {rfc3339(o.expires)}; it reads invalid",
                                     (o.id,)))
    for a in app.store.authzs_of_order(o):
        if a.status in (Status.PENDING, Status.VALID) and now >= a.expires:
            derived.append(TimelineEvent(
                a.expires, "authorization", a.id, "AuthorizationExpired",
                f"authorization for {a.identifier.value} expired at {rfc3339(a.expires)}",
                (o.id,)))
    return sorted(events + derived, key=lambda e: e.time)


def _account(app: "AcmeApp", a: Account, urls: Urls) -> AccountInfo:
    return AccountInfo(
        id=a.id,
        url=urls.account(a.id),
        status=a.status,
        contact=list(a.contact),
        created=a.created,
        order_urls=[urls.order(o) for o in a.order_ids],
        events=[e for e in app.events if e.kind == "account" and e.id == a.id],
        external_account=a.eab_kid,
    )


def _certificate(app: "AcmeApp", c: Certificate, urls: Urls, now: dt.datetime
                 ) -> CertificateInfo:
    cert_id = ari.cert_id_of(c.leaf)
    store = app.store
    return CertificateInfo(
        id=c.id,
        url=urls.certificate(c.id),
        account_url=urls.account(c.account_id),
        order_url=urls.order(c.order_id),
        serial=c.serial,
        not_before=_not_before(c.leaf),
        not_after=_not_after(c.leaf),
        issued=c.issued,
        certificate=c.leaf,
        chain_pem=c.chain_pem,
        expired=now >= _not_after(c.leaf),
        revoked_at=c.revoked_at,
        revocation_reason=c.revocation_reason,
        cert_id=cert_id,
        replaced_by=[urls.order(o.id) for o in store.orders.values() if o.replaces == cert_id
                     and o.status_at(now, store.authz) is not Status.INVALID],
    )


def orders(app: "AcmeApp", urls: Urls) -> List[OrderInfo]:
    """Every order on the server, in creation order."""
    with app.store.lock:
        now = app.clock.now()
        return [_order(app, o, urls, now) for o in app.store.orders.values()]


def accounts(app: "AcmeApp", urls: Urls) -> List[AccountInfo]:
    """Every account on the server, in creation order."""
    with app.store.lock:
        return [_account(app, a, urls) for a in app.store.accounts.values()]


#: URL endpoint -> (store table, what a match of it shows).
_ENDPOINT_KIND = {
    "order": "order",
    "finalize": "order",
    "authz": "authorization",
    "challenge": "challenge",
    "account": "account",
    "account_orders": "account",
    "certificate": "certificate",
}


def find(app: "AcmeApp", urls: Urls, url_or_id: str) -> Optional[Info]:
    """The snapshot of the object at an order, finalize, authorization, challenge,
    account (or account orders) or certificate URL, or with that id; None if none.

    Only the path of a URL is used, so ``localhost`` and ``127.0.0.1`` URLs both work.
    """
    text = str(url_or_id).strip()
    kinds: Sequence[str]
    if "/" in text:
        path = urlsplit(text).path if "://" in text else text
        try:
            endpoint, args = RULES.bind("localhost").match(path, method="POST")
        except HTTPException:
            return None
        kind = _ENDPOINT_KIND.get(endpoint)
        if kind is None:
            return None
        kinds, id = (kind,), args["id"]
    else:
        kinds, id = ("order", "authorization", "challenge", "account", "certificate"), text
    store = app.store
    with store.lock:
        now = app.clock.now()
        for kind in kinds:
            if kind == "order" and id in store.orders:
                return _order(app, store.orders[id], urls, now)
            if kind == "authorization" and id in store.authzs:
                return _authz(store.authzs[id], urls, now)
            if kind == "challenge" and id in store.challenges:
                return _challenge(store.challenges[id], urls)
            if kind == "account" and id in store.accounts:
                return _account(app, store.accounts[id], urls)
            if kind == "certificate" and id in store.certificates:
                return _certificate(app, store.certificates[id], urls, now)
    return None


# -- text --------------------------------------------------------------------------


def human_duration(delta: Union[dt.timedelta, float]) -> str:
    """A duration as kubectl prints ages: ``4s``, ``72s``, ``5m3s``, ``42m``, ``2h``, ``3d``.

    kubectl's rules, except that whole hours start at 60 minutes (kubectl says ``150m``
    up to three hours; this says ``2h30m``).
    """
    total = delta.total_seconds() if isinstance(delta, dt.timedelta) else float(delta)
    seconds = int(total)
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m{s}s" if s else f"{minutes}m"
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        m = minutes % 60
        return f"{hours}h{m}m" if m else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d{h}h" if h else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y{dy}d" if dy else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def _span(delta: dt.timedelta) -> str:
    """A duration in its two largest units: ``23h59m``, ``5m3s``, ``2d4h``, ``7s``."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    first = next((i for i, (n, _) in enumerate(parts) if n), len(parts) - 1)
    return "".join(f"{n}{unit}" for j, (n, unit) in enumerate(parts[first:first + 2])
                   if n or j == 0)


def _when(at: Optional[dt.datetime], now: dt.datetime) -> str:
    """``2026-11-24T12:00:00Z (in 23h59m)`` or ``... (5m3s ago)``."""
    if at is None:
        return "(none)"
    delta = at - now
    relative = f"in {_span(delta)}" if delta.total_seconds() > 0 else f"{_span(delta)} ago"
    return f"{rfc3339(at)} ({relative})"


def truncate(text: Any, limit: int = MAX_DETAIL) -> str:
    """One line of at most ``limit`` characters, ending in ``...`` if cut."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: max(limit - 3, 0)] + "..."


def problem_text(problem: Optional[Dict[str, Any]], limit: int = MAX_DETAIL) -> str:
    """``connection: connection error ...`` from a problem document ('' for None)."""
    if not problem:
        return ""
    kind = str(problem.get("type", "")).rsplit(":", 1)[-1]
    text = f"{kind}: {problem.get('detail', '')}"
    subs = problem.get("subproblems") or []
    if subs:
        text += " (" + "; ".join(
            f"{s.get('identifier', {}).get('value', '?')}: {problem_text(s)}" for s in subs) + ")"
    return truncate(text, limit)


def event_type(reason: str) -> str:
    """``Warning`` for failures, expiries, deactivations, revocations and faults."""
    if reason.startswith("Fault") or any(w in reason for w in _WARNING_WORDS):
        return "Warning"
    return "Normal"


def table(header: Sequence[str], rows: Iterable[Sequence[str]], indent: str = "  ") -> List[str]:
    """Columns padded to their widest cell (the last one is not padded), kubectl style."""
    rows = [list(map(str, r)) for r in rows]
    underline = ["-" * len(h) for h in header]
    everything = [list(header), underline] + rows
    widths = [max(len(r[i]) for r in everything) for i in range(len(header) - 1)]
    lines = []
    for r in everything:
        cells = [c.ljust(w) for c, w in zip(r, widths)] + [r[-1]]
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines


def events_table(events: Sequence["TimelineEvent"], now: dt.datetime) -> List[str]:
    if not events:
        return ["Events:       <none>"]
    rows = [
        (event_type(e.reason), e.reason, human_duration(now - e.time), SOURCE,
         truncate(e.message))
        for e in events
    ]
    return ["Events:"] + table(("Type", "Reason", "Age", "From", "Message"), rows)


def _field(name: str, value: Any) -> str:
    return f"{name + ':':<13} {value}"


def _state(info: Union[OrderInfo, AuthorizationInfo], now: dt.datetime) -> str:
    if info.status == info.stored_status:
        return info.status.value
    if now >= info.expires and info.stored_status in (
        Status.PENDING, Status.READY, Status.VALID
    ) and (info.status in (Status.EXPIRED, Status.INVALID)):
        why = f"expired {_span(now - info.expires)} ago"
    else:
        why = "an authorization is no longer pending or valid"
    return f"{info.status.value} (stored {info.stored_status.value}; {why})"


def _describe_order(info: OrderInfo, now: dt.datetime) -> List[str]:
    lines = [
        _field("Order", info.url),
        _field("Account", info.account_url),
        _field("State", _state(info, now)),
        _field("Identifiers", ", ".join(str(i) for i in info.identifiers)),
        _field("Created", _when(info.created, now)),
        _field("Expires", _when(info.expires, now)),
    ]
    if info.not_before is not None or info.not_after is not None:
        lines.append(_field("Validity", f"notBefore {rfc3339(info.not_before) if info.not_before else '-'}"
                                        f", notAfter {rfc3339(info.not_after) if info.not_after else '-'}"))
    if info.profile is not None:
        lines.append(_field("Profile", info.profile))
    if info.replaces is not None:
        lines.append(_field("Replaces", info.replaces))
    lines.append(_field("Error", problem_text(info.error) or "(none)"))
    if info.certificate_url is not None:
        cert = info.certificate
        detail = (f" (serial {cert.serial_number:x}, notAfter {rfc3339(_not_after(cert))})"
                  if cert is not None else "")
        lines.append(_field("Certificate", info.certificate_url + detail))
    else:
        lines.append(_field("Certificate", "(none)"))
    lines += _authorizations(info.authorizations, now)
    lines += events_table(info.events, now)
    return lines


def _authorizations(authzs: Sequence[AuthorizationInfo], now: dt.datetime) -> List[str]:
    if not authzs:
        return ["Authorizations: <none>"]
    lines = ["Authorizations:"]
    name_w = max(len(str(a.identifier)) for a in authzs)
    status_w = max(len(_state(a, now)) for a in authzs)
    type_w = max((len(c.type) for a in authzs for c in a.challenges), default=0)
    chall_status_w = max((len(c.status.value) for a in authzs for c in a.challenges), default=0)
    for a in authzs:
        lines.append(f"  {str(a.identifier):<{name_w}}  {_state(a, now):<{status_w}}  {a.url}")
        for c in a.challenges:
            if c.error:
                note = problem_text(c.error)
            elif c.validated is not None:
                note = f"validated {human_duration(now - c.validated)} ago"
            else:
                note = ""
            lines.append(f"    {c.type:<{type_w}}  {c.status.value:<{chall_status_w}}  {note}"
                         .rstrip())
    return lines


def _describe_authz(info: AuthorizationInfo, now: dt.datetime) -> List[str]:
    lines = [
        _field("Authorization", info.url),
        _field("Account", info.account_url),
        _field("Identifier", str(info.identifier) + (" (wildcard)" if info.wildcard else "")),
        _field("State", _state(info, now)),
        _field("Expires", _when(info.expires, now)),
        _field("Orders", ", ".join(info.order_urls) or "(none)"),
        _field("Created by", "newAuthz (pre-authorization)" if info.preauthorized
               else "newOrder"),
        "Challenges:",
    ]
    for c in info.challenges:
        lines.append(f"  {c.type:<12} {c.status.value:<10} {c.url}")
        if c.error:
            lines.append(f"    error: {problem_text(c.error)}")
    return lines


def _describe_challenge(info: ChallengeInfo, now: dt.datetime) -> List[str]:
    lines = [
        _field("Challenge", info.url),
        _field("Type", info.type),
        _field("State", info.status.value),
        _field("Token", info.token),
        _field("Authorization", info.authz_url),
        _field("Validated", _when(info.validated, now)),
        _field("Error", problem_text(info.error) or "(none)"),
    ]
    for record in info.validation_record:
        lines.append(_field("Record", truncate(record)))
    return lines


def _describe_account(info: AccountInfo, now: dt.datetime) -> List[str]:
    lines = [
        _field("Account", info.url),
        _field("State", info.status.value),
        _field("Contact", ", ".join(info.contact) or "(none)"),
        _field("Created", _when(info.created, now)),
        _field("Orders", len(info.order_urls)),
    ]
    if info.external_account:
        lines.insert(3, _field("EAB key id", info.external_account))
    lines += [f"  {u}" for u in info.order_urls]
    return lines + events_table(info.events, now)


def _describe_certificate(info: CertificateInfo, now: dt.datetime) -> List[str]:
    return [
        _field("Certificate", info.url),
        _field("Order", info.order_url),
        _field("Account", info.account_url),
        _field("Serial", f"{info.serial:x}"),
        _field("Issued", _when(info.issued, now)),
        _field("NotBefore", _when(info.not_before, now)),
        _field("NotAfter", _when(info.not_after, now)),
        _field("CertID", info.cert_id),
    ] + ([_field("Revoked", f"{_when(info.revoked_at, now)}, reason {info.revocation_reason}")]
         if info.revoked_at is not None else []) + [
        _field("ReplacedBy", url) for url in info.replaced_by]


def describe(info: Info, now: dt.datetime) -> str:
    """``kubectl describe``-like text of a snapshot, with ages relative to ``now``."""
    if isinstance(info, OrderInfo):
        lines = _describe_order(info, now)
    elif isinstance(info, AuthorizationInfo):
        lines = _describe_authz(info, now)
    elif isinstance(info, ChallengeInfo):
        lines = _describe_challenge(info, now)
    elif isinstance(info, AccountInfo):
        lines = _describe_account(info, now)
    elif isinstance(info, CertificateInfo):
        lines = _describe_certificate(info, now)
    else:
        raise TypeError(f"cannot describe {type(info).__name__}")
    return "\n".join(lines)


def describe_requests(
    records: Sequence["RequestRecord"], now: dt.datetime, *, last: int = 20, dropped: int = 0
) -> str:
    """A table of the last ``last`` requests: time, method, path, status, problem, account."""
    total = len(records)
    shown = list(records)[-last:] if last > 0 else []
    if not shown:
        return "Requests:     <none>"
    rows = []
    for r in shown:
        problem = r.problem or ""
        if r.problem and r.detail:
            problem = truncate(f"{r.problem}: {r.detail}", 80)
        rows.append((
            r.time.astimezone(dt.timezone.utc).strftime("%H:%M:%S.%f")[:-3],
            human_duration(now - r.time),
            r.method,
            truncate(r.path, 60),
            str(r.status),
            r.account or "-",
            problem or "-",
        ))
    more = total - len(shown) + dropped
    title = f"Requests (last {len(shown)} of {total + dropped}):" if more else "Requests:"
    return "\n".join(
        [title] + table(("Time", "Age", "Method", "Path", "Status", "Account", "Problem"), rows)
    )
