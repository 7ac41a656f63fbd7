"""Faults: what a real CA does rarely, on demand, counted and recorded.

Each fault is a small object made by one of the functions below, handed to
``server.faults.add(...)`` or to the marker::

    server.faults.add(fail_challenge("a.example.test", problem="dns"))
    server.faults.bad_nonce(times=2)                 # the same, as a method
    @pytest.mark.acme(faults=[bad_nonce(rate=0.3)])  # for one test

A fault fires at most ``times`` times (``None``: every time it applies).  Each
firing is counted on the fault (``fault.fired``), listed in
``server.faults.fired`` and written to the event timeline as ``Fault...``.
Faults that involve chance (``bad_nonce(rate=...)``) draw from a generator
seeded from the server's seed (and, in pytest, the test's id), so a failing
run replays exactly with the same ``--acme-seed``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import inspect
import random
import threading
from dataclasses import dataclass, field
from typing import (
    Any,
    Callable,
    Dict,
    List,
    Optional,
    Protocol,
    Tuple,
    TypeVar,
    Union,
)

from .clock import Clock
from .protocol import problems
from .protocol.resources import Order
from .protocol.states import Status
from .web.routes import ENDPOINT_NAMES

#: Endpoint names: every route of :data:`pytest_acme.web.routes.RULES`, taken from
#: the table itself.  The directory's names (``newOrder``, ``revokeCert``, ...) and a
#: few short forms are accepted too.
ENDPOINTS = ENDPOINT_NAMES
_ALIASES = {"newNonce": "new_nonce", "newAccount": "new_account", "newOrder": "new_order",
            "revokeCert": "revoke_cert", "keyChange": "key_change", "newAuthz": "new_authz",
            "renewalInfo": "renewal_info",
            "authorization": "authz", "chall": "challenge", "cert": "certificate"}


def _endpoint(name: Optional[str]) -> Optional[str]:
    if name is None:
        return None
    name = _ALIASES.get(name, name)
    if name not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {name!r}; use one of {', '.join(ENDPOINTS)}")
    return name


def _times(times: Optional[int]) -> Optional[int]:
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ValueError(f"times must be a positive whole number or None (always), got {times!r}")
    return times


@dataclass(eq=False)
class Fault:
    """A fault: what a constructor below makes; the base of every kind.

    Attributes:
        times: how many times it fires at most; None: every time it applies.
        fired: how many times it has fired so far.
    """

    times: Optional[int] = 1
    fired: int = field(default=0, init=False)
    #: The constructor's name (``bad_nonce``): the id of its FaultFired events.
    kind = "fault"

    @property
    def active(self) -> bool:
        """It may fire again (``fired`` has not reached ``times``)."""
        return self.times is None or self.fired < self.times

    def describe(self) -> str:
        """``bad_nonce(rate=0.5; 1/2 fired)``: kind, arguments and firings, as the
        timeline's FaultFired messages and ``repr(server.faults)`` show it."""
        limit = "always" if self.times is None else f"{self.fired}/{self.times} fired"
        return f"{self.kind}({self._args()}; {limit})"

    def _args(self) -> str:
        return ""


@dataclass(eq=False)
class FailChallenge(Fault):
    """Made by :func:`fail_challenge`.

    Attributes:
        identifier: the name whose validation fails; None: any.
        challenge_type: the challenge type that fails; None: any.
        problem: the problem type answered (``connection``, ``dns``, ...).
        detail: the problem's detail; None: a detail naming type and identifier.
    """

    identifier: Optional[str] = None
    challenge_type: Optional[str] = None
    problem: str = "connection"
    detail: Optional[str] = None
    kind = "fail_challenge"

    def matches(self, challenge_type: str, identifier: str) -> bool:
        """It applies to this validation."""
        return ((self.identifier is None or self.identifier == identifier)
                and (self.challenge_type is None or self.challenge_type == challenge_type))

    def _args(self) -> str:
        return f"{self.identifier or 'any name'}, {self.challenge_type or 'any type'}, {self.problem}"


