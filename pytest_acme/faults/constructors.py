"""The fault constructors: ``fail_challenge(...)``, ``bad_nonce(...)``, ...

Each checks its arguments now (an unknown endpoint or problem type fails where
the test names it) and makes one fault of :mod:`.kinds`.  Documented and
imported as :mod:`pytest_acme.faults`.
"""

from __future__ import annotations

import inspect
from typing import Optional

from ..protocol import problems
from ..web.routes import ENDPOINT_NAMES
from .kinds import (
    BadNonce,
    EndpointError,
    ExpireAtFinalize,
    FailChallenge,
    FailIssuance,
    HoldProcessing,
    Latency,
    OmitNonce,
    PendingRace,
    RejectCsr,
)

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
