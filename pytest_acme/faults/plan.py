"""The fault plan of one server (``server.faults``): which faults are armed,
when one fires, and the record of the firings.

The plan is given a clock, a seeded generator and a callback that records each
firing; it changes no order itself (an expire_at_finalize firing asks the
``expire_now`` it is given).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import inspect
import random
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Protocol, Tuple, Type, TypeVar, Union

from ..clock import Clock
from ..protocol import problems
from ..protocol.resources import Order
from ..protocol.states import Status
from .constructors import (
    CONSTRUCTORS,
    bad_nonce,
    expire_at_finalize,
    fail_challenge,
    fail_issuance,
    hold_processing,
    latency,
    omit_nonce,
    pending_race,
    rate_limited,
    reject_csr,
    server_error,
)
from .kinds import (
    BadNonce,
    EndpointError,
    ExpireAtFinalize,
    FailChallenge,
    FailIssuance,
    Fault,
    HoldProcessing,
    Latency,
    OmitNonce,
    PendingRace,
    RejectCsr,
)

F = TypeVar("F", bound=Fault)

#: What a request names, asked only when a fault fires on it: ``(order ids, account id)``.
Target = Callable[[], Tuple[Tuple[str, ...], Optional[str]]]


@dataclass(frozen=True)
class Fired:
    """One firing of a fault (``server.faults.fired``).

    Attributes:
        time: when it fired, on the server clock.
        fault: the fault that fired.
        where: the endpoint name (see :data:`ENDPOINTS`), ``finalize``,
            ``issuance``, ``"<type> <identifier>"`` for a challenge, or the action
            (``expire_order``).
        order_id: the order it hit, when one is known (for an endpoint fault: the
            order its request's URL names, directly or through an authorization,
            challenge or certificate).
        account_id: the account it hit, when known: the owner of the object the URL
            names, else the account of the JWS ``kid`` (not verified: the fault may
            have answered before the signature was checked).
    """

    time: dt.datetime
    fault: Fault
    where: str
    order_id: Optional[str] = None
    account_id: Optional[str] = None


@dataclass
class _Hold:
    polls: Optional[int]
    until: Optional[dt.datetime]
    retry_after: int
    http_date: bool


@dataclass(frozen=True)
class OrderView:
    """How a fault makes an order read.

    Attributes:
        status: the status the client reads.
        retry_after: the ``Retry-After`` value it reads with, if any.
    """

    status: Status
    retry_after: Optional[str]


class OrderActions(Protocol):
    """What changes orders at a test's word (:class:`pytest_acme.AcmeServer`)."""

    def expire_order(self, order: Any) -> None:
        """Make ``order`` expire now."""

    def invalidate_order(self, order: Any, problem: Optional[problems.Problem] = None) -> None:
        """Make ``order`` invalid now, with ``problem`` as its error."""


#: Told of every firing: ``(fault, where, order ids, account id)``; it records it.
OnFire = Callable[[Fault, str, Tuple[str, ...], Optional[str]], None]

#: Makes an order expire at an instant (the caller holds the store lock).
ExpireNow = Callable[[Order, dt.datetime], None]


