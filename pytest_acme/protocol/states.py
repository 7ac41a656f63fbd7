"""The ACME state machines (RFC 8555 §7.1.6), written as data.

Every status change of every object goes through :func:`transition`, which
looks the step up in :data:`TRANSITIONS`; a step that is not in the table
raises :class:`IllegalTransition` naming the object, its state and the event.

Time-based expiry is *derived*, not stored: :func:`effective_status` tells
what an object reads as at a given instant, so a read never mutates.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Callable, Dict, Iterable, Mapping, Optional, Protocol


class Status(str, enum.Enum):
    """The status of an ACME object (RFC 8555 §7.1.6); equal to its wire string,
    so ``info.status == "valid"`` holds."""

    PENDING = "pending"
    READY = "ready"
    PROCESSING = "processing"
    VALID = "valid"
    INVALID = "invalid"
    DEACTIVATED = "deactivated"
    EXPIRED = "expired"
    REVOKED = "revoked"

    def __str__(self) -> str:
        return self.value


class Event(str, enum.Enum):
    # challenge
    START = "start"  # the client asked for validation
    SUCCEED = "succeed"  # validation passed
    FAIL = "fail"  # validation, or something the object depends on, failed
    # authorization (also FAIL)
    VALIDATE = "validate"  # one of its challenges became valid
    DEACTIVATE = "deactivate"
    REVOKE = "revoke"
    EXPIRE = "expire"
    # order (also FAIL, EXPIRE)
    AUTHORIZED = "authorized"  # every authorization is valid
    FINALIZE = "finalize"  # an acceptable CSR arrived
    ISSUE = "issue"  # the certificate was issued

    def __str__(self) -> str:
        return self.value


S, E = Status, Event

#: ``{kind: {state: {event: next_state}}}``. Anything missing is illegal.
TRANSITIONS: Dict[str, Dict[Status, Dict[Event, Status]]] = {
    "challenge": {
        S.PENDING: {E.START: S.PROCESSING, E.FAIL: S.INVALID},
        S.PROCESSING: {E.SUCCEED: S.VALID, E.FAIL: S.INVALID},
    },
    "authorization": {
        S.PENDING: {
            E.VALIDATE: S.VALID,
            E.FAIL: S.INVALID,
            E.DEACTIVATE: S.DEACTIVATED,
            E.EXPIRE: S.EXPIRED,
        },
        S.VALID: {E.DEACTIVATE: S.DEACTIVATED, E.REVOKE: S.REVOKED, E.EXPIRE: S.EXPIRED},
    },
    "order": {
        S.PENDING: {E.AUTHORIZED: S.READY, E.FAIL: S.INVALID, E.EXPIRE: S.INVALID},
        S.READY: {E.FINALIZE: S.PROCESSING, E.FAIL: S.INVALID, E.EXPIRE: S.INVALID},
        S.PROCESSING: {E.ISSUE: S.VALID, E.FAIL: S.INVALID},
    },
    "account": {
        S.VALID: {E.DEACTIVATE: S.DEACTIVATED, E.REVOKE: S.REVOKED},
    },
}

#: States an object can leave by expiring (the clock passing ``expires``).
EXPIRABLE = {
    "authorization": {S.PENDING: S.EXPIRED, S.VALID: S.EXPIRED},
    "order": {S.PENDING: S.INVALID, S.READY: S.INVALID},
}


class Stateful(Protocol):
    kind: str
    id: str
    status: Status


class IllegalTransition(RuntimeError):
    """A step the state machine does not allow.  Always a server bug."""

    def __init__(self, obj: Stateful, event: Event) -> None:
        table = TRANSITIONS.get(obj.kind, {})
        allowed = ", ".join(e.value for e in table.get(obj.status, {})) or "none"
        super().__init__(
            f"{obj.kind} {obj.id} is {obj.status.value}: event {event.value!r} is not allowed "
            f"(allowed from {obj.status.value}: {allowed})"
        )
        self.obj = obj
        self.event = event


#: Called after every transition with (object, old status, event).
Observer = Callable[[Stateful, Status, Event], None]


def can(obj: Stateful, event: Event) -> bool:
    return event in TRANSITIONS.get(obj.kind, {}).get(obj.status, {})


def transition(obj: Stateful, event: Event, observer: Optional[Observer] = None) -> Status:
    """Apply ``event`` to ``obj``; the only code that changes a status."""
    try:
        new = TRANSITIONS.get(obj.kind, {})[obj.status][event]
    except KeyError:
        raise IllegalTransition(obj, event) from None
    old = obj.status
    obj.status = new
    if observer is not None:
        observer(obj, old, event)
    return new


def whole_seconds(when: dt.datetime) -> dt.datetime:
    """``when`` cut to the whole second: how an ``expires`` is stored.

    ``expires`` goes out as RFC 3339 in whole seconds (RFC 8555 §7.1.3); an
    expiry stored with the same precision makes the instant a client reads the
    instant the server enforces, with no hidden fraction of a second in which an
    order the client sees as expired can still be finalized.
    """
    return when.replace(microsecond=0)


def expired(expires: Optional[dt.datetime], now: dt.datetime) -> bool:
    """Whether an object with this ``expires`` has expired at ``now``: from the
    ``expires`` instant on.  (Boulder and Pebble test ``expires`` before now,
    which differs only at the very instant; a client must not count on it.)"""
    return expires is not None and now >= expires


def effective_status(
    kind: str, status: Status, expires: Optional[dt.datetime], now: dt.datetime
) -> Status:
    """What an object of ``kind`` reads as at ``now``: stored status, or its expiry."""
    if expired(expires, now):
        return EXPIRABLE.get(kind, {}).get(status, status)
    return status


def derive_order_status(
    stored: Status, expires: dt.datetime, authz_statuses: Iterable[Status], now: dt.datetime
) -> Status:
    """An order's status from its own state and its authorizations' (RFC 8555 §7.1.6).

    Before finalization the order follows its authorizations: any authorization
    that is no longer pending or valid (invalid, deactivated, expired, revoked)
    makes the order invalid, and so does the clock passing the order's ``expires``.
    """
    status = effective_status("order", stored, expires, now)
    if status in (S.PENDING, S.READY) and any(s not in (S.PENDING, S.VALID) for s in authz_statuses):
        return S.INVALID
    return status


def table_edges() -> Mapping[str, Iterable[tuple]]:
    """Every (state, event, next) edge per kind; for documentation and tests."""
    return {
        kind: [(s, e, n) for s, events in table.items() for e, n in events.items()]
        for kind, table in TRANSITIONS.items()
    }
