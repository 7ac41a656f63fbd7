"""The kinds of fault: what each one is armed with and what it answers.

A fault is a small dataclass, made by a constructor of :mod:`pytest_acme.faults`;
:class:`~pytest_acme.faults.FaultPlan` decides when one fires, and the fault
says what the client then gets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..protocol import problems


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

    def answer(self, challenge_type: str, identifier: str) -> problems.Problem:
        """The problem the validation it fails on ends with."""
        return problems.from_type(self.problem, self.detail or (
            f"{challenge_type} validation of {identifier} failed (injected fault)"))

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

    def answer(self) -> problems.Problem:
        """The ``badCSR`` the finalize gets."""
        return problems.BadCSR(self.detail)


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

    def answer(self) -> problems.Problem:
        """The problem the order's ``error`` gets."""
        return problems.from_type(self.problem, self.detail)


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

    def answer(self) -> problems.Problem:
        """The ``badNonce`` the request gets."""
        return problems.BadNonce(
            "the nonce was refused (injected fault); retry with the Replay-Nonce of this "
            "response", pebble=("badNonce", "JWS has an invalid anti-replay nonce"))

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

    def answer(self, endpoint: str) -> problems.Problem:
        """The ``rateLimited`` or ``serverInternal`` a request to ``endpoint`` gets."""
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        advice = (f"retry after {self.retry_after} s" if self.retry_after is not None
                  else "retry the request later")
        if self.status == 429:
            return problems.RateLimited(
                f"too many requests to {endpoint} (injected fault); {advice}", headers=headers)
        return problems.ServerInternal(
            f"the server failed on {endpoint} (injected fault, HTTP {self.status}); {advice}",
            headers=headers, status=self.status)

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
