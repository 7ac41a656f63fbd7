"""How reads of pending and processing objects are paced: a poll waits briefly
for a validation about to end (``poll_wait``), and ``Retry-After`` says when to
come back.

RFC 8555 §7.5.1 has a client poll until an authorization or an order is
final; these functions decide how long a poll waits before it is answered, and
the wait it is told about.  No handler: the reply builders and handlers use them.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Iterable, List, Optional

from ..protocol.resources import Challenge
from ..protocol.states import Status

if TYPE_CHECKING:
    from .app import AcmeApp


def running_validations(app: "AcmeApp", challenges: List[Challenge], now: dt.datetime
                        ) -> List[str]:
    """The ids of those ``challenges`` whose validation is running now and will end
    without outside help: not those still inside ``validation_delay``, which stay
    ``processing`` by design (caller holds the lock)."""
    delay = dt.timedelta(seconds=app.config.validation_delay)
    return [c.id for c in challenges if c.status is Status.PROCESSING
            and (c.answered is None or c.answered + delay <= now)]


def settle(app: "AcmeApp", running: List[str]) -> None:
    """Let a read find finished the validations its client started: wait for them,
    at most ``poll_wait`` seconds, holding no lock.

    RFC 8555 §7.5.1 has a client poll until the status is final; a poll answered
    ``processing`` costs it a sleep (a whole second with certbot's ``acme``), while
    the validation behind it, on loopback, ends a few milliseconds later.  A slow
    responder still reads ``processing`` once the wait is over, so every client sees
    the sequence of states it would see without the wait, only sooner.
    """
    if running and app.config.poll_wait > 0:
        app.workers.wait_for(running, app.config.poll_wait)


def validation_wait(app: "AcmeApp", challenges: Iterable[Challenge], now: dt.datetime
                    ) -> Optional[str]:
    """``Retry-After`` seconds when the wait is known (caller holds the lock): until
    the last of ``challenges`` inside ``validation_delay`` is checked, 0 when that
    is less than a second away (RFC 9110 §10.2.3 counts whole seconds).  None when
    no such challenge is processing: the configured value applies."""
    delay = dt.timedelta(seconds=app.config.validation_delay)
    due = [c.answered + delay for c in challenges
           if c.status is Status.PROCESSING and c.answered is not None]
    if not due or max(due) <= now:
        return None
    left = (max(due) - now).total_seconds()
    return "0" if left < 1 else str(math.ceil(left))


#: The statuses a client polls (RFC 8555 §7.5.1): a reply in one says when to ask again.
POLLED = ("pending", "processing")


def retry_after(app: "AcmeApp", status: str, default: int, challenges: Iterable[Challenge],
                now: dt.datetime, *, chosen: Optional[str] = None, started: bool = False
                ) -> Optional[str]:
    """The ``Retry-After`` of a reply about an order, authorization or challenge
    that reads ``status`` (caller holds the lock); the one place it is decided.

    None unless the object is pending or processing.  Otherwise, the first of:
    ``chosen``, a value a fault set (:meth:`~pytest_acme.faults.FaultPlan.order_view`);
    the wait for those of ``challenges`` held back by ``validation_delay``
    (:func:`validation_wait`); 0 for a challenge whose validation has just
    ``started`` while ``poll_wait`` is on, since the next poll finds it done
    (:func:`settle`); and else ``default``, the configured seconds
    (``authz_retry_after`` or ``order_retry_after``).
    """
    if status not in POLLED:
        return None
    value = validation_wait(app, challenges, now) if chosen is None else chosen
    if value is None and started and app.config.poll_wait > 0:
        value = "0"
    return value or str(default)