@dataclass(eq=False)
class RejectCsr(Fault):
    """Made by :func:`reject_csr`.

    Attributes:
        detail: the detail of the ``badCSR`` answered.
    """

    detail: str = "the CSR was refused by an injected fault"
    kind = "reject_csr"


@dataclass(eq=False)
class FailIssuance(Fault):
    """Made by :func:`fail_issuance`.

    Attributes:
        problem: the problem type the order's ``error`` gets.
        detail: its detail.
    """

    problem: str = "serverInternal"
    detail: str = "issuance failed (injected fault)"
    kind = "fail_issuance"


@dataclass(eq=False)
class HoldProcessing(Fault):
    """Made by :func:`hold_processing`.

    Attributes:
        polls: reads of the order that show ``processing``; None: no count.
        seconds: server-clock seconds it shows ``processing``; None: no time.
        retry_after: the ``Retry-After`` those reads carry.
        http_date: send ``Retry-After`` as an HTTP-date instead of seconds.
    """

    polls: Optional[int] = None
    seconds: Optional[float] = None
    retry_after: int = 1
    http_date: bool = False
    kind = "hold_processing"

    def _args(self) -> str:
        return f"polls={self.polls}, seconds={self.seconds}, retry_after={self.retry_after}"


@dataclass(eq=False)
class PendingRace(Fault):
    """Made by :func:`pending_race`.

    Attributes:
        polls: reads of a ready order that still show ``pending``.
        on: ``"read"`` or ``"finalize"``: only those count; None: reads and
            finalize attempts alike.
    """

    polls: int = 1
    on: Optional[str] = None
    kind = "pending_race"

    def _args(self) -> str:
        return f"polls={self.polls}" + (f", on {self.on}" if self.on else "")


@dataclass(eq=False)
class BadNonce(Fault):
    """Made by :func:`bad_nonce`.

    Attributes:
        rate: the chance that a signed request is refused (seeded); None: every
            one, until ``times`` is reached.
        endpoint: the endpoint name whose requests it refuses (see
            :data:`ENDPOINTS`); None: any.
    """

    rate: Optional[float] = None
    endpoint: Optional[str] = None
    kind = "bad_nonce"

    def _args(self) -> str:
        args = [f"rate={self.rate}"] if self.rate is not None else []
        return ", ".join(args + ([self.endpoint] if self.endpoint else []))


@dataclass(eq=False)
class EndpointError(Fault):
    """Made by :func:`rate_limited` and :func:`server_error`.

    Attributes:
        endpoint: the endpoint name it answers on (see :data:`ENDPOINTS`); None: any.
        status: the HTTP status: 429 (``rateLimited``) or 500-504 (``serverInternal``).
        retry_after: the ``Retry-After`` seconds sent, if any.
    """

    endpoint: Optional[str] = None
    status: int = 429
    retry_after: Optional[int] = None
    kind = "endpoint_error"

    def _args(self) -> str:
        return f"{self.endpoint or 'any endpoint'}, HTTP {self.status}"


@dataclass(eq=False)
class OmitNonce(Fault):
    """Made by :func:`omit_nonce`.

    Attributes:
        endpoint: the endpoint name whose reply has no ``Replay-Nonce``; None: any.
    """

    endpoint: Optional[str] = None
    kind = "omit_nonce"

    def _args(self) -> str:
        return self.endpoint or "any endpoint"


@dataclass(eq=False)
class ExpireAtFinalize(Fault):
    kind = "expire_at_finalize"


@dataclass(eq=False)
class Latency(Fault):
    """Made by :func:`latency`.

    Attributes:
        seconds: real seconds the request waits before it is handled.
        endpoint: the endpoint name it delays; None: any.
    """

    seconds: float = 1.0
    endpoint: Optional[str] = None
    kind = "latency"

    def _args(self) -> str:
        return f"{self.seconds} s, {self.endpoint or 'any endpoint'}"


# -- the constructors ------------------------------------------------------------


