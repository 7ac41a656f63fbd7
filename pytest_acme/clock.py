"""The server's clock: real time plus an offset that tests move, or a pinned instant.

Every expiry and every time the server reports reads :meth:`Clock.now`, so a
test expires an order with ``server.clock.advance(86400)`` instead of waiting
a day, and pins time with ``server.clock.freeze()`` (or ``with
server.clock.frozen():``) when it compares figures the server computed.
The marker and ini settings ``clock_frozen`` and ``clock_start`` start each test
frozen, or at a chosen instant (see :class:`pytest_acme.AcmeConfig`).

Server time never goes back: decisions already taken on it (an order
expired, a nonce too old) could not be undone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from typing import Callable, Iterator, Optional, Union

Seconds = Union[int, float, dt.timedelta]


def _as_timedelta(value: Seconds) -> dt.timedelta:
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected seconds (a number) or a timedelta, got {value!r}")
    return dt.timedelta(seconds=value)


def _as_instant(when: dt.datetime) -> dt.datetime:
    if not isinstance(when, dt.datetime):
        raise TypeError(f"expected a timezone-aware datetime, got {when!r}")
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when.isoformat()} has no timezone; give one, e.g. "
                         "datetime(2030, 1, 1, tzinfo=timezone.utc)")
    return when.astimezone(dt.timezone.utc)


def _real_time() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Clock:
    """A clock that starts at real time, can be moved forward, and can be frozen.

    Running, it reads real time plus :attr:`offset`; frozen, it reads one
    instant until a test moves it (:meth:`advance`, :meth:`set`) or lets it
    run again (:meth:`resume`, which continues from that instant).

    Args:
        source: where real time comes from (``datetime.now(timezone.utc)`` by default).

    Example::

        server.clock.advance(3600)               # one hour later
        server.clock.advance(timedelta(days=2))
        server.clock.set(datetime(2031, 1, 1, tzinfo=timezone.utc))
        with server.clock.frozen():              # no time passes in here
            ...
    """

    def __init__(self, source: Callable[[], dt.datetime] = _real_time):
        self._source = source
        self._offset = dt.timedelta(0)
        self._frozen_at: Optional[dt.datetime] = None
        self._lock = threading.Lock()
        self._moved = threading.Condition(self._lock)
        self._interrupts = 0

    def now(self) -> dt.datetime:
        """The current server time, timezone-aware UTC."""
        frozen = self._frozen_at
        return frozen if frozen is not None else self._source() + self._offset

    @property
    def offset(self) -> dt.timedelta:
        """How far this clock is ahead of real time (negative after a frozen
        spell: resuming continues from the frozen instant)."""
        frozen = self._frozen_at
        return self._offset if frozen is None else frozen - self._source()

    @property
    def is_frozen(self) -> bool:
        """True between :meth:`freeze` and :meth:`resume`."""
        return self._frozen_at is not None

    def advance(self, seconds: Seconds) -> dt.datetime:
        """Move the clock forward by ``seconds`` (a number or a timedelta); returns
        the new server time.  A frozen clock stays frozen, at the later instant.

        Raises:
            ValueError: for a negative amount (server time never goes back).
            TypeError: for anything but a number or a timedelta.
        """
        delta = _as_timedelta(seconds)
        if delta < dt.timedelta(0):
            raise ValueError(f"the clock only moves forward; got {delta}")
        with self._moved:
            if self._frozen_at is not None:
                self._frozen_at += delta
            else:
                self._offset += delta
            self._moved.notify_all()
        return self.now()

    def set(self, when: dt.datetime) -> dt.datetime:
        """Jump to the instant ``when`` (a timezone-aware datetime); returns it in UTC.
        A frozen clock stays frozen there; a running one runs on from there.

        Raises:
            ValueError: ``when`` is before the current server time (server time
                never goes back: move it forward, or start the test there with
                the ``clock_start`` setting), or has no timezone.
            TypeError: ``when`` is not a datetime.
        """
        when = _as_instant(when)
        with self._moved:
            now = self.now()
            if when < now:
                raise ValueError(
                    f"the clock only moves forward: it reads {now.isoformat()}, "
                    f"{when.isoformat()} is {now - when} earlier; to start a test at an "
                    "earlier instant use the clock_start setting")
            if self._frozen_at is not None:
                self._frozen_at = when
            else:
                self._offset = when - self._source()
            self._moved.notify_all()
        return when

    def freeze(self) -> dt.datetime:
        """Stop following real time: :meth:`now` reads the same instant until a
        test moves it (:meth:`advance`, :meth:`set`) or calls :meth:`resume`.
        Returns the frozen instant; freezing a frozen clock changes nothing."""
        with self._moved:
            if self._frozen_at is None:
                self._frozen_at = self._source() + self._offset
            return self._frozen_at

    def resume(self) -> dt.datetime:
        """Follow real time again, from the instant the clock reads now (no jump);
        returns it.  Resuming a running clock changes nothing."""
        with self._moved:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - self._source()
                self._frozen_at = None
                self._moved.notify_all()
            return self.now()

    @contextlib.contextmanager
    def frozen(self) -> Iterator[dt.datetime]:
        """``with clock.frozen() as now:``: frozen inside the block (``now`` is the
        frozen instant), running again after it, unless it was frozen before."""
        was_frozen = self.is_frozen
        when = self.freeze()
        try:
            yield when
        finally:
            if not was_frozen:
                self.resume()

    def wait_until(self, when: dt.datetime) -> bool:
        """Block until server time reaches ``when``: as real time passes, or at once
        when a test moves the clock past it (a frozen clock waits for that).

        Returns:
            True when the time came; False when :meth:`interrupt` was called first.
        """
        with self._moved:
            interrupts = self._interrupts
            while self._interrupts == interrupts:
                remaining = (when - self.now()).total_seconds()
                if remaining <= 0:
                    return True
                self._moved.wait(None if self._frozen_at is not None else remaining)
            return False

    def interrupt(self) -> None:
        """Wake every :meth:`wait_until` with False (the server is resetting or stopping)."""
        with self._moved:
            self._interrupts += 1
            self._moved.notify_all()

    def reset(self, start: Optional[dt.datetime] = None, frozen: bool = False) -> None:
        """Back to real time (``AcmeServer.reset()`` does this between tests), or to
        ``start`` (which may be in the past: nothing older is kept), frozen if asked."""
        with self._moved:
            now = self._source()
            self._offset = _as_instant(start) - now if start is not None else dt.timedelta(0)
            self._frozen_at = now + self._offset if frozen else None
            self._moved.notify_all()

    def __repr__(self) -> str:
        state = "frozen" if self.is_frozen else f"real time + {self._offset}"
        return f"<Clock {self.now().isoformat()} ({state})>"