class FaultPlan:
    """The faults of one server (``server.faults``) and the record of their firings.

    Args:
        clock: the server clock, which times the firings.
        rng: the seeded generator chance is drawn from (see :meth:`reseed`).
        on_fire: told of every firing, after it is added to :attr:`fired` (the
            server writes it to the timeline).
        expire_now: makes an order expire now, for :func:`expire_at_finalize`;
            the plan itself changes no order.
    """

    def __init__(self, clock: Clock, rng: random.Random, on_fire: OnFire,
                 expire_now: ExpireNow) -> None:
        self._clock = clock
        self._on_fire = on_fire
        self._expire_now = expire_now
        self._lock = threading.Lock()
        self._rng = rng
        self._wake = threading.Condition(self._lock)
        self._interrupts = 0
        self.faults: List[Fault] = []
        self.fired: List[Fired] = []
        self._holds: Dict[str, _Hold] = {}
        self._races: Dict[Tuple[str, str], int] = {}
        #: What carries out :meth:`expire_order` and :meth:`invalidate_order`: the
        #: :class:`~pytest_acme.AcmeServer` this plan belongs to (it sets itself here).
        self.actions: Optional[OrderActions] = None

    # -- setting up -------------------------------------------------------------

    def add(self, *faults: Fault) -> Union[Fault, Tuple[Fault, ...]]:
        """Arm ``faults``; returns the fault (or the tuple of them)."""
        for fault in faults:
            if not isinstance(fault, Fault):
                raise TypeError(f"not a fault: {fault!r}; make one with pytest_acme.faults.*")
        with self._lock:
            self.faults.extend(faults)
        return faults[0] if len(faults) == 1 else faults

    def clear(self) -> None:
        """Disarm every fault and forget the record (``reset()`` does this)."""
        with self._lock:
            self.faults.clear()
            self.fired.clear()
            self._holds.clear()
            self._races.clear()
            self._interrupts += 1
            self._wake.notify_all()

    def remove(self, fault: Fault) -> bool:
        """Disarm one fault; its firings stay in :attr:`fired`.  Returns False if it
        was not armed (it was removed already, or never added)."""
        with self._lock:
            if not any(f is fault for f in self.faults):
                return False
            self.faults[:] = [f for f in self.faults if f is not fault]
            return True

    def reseed(self, seed: Any) -> None:
        """Restart the chance generator from ``seed`` (the plugin uses seed + test id)."""
        with self._lock:
            self._rng.seed(seed)

    def draw(self, rate: float) -> bool:
        """True with probability ``rate``, from the seeded chance generator (so a
        seeded behaviour such as authorization reuse replays like the faults do)."""
        if rate >= 1:
            return True
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def interrupt(self) -> None:
        """End every injected latency now (the server is stopping)."""
        with self._lock:
            self._interrupts += 1
            self._wake.notify_all()

    # server.faults.bad_nonce(times=2) is server.faults.add(faults.bad_nonce(times=2)).

    def fail_challenge(self, *args: Any, **kwargs: Any) -> FailChallenge:
        return self._arm(fail_challenge(*args, **kwargs))

    def reject_csr(self, *args: Any, **kwargs: Any) -> RejectCsr:
        return self._arm(reject_csr(*args, **kwargs))

    def fail_issuance(self, *args: Any, **kwargs: Any) -> FailIssuance:
        return self._arm(fail_issuance(*args, **kwargs))

    def hold_processing(self, *args: Any, **kwargs: Any) -> HoldProcessing:
        return self._arm(hold_processing(*args, **kwargs))

    def pending_race(self, *args: Any, **kwargs: Any) -> PendingRace:
        return self._arm(pending_race(*args, **kwargs))

    def bad_nonce(self, *args: Any, **kwargs: Any) -> BadNonce:
        return self._arm(bad_nonce(*args, **kwargs))

    def rate_limited(self, *args: Any, **kwargs: Any) -> EndpointError:
        return self._arm(rate_limited(*args, **kwargs))

    def server_error(self, *args: Any, **kwargs: Any) -> EndpointError:
        return self._arm(server_error(*args, **kwargs))

    def omit_nonce(self, *args: Any, **kwargs: Any) -> OmitNonce:
        return self._arm(omit_nonce(*args, **kwargs))

    def expire_at_finalize(self, *args: Any, **kwargs: Any) -> ExpireAtFinalize:
        return self._arm(expire_at_finalize(*args, **kwargs))

    def latency(self, *args: Any, **kwargs: Any) -> Latency:
        return self._arm(latency(*args, **kwargs))

    def _arm(self, fault: F) -> F:
        self.add(fault)
        return fault

    # -- immediate actions --------------------------------------------------------

    def expire_order(self, order: Any) -> None:
        """Make ``order`` (URL, id or snapshot) expire now, as if its time had come:
        :meth:`pytest_acme.AcmeServer.expire_order`."""
        self._actions().expire_order(order)

    def invalidate_order(self, order: Any, problem: Optional[problems.Problem] = None) -> None:
        """Make ``order`` invalid now (from pending, ready or processing), with ``error``:
        :meth:`pytest_acme.AcmeServer.invalidate_order`."""
        self._actions().invalidate_order(order, problem)

    def _actions(self) -> "OrderActions":
        if self.actions is None:
            raise RuntimeError("this fault plan belongs to no AcmeServer, which changes orders")
        return self.actions

    def record_action(self, action: str, order_id: str, account_id: Optional[str],
                      now: dt.datetime) -> None:
        """Record an action taken on an order at once (``expire_order``) as a firing,
        in :attr:`fired` and the timeline, like a fault's.  Takes no lock (the caller
        may hold the store lock, which a request takes inside the plan's)."""
        self._record(now, Fault(times=None), action, (order_id,), account_id)

    # -- hooks the server calls ------------------------------------------------------

    def _fire(self, kind: Type[F], where: str, applies: Callable[[F], bool] = lambda f: True,
              order_id: Optional[str] = None, about: Optional[Target] = None) -> Optional[F]:
        """Scan, take, record: the first armed fault of ``kind`` that may still fire
        and ``applies`` (asked under the plan's lock) fires, counted on the fault and
        recorded against ``order_id`` or what ``about`` names; None if none fires."""
        if not self.faults:  # the common case: no lock to take
            return None
        with self._lock:
            for fault in self.faults:
                if isinstance(fault, kind) and fault.active and applies(fault):
                    self._take(fault, where, order_id, about)
                    return fault
        return None

    def _take(self, fault: Fault, where: str, order_id: Optional[str] = None,
              about: Optional[Target] = None) -> None:
        fault.fired += 1
        order_ids, account_id = about() if about is not None else (
            (order_id,) if order_id else (), None)
        self._record(self._clock.now(), fault, where, order_ids, account_id)

    def _record(self, now: dt.datetime, fault: Fault, where: str, order_ids: Tuple[str, ...],
                account_id: Optional[str] = None) -> None:
        self.fired.append(Fired(now, fault, where, order_ids[0] if order_ids else None,
                                account_id))
        self._on_fire(fault, where, order_ids, account_id)

    def request_problem(self, endpoint: str, signed: bool,
                        about: Optional[Target] = None) -> Optional[problems.Problem]:
        """An endpoint error or a bad nonce for this request, if one fires."""
        error = self._fire(EndpointError, endpoint, lambda f: f.endpoint in (None, endpoint),
                           about=about)
        if error is not None:
            return error.answer(endpoint)
        if not signed:
            return None
        nonce = self._fire(BadNonce, endpoint, lambda f: f.endpoint in (None, endpoint) and (
            f.rate is None or self._rng.random() < f.rate), about=about)
        return nonce.answer() if nonce is not None else None

    def latency_for(self, endpoint: str, about: Optional[Target] = None) -> float:
        """Seconds to delay a request to ``endpoint`` (0: none), if a latency fault fires."""
        delay = self._fire(Latency, endpoint, lambda f: f.endpoint in (None, endpoint),
                           about=about)
        return delay.seconds if delay is not None else 0.0

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of real time, unless the server resets or stops first."""
        with self._wake:
            interrupts = self._interrupts
            self._wake.wait_for(lambda: self._interrupts != interrupts, timeout=seconds)

    def should_omit_nonce(self, endpoint: str, about: Optional[Target] = None) -> bool:
        """True when an omit_nonce fault fires on this reply."""
        return self._fire(OmitNonce, endpoint, lambda f: f.endpoint in (None, endpoint),
                          about=about) is not None

    def challenge_problem(self, challenge_type: str, identifier: str,
                          order_ids: Tuple[str, ...]) -> Optional[problems.Problem]:
        """The problem a fail_challenge fault gives this validation, if one fires."""
        fault = self._fire(FailChallenge, f"{challenge_type} {identifier}",
                           lambda f: f.matches(challenge_type, identifier),
                           order_id=order_ids[0] if order_ids else None)
        return fault.answer(challenge_type, identifier) if fault is not None else None

    def csr_problem(self, order_id: str) -> Optional[problems.Problem]:
        """The badCSR a reject_csr fault gives this finalize, if one fires."""
        fault = self._fire(RejectCsr, "finalize", order_id=order_id)
        return fault.answer() if fault is not None else None

    def issuance_problem(self, order_id: str) -> Optional[problems.Problem]:
        """The problem a fail_issuance fault gives this issuance, if one fires."""
        fault = self._fire(FailIssuance, "issuance", order_id=order_id)
        return fault.answer() if fault is not None else None

    def before_finalize(self, order: Order, now: dt.datetime) -> None:
        """Fire an armed expire_at_finalize fault on ``order``, whose finalize request
        has just arrived (the caller holds the store lock): the order expires now."""
        if self._fire(ExpireAtFinalize, "finalize", order_id=order.id) is not None:
            self._expire_now(order, now)

    def on_finalize(self, order_id: str, now: dt.datetime) -> None:
        """Bind an armed hold_processing fault to the order being finalized."""
        fault = self._fire(HoldProcessing, "finalize", order_id=order_id)
        if fault is not None:
            until = now + dt.timedelta(seconds=fault.seconds) if fault.seconds else None
            with self._lock:
                self._holds[order_id] = _Hold(fault.polls, until, fault.retry_after,
                                              fault.http_date)

    def race(self, order_id: str, status: Status, *, finalize: bool = False) -> bool:
        """True when a pending_race makes this ready order read as pending (this time)."""
        if status is not Status.READY:
            return False
        on = "finalize" if finalize else "read"
        with self._lock:
            for fault in self.faults:
                if not isinstance(fault, PendingRace) or fault.on not in (None, on):
                    continue
                # One fault per order and scope (both, reads, finalizes): an order
                # whose race has run out is not raced again by the next fault.
                key = (order_id, fault.on or "")
                left = self._races.get(key)
                if left is None:
                    if not fault.active:
                        continue
                    self._take(fault, "finalize" if finalize else "order", order_id)
                    left = fault.polls
                if left > 0:
                    self._races[key] = left - 1
                    return True
        return False

    def order_view(self, order_id: str, status: Status, now: dt.datetime,
                   poll: bool) -> Optional[OrderView]:
        """How faults make an order read right now (None: as it is)."""
        if status in (Status.PROCESSING, Status.VALID):
            with self._lock:
                hold = self._holds.get(order_id)
                if hold is None:
                    return None
                polls_left = hold.polls is not None and hold.polls > 0
                waiting = hold.until is not None and now < hold.until
                if not (polls_left or waiting):
                    del self._holds[order_id]
                    return None
                if poll and hold.polls is not None and hold.polls > 0:
                    hold.polls -= 1
                if hold.http_date:
                    when = now + dt.timedelta(seconds=hold.retry_after)
                    retry = email.utils.format_datetime(when.astimezone(dt.timezone.utc),
                                                        usegmt=True)
                else:
                    retry = str(hold.retry_after)
                return OrderView(Status.PROCESSING, retry)
        if poll and self.race(order_id, status):
            return OrderView(Status.PENDING, None)
        return None

    def __repr__(self) -> str:
        with self._lock:
            armed = ", ".join(f.describe() for f in self.faults) or "none"
        return f"<FaultPlan armed: {armed}; fired {len(self.fired)}>"


def _document_arming() -> None:
    """``server.faults.bad_nonce(...)`` is documented as what it arms."""
    for constructor in CONSTRUCTORS:
        name = constructor.__name__
        getattr(FaultPlan, name).__doc__ = (
            f"Arm :func:`{name}` on this server (same arguments); returns the fault.\n\n"
            + inspect.cleandoc(constructor.__doc__ or ""))


_document_arming()