def fail_challenge(identifier: Optional[str] = None, *, type: Optional[str] = None,
                   problem: str = "connection", detail: Optional[str] = None,
                   times: Optional[int] = 1) -> FailChallenge:
    """Fail the validation of challenges for ``identifier`` (any when None) and/or of
    ``type`` ("http-01", ...), with problem type ``problem``.

    Example: ``fail_challenge("a.example.test", problem="dns", times=None)``.
    """
    problems.from_type(problem, "check")  # refuse unknown problem types now
    return FailChallenge(times=_times(times), identifier=identifier, challenge_type=type,
                         problem=problem, detail=detail)


def reject_csr(detail: str = "the CSR was refused by an injected fault",
               times: Optional[int] = 1) -> RejectCsr:
    """Refuse the next finalize with ``badCSR`` (the order goes processing -> invalid).

    Example: ``reject_csr("key too weak for this CA")``.
    """
    return RejectCsr(times=_times(times), detail=detail)


def fail_issuance(problem: str = "serverInternal", detail: str = "issuance failed (injected fault)",
                  times: Optional[int] = 1) -> FailIssuance:
    """Accept the CSR, then fail signing: the order goes processing -> invalid with ``error``.

    Example: ``fail_issuance(detail="HSM unavailable")``.
    """
    problems.from_type(problem, "check")
    return FailIssuance(times=_times(times), problem=problem, detail=detail)


def hold_processing(polls: Optional[int] = None, seconds: Optional[float] = None, *,
                    retry_after: int = 1, http_date: bool = False,
                    times: Optional[int] = 1) -> HoldProcessing:
    """Report the next finalized order as ``processing`` (no certificate yet) for
    ``polls`` reads and/or until ``seconds`` pass on the server clock, with
    ``Retry-After`` in seconds or, with ``http_date=True``, as an HTTP-date.

    Example: ``hold_processing(polls=3, retry_after=2)``.
    """
    if polls is None and seconds is None:
        raise ValueError("hold_processing needs polls=N, seconds=S, or both")
    return HoldProcessing(times=_times(times), polls=polls, seconds=seconds,
                          retry_after=retry_after, http_date=http_date)


#: What a pending_race may be limited to: the order's reads, or its finalize requests.
RACE_ON = ("read", "finalize")


def pending_race(polls: int = 1, times: Optional[int] = 1,
                 on: Optional[str] = None) -> PendingRace:
    """Report a ready order as ``pending`` for ``polls`` reads or finalize attempts
    (finalize gets ``orderNotReady``): the race clients meet after the last
    authorization becomes valid.  ``on="read"`` or ``on="finalize"`` counts only
    those; two faults, one of each, make both happen once.

    Example: ``pending_race(polls=2)``; ``pending_race(on="finalize")``.
    """
    if on not in (None,) + RACE_ON:
        raise ValueError(f"on must be None, 'read' or 'finalize', got {on!r}")
    return PendingRace(times=_times(times), polls=polls, on=on)


def bad_nonce(times: Optional[int] = 1, rate: Optional[float] = None,
              endpoint: Optional[str] = None) -> BadNonce:
    """Refuse signed requests (to ``endpoint``, any when None) with ``badNonce``:
    the next ``times`` of them, or (with ``rate``) each with that probability from
    the seeded generator.

    Example: ``bad_nonce(times=2)``; ``bad_nonce(rate=0.2, times=None)``;
    ``bad_nonce(endpoint="finalize")``.
    """
    if rate is not None and not 0 < rate <= 1:
        raise ValueError(f"rate must be in (0, 1], got {rate}")
    return BadNonce(times=_times(times), rate=rate, endpoint=_endpoint(endpoint))


def rate_limited(endpoint: Optional[str] = None, times: Optional[int] = 1,
                 retry_after: int = 60) -> EndpointError:
    """Answer ``rateLimited`` (429) with ``Retry-After`` on ``endpoint`` (any when None).

    Example: ``rate_limited("new_order", retry_after=3600)``.
    """
    return EndpointError(times=_times(times), endpoint=_endpoint(endpoint), status=429,
                         retry_after=retry_after)


