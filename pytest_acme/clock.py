"""The server's clock: real time plus an offset that tests move forward.

Every expiry and every time the server reports reads :meth:`Clock.now`, so a
test expires an order with ``server.clock.advance(86400)`` instead of waiting
a day.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Callable, Union

Seconds = Union[int, float, dt.timedelta]


def _as_timedelta(value: Seconds) -> dt.timedelta:
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected seconds (a number) or a timedelta, got {value!r}")
    return dt.timedelta(seconds=value)


class Clock:
    """A clock that starts at real time and can be moved forward.

    Args:
        source: where real time comes from (``datetime.now(timezone.utc)`` by default).

    Example::

        server.clock.advance(3600)               # one hour later
        server.clock.advance(timedelta(days=2))
    """

    def __init__(self, source: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)):
        self._source = source
        self._offset = dt.timedelta(0)
        self._lock = threading.Lock()
        self._moved = threading.Condition(self._lock)
        self._interrupts = 0

    def now(self) -> dt.datetime:
        """The current server time, timezone-aware UTC."""
        return self._source() + self._offset

    @property
    def offset(self) -> dt.timedelta:
        """How far this clock is ahead of real time."""
        return self._offset

    def advance(self, seconds: Seconds) -> dt.datetime:
        """Move the clock forward; returns the new server time.

        Raises:
            ValueError: for a negative amount (server time never goes back, as
                expiry decisions already taken could not be undone).
        """
        delta = _as_timedelta(seconds)
        if delta < dt.timedelta(0):
            raise ValueError(f"the clock only moves forward; got {delta}")
        with self._moved:
            self._offset += delta
            self._moved.notify_all()
        return self.now()

    def wait_until(self, when: dt.datetime) -> bool:
        """Block until server time reaches ``when``: as real time passes, or at once
        when a test advances the clock past it.

        Returns:
            True when the time came; False when :meth:`interrupt` was called first.
        """
        with self._moved:
            interrupts = self._interrupts
            while self._interrupts == interrupts:
                remaining = (when - self.now()).total_seconds()
                if remaining <= 0:
                    return True
                self._moved.wait(remaining)
            return False

    def interrupt(self) -> None:
        """Wake every :meth:`wait_until` with False (the server is resetting or stopping)."""
        with self._moved:
            self._interrupts += 1
            self._moved.notify_all()

    def reset(self) -> None:
        """Back to real time (used by ``AcmeServer.reset()`` between tests)."""
        with self._moved:
            self._offset = dt.timedelta(0)
            self._moved.notify_all()

    def __repr__(self) -> str:
        return f"<Clock {self.now().isoformat()} (real time + {self._offset})>"
