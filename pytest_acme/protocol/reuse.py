"""Which existing authorization a new order may use (RFC 8555 §7.4: "the server
MAY reuse" an authorization the account already holds).

Only the same account's authorization for the same identifier qualifies (a
wildcard only for the same wildcard), and only while it is pending or valid and
has a while left (:func:`reuse_cutoff`: Boulder's rule, so an order is not made
around an authorization about to expire).  Whether a qualifying one is used is the server's policy: never,
always, or a seeded chance per order and identifier; an authorization the client
made through newAuthz is always used, since pre-authorizing is asking for that.
No I/O, no locks: the caller holds the store lock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from .identifiers import Identifier
from .resources import Authorization
from .states import Status


@dataclass(frozen=True)
class ReusePolicy:
    """Rates from 0 (never) to 1 (always) for valid and for pending authorizations."""

    valid: float = 0.0
    pending: float = 0.0

    def rate(self, status: Status) -> float:
        return self.valid if status is Status.VALID else self.pending


def reuse_cutoff(order_lifetime: dt.timedelta) -> dt.timedelta:
    """How long an authorization must still have to be reused: an eighth of the
    order lifetime, at least an hour and at most a day, as Boulder's RA decides."""
    return min(max(order_lifetime / 8, dt.timedelta(hours=1)), dt.timedelta(days=1))


def reusable(
    authzs: Iterable[Authorization],
    account_id: str,
    identifier: Identifier,
    now: dt.datetime,
    policy: ReusePolicy,
    draw: Callable[[float], bool],
    min_left: dt.timedelta = dt.timedelta(0),
) -> Optional[Authorization]:
    """The authorization to reuse for ``identifier``, or None to make a new one.

    Only one expiring after ``now + min_left`` qualifies (see :func:`reuse_cutoff`).
    Among qualifying authorizations a valid one is preferred to a pending one,
    and then the one that expires last; ``draw(rate)`` decides for that one.
    """
    cutoff = now + min_left
    candidates = [
        a for a in authzs
        if a.account_id == account_id and a.identifier == identifier
        and a.status_at(now) in (Status.VALID, Status.PENDING) and a.expires > cutoff
    ]
    if not candidates:
        return None
    best = max(candidates, key=lambda a: (a.status_at(now) is Status.VALID, a.expires))
    if best.preauthorized or draw(policy.rate(best.status_at(now))):
        return best
    return None