def server_error(endpoint: Optional[str] = None, status: int = 500, times: Optional[int] = 1,
                 retry_after: Optional[int] = None) -> EndpointError:
    """Answer ``serverInternal`` with HTTP 500 or 503 on ``endpoint``.

    Example: ``server_error("finalize", status=503, retry_after=10)``.
    """
    if status not in (500, 502, 503, 504):
        raise ValueError(f"status must be 500, 502, 503 or 504, got {status}")
    return EndpointError(times=_times(times), endpoint=_endpoint(endpoint), status=status,
                         retry_after=retry_after)


def omit_nonce(endpoint: Optional[str] = None, times: Optional[int] = 1) -> OmitNonce:
    """Send the next response (of ``endpoint``) that would carry a ``Replay-Nonce``
    without one (a GET other than newNonce never has one, so it does not count).

    Example: ``omit_nonce("new_account")``.
    """
    return OmitNonce(times=_times(times), endpoint=_endpoint(endpoint))


def expire_at_finalize(times: Optional[int] = 1) -> ExpireAtFinalize:
    """Let the order of the next finalize request expire just before the server
    acts on it: the order was ready when the client last read it, and its
    finalize gets ``orderNotReady`` (the order reads ``invalid``), as at Let's
    Encrypt when an order outlives its expiry between validation and finalize.

    Example: ``expire_at_finalize()``.
    """
    return ExpireAtFinalize(times=_times(times))


def latency(seconds: float, endpoint: Optional[str] = None,
            times: Optional[int] = None) -> Latency:
    """Delay responses (of ``endpoint``) by ``seconds`` of real time, for client
    timeout tests.

    Example: ``latency(2.0, "finalize", times=1)``.
    """
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    return Latency(times=_times(times), seconds=seconds, endpoint=_endpoint(endpoint))


F = TypeVar("F", bound=Fault)

CONSTRUCTORS = (fail_challenge, reject_csr, fail_issuance, hold_processing, pending_race,
                bad_nonce, rate_limited, server_error, omit_nonce, expire_at_finalize, latency)


def _document_endpoints() -> None:
    """Append the endpoint names, taken from the route table, to the docstring of
    every constructor that takes an ``endpoint`` (so the reference lists them
    and a new route shows up there the moment it is added)."""
    names = ", ".join(f"``{name}``" for name in ENDPOINTS)
    aliases = ", ".join(f"``{alias}``" for alias in _ALIASES)
    for constructor in CONSTRUCTORS:
        if "endpoint" in constructor.__code__.co_varnames[:constructor.__code__.co_argcount]:
            constructor.__doc__ = (inspect.cleandoc(constructor.__doc__ or "") + "\n\n"
                                   f"``endpoint`` is one of {names}; or one of the directory's "
                                   f"names and short forms {aliases}.\n")


