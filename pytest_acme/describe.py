"""Inspection as text: ``kubectl describe``-like views of snapshots, and of requests.

In the spirit of ``kubectl describe order`` (cert-manager's Order debugging),
:func:`describe` prints a snapshot (:mod:`.inspection`) with its URL, state,
authorizations, challenges and an Events table (Type, Reason, Age, From,
Message)::

    print(acme_server.describe())           # every order on the server
    print(acme_server.describe_requests())  # the last requests and their problems
    acme_server.describe_json(order_url)    # the same, as JSON-ready data for tools

This is also what a failing test's report shows.  Nothing is cut: long
messages wrap (at :data:`WIDTH` columns) under the column they started in, as
``kubectl describe`` wraps its Events, so the end of a detail (often the part
that says what to do) is always there.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Union

from .inspection import (
    AccountInfo,
    AuthorizationInfo,
    CertificateInfo,
    ChallengeInfo,
    Info,
    OrderInfo,
)
from .protocol import ari
from .protocol.resources import rfc3339
from .protocol.states import Status

if TYPE_CHECKING:  # pragma: no cover
    from .records import RequestRecord, TimelineEvent

#: The "From" column of the Events table.
SOURCE = "pytest-acme"

#: Columns describe text is wrapped at (a word longer than the room left, such as
#: a URL, is kept whole on a line of its own).
WIDTH = 120
#: Width of the field names of a view (``Order:``, ``Expires:``): values start after.
LABEL = 14

_WARNING_WORDS = ("Invalid", "Expired", "Deactivated", "Revoked", "Warning")



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
    """``2026-11-24T12:00:00Z (in 23h)`` or ``... (5m3s ago)``: the relative part
    counted as the Events table counts its Age (:func:`human_duration`)."""
    if at is None:
        return "(none)"
    delta = at - now
    relative = (f"in {human_duration(delta)}" if delta.total_seconds() > 0
                else f"{human_duration(-delta)} ago")
    return f"{rfc3339(at)} ({relative})"


def wrap(text: Any, indent: int, width: int = WIDTH) -> List[str]:
    """``text`` on one line or more, none cut: the first line continues whatever
    precedes it (``indent`` columns), the next lines start with ``indent`` spaces."""
    line = " ".join(str(text).split())
    if not line:
        return [""]
    room = max(width - indent, 30)
    lines = textwrap.wrap(line, room, break_long_words=False, break_on_hyphens=False)
    return [lines[0]] + [" " * indent + rest for rest in lines[1:]]


def truncate(text: Any, limit: int) -> str:
    """One line of at most ``limit`` characters, ending in ``...`` if cut (for
    request paths in a table; details and messages wrap instead)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: max(limit - 3, 0)] + "..."


def problem_text(problem: Optional[Dict[str, Any]]) -> str:
    """``connection: connection error ...`` from a problem document ('' for None),
    whole, subproblems included."""
    if not problem:
        return ""
    kind = str(problem.get("type", "")).rsplit(":", 1)[-1]
    text = f"{kind}: {problem.get('detail', '')}"
    subs = problem.get("subproblems") or []
    if subs:
        text += " (" + "; ".join(
            f"{s.get('identifier', {}).get('value', '?')}: {problem_text(s)}" for s in subs) + ")"
    return " ".join(text.split())


def record_text(record: Dict[str, Any]) -> str:
    """A validation record as a person reads it: what was fetched or looked up, the
    address used and those resolved, and the HTTP response code::

        http://a.test:5002/.well-known/acme-challenge/T; address used 127.0.0.1
        (resolved 127.0.0.1); response 404
    """
    where = record.get("url") or (
        f"{record['hostname']}:{record['port']}" if record.get("port") else
        f"{record.get('hostname', '?')} (DNS)")
    parts = [str(where)]
    if record.get("addressUsed"):
        parts.append(f"address used {record['addressUsed']}")
    resolved = record.get("addressesResolved")
    if resolved is not None:
        parts[-1] += f" (resolved {', '.join(resolved) or 'none'})"
    if "responseCode" in record:
        parts.append(f"response {record['responseCode']}")
    elif record.get("url"):
        parts.append("no response")
    return "; ".join(parts)


def event_type(reason: str) -> str:
    """``Warning`` for failures, expiries, deactivations, revocations and faults."""
    if reason.startswith("Fault") or any(w in reason for w in _WARNING_WORDS):
        return "Warning"
    return "Normal"


def table(header: Sequence[str], rows: Iterable[Sequence[str]], indent: str = "  ",
          width: int = WIDTH) -> List[str]:
    """Columns padded to their widest cell, kubectl style; the last one is not
    padded, and wraps under itself when it does not fit in ``width``."""
    rows = [list(map(str, r)) for r in rows]
    underline = ["-" * len(h) for h in header]
    everything = [list(header), underline] + rows
    widths = [max(len(r[i]) for r in everything) for i in range(len(header) - 1)]
    last = len(indent) + sum(w + 2 for w in widths)
    lines: List[str] = []
    for r in everything:
        cells = [c.ljust(w) for c, w in zip(r, widths)]
        head = indent + "  ".join(cells + [""])
        lines.extend((head + line).rstrip() if i == 0 else line
                     for i, line in enumerate(wrap(r[-1], last, width)))
    return lines


def events_table(events: Sequence["TimelineEvent"], now: dt.datetime) -> List[str]:
    """The Events section: Type, Reason, Age, From and the whole Message."""
    if not events:
        return ["Events:       <none>"]
    rows = [(event_type(e.reason), e.reason, human_duration(now - e.time), SOURCE, e.message)
            for e in events]
    return ["Events:"] + table(("Type", "Reason", "Age", "From", "Message"), rows)


