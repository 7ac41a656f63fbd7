"""What the server records: the timeline's events, the request log's entries and
the exceptions raised inside it.

:class:`~pytest_acme.web.app.AcmeApp` writes them; inspection
(:mod:`pytest_acme.inspection`), :mod:`pytest_acme.describe` and the console read
them.  Nothing here knows HTTP or ACME's wire format.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Optional

from .protocol.resources import rfc3339


@dataclass(frozen=True)
class TimelineEvent:
    """One entry of the server's event log: what happened, to what, when.

    ``server.events`` lists them all, oldest first; an order's snapshot
    (``server.order(url).events``) holds those about it, its authorizations,
    its challenges and the faults that fired on its requests.

    Attributes:
        time: when it happened, on the server clock (an expiry: the instant the
            object expired, even if the server noticed later).
        kind: what it happened to: ``order``, ``authorization``, ``challenge``,
            ``account``, ``certificate``, ``ocsp``, or ``fault`` (a fault fired).
        id: the id of that object (for a fault: its kind, e.g. ``server_error``).
        reason: a CamelCase name for what happened, one per kind of thing:
            ``Created``, ``ChallengeInvalid``, ``OrderExpired``, ``FaultFired``, ...
            (the Reason column of ``describe()``).
        message: what happened, for a person: for challenges and authorizations
            it names the identifier (and the challenge type).
        order_ids: the orders it concerns (an authorization's or a challenge's
            orders; the order a faulted request named).
        identifier: the identifier value an authorization or challenge event is
            about (``b.example.test``); None for other kinds.
        challenge_type: the challenge type of a challenge event (``http-01``).
        account_id: the account a fault's request named (by its URL, or the
            ``kid`` of its JWS), when it named one; None otherwise.
    """

    time: dt.datetime
    kind: str
    id: str
    reason: str
    message: str
    order_ids: tuple = ()
    identifier: Optional[str] = None
    challenge_type: Optional[str] = None
    account_id: Optional[str] = None


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it (``server.requests``; ``describe_requests()``).

    Attributes:
        time: when it was answered, on the server clock.
        method: the HTTP method (``POST``, ``GET``, ``HEAD``).
        path: the path and query as requested.
        status: the HTTP status of the answer.
        problem: the problem type's last part (``badNonce``) if the answer was a
            problem document, else None.
        account: the id of the account that signed it; for a request answered
            before its signature was checked (an injected fault), the account its
            URL or JWS ``kid`` names.  None when there is none.
        detail: the problem's ``detail``, if any.
    """

    time: dt.datetime
    method: str
    path: str
    status: int
    problem: Optional[str] = None
    account: Optional[str] = None
    detail: Optional[str] = None


def expiry_message(obj: Any, expires: dt.datetime) -> str:
    """What an order's or an authorization's expiry event says (stored or derived)."""
    if obj.kind == "order":
        return f"order expired at {rfc3339(expires)}; it reads invalid"
    return f"authorization for {obj.identifier.value} expired at {rfc3339(expires)}"


@dataclass
class ServerError:
    """An exception raised inside the server, kept for ``AcmeServer.check()``."""

    exception: BaseException
    where: str
    traceback: str = field(default="")