_document_endpoints()


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

    #: What carries out :meth:`expire_order` and :meth:`invalidate_order`: the
    #: :class:`~pytest_acme.AcmeServer` this plan belongs to (it sets itself here).
    actions: Optional["OrderActions"] = None

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
        if not self.faults:  # the common case: no lock to take
            return None
        with self._lock:
            for fault in self.faults:
                if isinstance(fault, EndpointError) and fault.active and fault.endpoint in (
                        None, endpoint):
                    self._take(fault, endpoint, about=about)
                    headers = ({"Retry-After": str(fault.retry_after)}
                               if fault.retry_after is not None else {})
                    advice = (f"retry after {fault.retry_after} s" if fault.retry_after is not None
                              else "retry the request later")
                    if fault.status == 429:
                        return problems.RateLimited(
                            f"too many requests to {endpoint} (injected fault); {advice}",
                            headers=headers)
                    return problems.ServerInternal(
                        f"the server failed on {endpoint} (injected fault, HTTP {fault.status}); "
                        f"{advice}", headers=headers, status=fault.status)
            if not signed:
                return None
            for fault in self.faults:
                if isinstance(fault, BadNonce) and fault.active and fault.endpoint in (
                        None, endpoint):
                    if fault.rate is not None and self._rng.random() >= fault.rate:
                        continue
                    self._take(fault, endpoint, about=about)
                    return problems.BadNonce(
                        "the nonce was refused (injected fault); retry with the Replay-Nonce "
                        "of this response",
                        pebble=("badNonce", "JWS has an invalid anti-replay nonce"))
        return None

    def latency_for(self, endpoint: str, about: Optional[Target] = None) -> float:
        """Seconds to delay a request to ``endpoint`` (0: none), if a latency fault fires."""
        if not self.faults:  # the common case: no lock to take
            return 0.0
        with self._lock:
            for fault in self.faults:
                if isinstance(fault, Latency) and fault.active and fault.endpoint in (None, endpoint):
                    self._take(fault, endpoint, about=about)
                    return fault.seconds
        return 0.0

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of real time, unless the server resets or stops first."""
        with self._wake:
            interrupts = self._interrupts
            self._wake.wait_for(lambda: self._interrupts != interrupts, timeout=seconds)

    def should_omit_nonce(self, endpoint: str, about: Optional[Target] = None) -> bool:
        """True when an omit_nonce fault fires on this reply."""
        if not self.faults:  # the common case: no lock to take
            return False
        with self._lock:
            for fault in self.faults:
                if isinstance(fault, OmitNonce) and fault.active and fault.endpoint in (
                        None, endpoint):
                    self._take(fault, endpoint, about=about)
                    return True
        return False

    def challenge_problem(self, challenge_type: str, identifier: str,
                          order_ids: Tuple[str, ...]) -> Optional[problems.Problem]:
        """The problem a fail_challenge fault gives this validation, if one fires."""
        with self._lock:
            for fault in self.faults:
                if isinstance(fault, FailChallenge) and fault.active and fault.matches(
                        challenge_type, identifier):
                    self._take(fault, f"{challenge_type} {identifier}",
                               order_ids[0] if order_ids else None)
                    detail = fault.detail or (f"{challenge_type} validation of {identifier} "
                                              "failed (injected fault)")
                    return problems.from_type(fault.problem, detail)
        return None

    def csr_problem(self, order_id: str) -> Optional[problems.Problem]:
        """The badCSR a reject_csr fault gives this finalize, if one fires."""
        with self._lock:
            for fault in self.faults:
                if isinstance(fault, RejectCsr) and fault.active:
                    self._take(fault, "finalize", order_id)
                    return problems.BadCSR(fault.detail)
        return None

    def issuance_problem(self, order_id: str) -> Optional[problems.Problem]:
        """The problem a fail_issuance fault gives this issuance, if one fires."""
        with self._lock:
            for fault in self.faults:
                if isinstance(fault, FailIssuance) and fault.active:
                    self._take(fault, "issuance", order_id)
                    return problems.from_type(fault.problem, fault.detail)
        return None

    def before_finalize(self, order: Order, now: dt.datetime) -> None:
        """Fire an armed expire_at_finalize fault on ``order``, whose finalize request
        has just arrived (the caller holds the store lock): the order expires now."""
        if not self.faults:  # the common case: no lock to take
            return
        with self._lock:
            fault = next((f for f in self.faults
                          if isinstance(f, ExpireAtFinalize) and f.active), None)
            if fault is None:
                return
            self._take(fault, "finalize", order.id)
        self._expire_now(order, now)

    def on_finalize(self, order_id: str, now: dt.datetime) -> None:
        """Bind an armed hold_processing fault to the order being finalized."""
        with self._lock:
            for fault in self.faults:
                if isinstance(fault, HoldProcessing) and fault.active:
                    self._take(fault, "finalize", order_id)
                    until = now + dt.timedelta(seconds=fault.seconds) if fault.seconds else None
                    self._holds[order_id] = _Hold(fault.polls, until, fault.retry_after,
                                                  fault.http_date)
                    return

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
