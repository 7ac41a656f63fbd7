"""Which existing authorization a new order may use (RFC 8555 §7.4: "the server
MAY reuse" an authorization the account already holds).

Only the same account's authorization for the same identifier qualifies (a
wildcard only for the same wildcard), and only while it is pending or valid and
not expired.  Whether a qualifying one is used is the server's policy: never,
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


def reusable(
    authzs: Iterable[Authorization],
    account_id: str,
    identifier: Identifier,
    now: dt.datetime,
    policy: ReusePolicy,
    draw: Callable[[float], bool],
) -> Optional[Authorization]:
    """The authorization to reuse for ``identifier``, or None to make a new one.

    Among qualifying authorizations a valid one is preferred to a pending one,
    and then the one that expires last; ``draw(rate)`` decides for that one.
    """
    candidates = [
        a for a in authzs
        if a.account_id == account_id and a.identifier == identifier
        and a.status_at(now) in (Status.VALID, Status.PENDING)
    ]
    if not candidates:
        return None
    best = max(candidates, key=lambda a: (a.status_at(now) is Status.VALID, a.expires))
    if best.preauthorized or draw(policy.rate(best.status_at(now))):
        return best
    return None