def _field(name: str, value: Any) -> str:
    """``Name:         value``, the value wrapped under itself."""
    label = f"{name + ':':<{LABEL - 1}} "
    return label + "\n".join(wrap(value, len(label)))


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
        detail = (f" (serial {cert.serial_number:x}, notAfter {rfc3339(ari.validity(cert)[1])})"
                  if cert is not None else "")
        lines.append(_field("Certificate", info.certificate_url + detail))
    else:
        lines.append(_field("Certificate", "(none)"))
    lines += _authorizations(info.authorizations, now)
    lines += events_table(info.events, now)
    return lines


def _challenge_rows(challenges: Sequence[ChallengeInfo], now: dt.datetime,
                    indent: str) -> List[str]:
    """One aligned row per challenge (type, status, URL, when validated), its error
    wrapped whole on the lines below."""
    if not challenges:
        return []
    rows = []
    for c in challenges:
        note = f"validated {human_duration(now - c.validated)} ago" if c.validated else ""
        rows.append((c.type, c.status.value, c.url, note))
    lines = table(("Type", "Status", "URL", ""), rows, indent=indent)[2:]
    out = []
    for c, line in zip(challenges, lines):
        out.append(line)
        if c.error:
            pad = len(indent) + 2
            out.append(" " * pad + "\n".join(wrap(problem_text(c.error), pad)))
    return out


def _authorizations(authzs: Sequence[AuthorizationInfo], now: dt.datetime) -> List[str]:
    if not authzs:
        return ["Authorizations: <none>"]
    lines = ["Authorizations:"]
    rows = [(str(a.identifier), _state(a, now), a.url) for a in authzs]
    heads = table(("Identifier", "Status", "URL"), rows)[2:]
    challenges = [c for a in authzs for c in a.challenges]
    # one table for every challenge of the order, so the columns line up across names
    chall_lines = iter(_challenge_rows(challenges, now, "    "))
    for a, head in zip(authzs, heads):
        lines.append(head)
        for c in a.challenges:
            lines.append(next(chall_lines))
            if c.error:
                lines.append(next(chall_lines))
    return lines


def _describe_authz(info: AuthorizationInfo, now: dt.datetime) -> List[str]:
    return [
        _field("Authorization", info.url),
        _field("Account", info.account_url),
        _field("Identifier", str(info.identifier) + (" (wildcard)" if info.wildcard else "")),
        _field("State", _state(info, now)),
        _field("Expires", _when(info.expires, now)),
        _field("Orders", ", ".join(info.order_urls) or "(none)"),
        _field("Created by", "newAuthz (pre-authorization)" if info.preauthorized
               else "newOrder"),
        "Challenges:",
    ] + _challenge_rows(info.challenges, now, "  ")


def _describe_challenge(info: ChallengeInfo, now: dt.datetime) -> List[str]:
    lines = [
        _field("Challenge", info.url),
        _field("Type", info.type),
        _field("State", info.status.value),
        _field("Token", info.token),
        _field("Authz", info.authz_url),
        _field("Validated", _when(info.validated, now)),
        _field("Error", problem_text(info.error) or "(none)"),
    ]
    for record in info.validation_record:
        lines.append(_field("Record", record_text(record)))
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
            problem = f"{r.problem}: {r.detail}"
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


# -- the same, as data -------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A snapshot value as JSON: times in RFC 3339, statuses and identifiers as
    their wire forms, certificates by serial, PEM as text."""
    if isinstance(value, dt.datetime):
        return rfc3339(value)
    if isinstance(value, Status):
        return value.value
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "to_json"):  # an Identifier
        return value.to_json()
    if hasattr(value, "serial_number"):  # an x509.Certificate
        return {"serial": f"{value.serial_number:x}"}
    return value


def _event_json(e: "TimelineEvent", now: dt.datetime) -> Dict[str, Any]:
    return {
        "type": event_type(e.reason), "reason": e.reason, "time": rfc3339(e.time),
        "age": human_duration(now - e.time), "message": e.message, "kind": e.kind, "id": e.id,
        "identifier": e.identifier, "challengeType": e.challenge_type,
        "orders": list(e.order_ids), "account": e.account_id,
    }


def describe_json(info: Info, now: dt.datetime) -> Dict[str, Any]:
    """What :func:`describe` shows, as JSON-ready data (for tools and consoles).

    Every field of the snapshot, with ``kind`` (``order``, ``authorization``,
    ``challenge``, ``account``, ``certificate``); ``state`` the State line's text
    for orders and authorizations; ``record`` each validation record as the
    Record line reads it; events with their ``type`` (Normal or Warning) and
    ``age``; times in RFC 3339.
    """
    kinds = {OrderInfo: "order", AuthorizationInfo: "authorization", ChallengeInfo: "challenge",
             AccountInfo: "account", CertificateInfo: "certificate"}
    kind = kinds.get(type(info))
    if kind is None:
        raise TypeError(f"cannot describe {type(info).__name__}")
    doc: Dict[str, Any] = {"kind": kind}
    for f in fields(info):
        value = getattr(info, f.name)
        if f.name == "events":
            doc["events"] = [_event_json(e, now) for e in value]
        elif f.name == "authorizations":
            doc["authorizations"] = [describe_json(a, now) for a in value]
        elif f.name == "challenges":
            doc["challenges"] = [describe_json(c, now) for c in value]
        else:
            doc[f.name] = _plain(value)
    if isinstance(info, (OrderInfo, AuthorizationInfo)):
        doc["state"] = _state(info, now)
    if isinstance(info, ChallengeInfo):
        doc["records"] = [record_text(r) for r in info.validation_record]
    if isinstance(info, CertificateInfo):
        doc.pop("certificate", None)
        doc["serial"] = f"{info.serial:x}"
    return doc
