"""The scenarios of ``pytest-acme check-client``, as data.

Each scenario is the misbehaviour of a real CA, made from the fault objects of
:mod:`pytest_acme.faults` and a few settings, plus what a good client does about
it (``expect``) and how the report tells the story (``story``).  A scenario's
faults are made fresh for every run, since a fault counts its own firings.

To add one, append a :class:`Scenario` to :data:`SCENARIOS`; the command, the
``--scenario`` choices, the tests and the docs' table all read this tuple.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from .. import faults
from ..faults import Fault

#: What a good client ends with.
CERTIFICATE = "certificate"  # exit 0, and it downloaded a certificate for the names it ordered
FAILURE = "failure"          # the order cannot succeed: exit non-zero, without a certificate
EITHER = "either"            # start over and get the certificate, or exit non-zero without one

#: How the report tells what the server saw (see :mod:`.judge`).
STORIES = ("plain", "retry", "poll", "nonce", "chains", "restart")


def _none() -> Sequence[Fault]:
    return ()


@dataclass(frozen=True)
class Scenario:
    """One misbehaviour of the CA and what a client should do about it.

    Args:
        name: the ``--scenario`` name.
        what: what happens, in one line (the docs' table and ``--list``).
        faults: makes the faults armed for one run (fresh objects each time).
        settings: :class:`~pytest_acme.AcmeConfig` fields for this scenario's server.
        expect: :data:`CERTIFICATE`, :data:`FAILURE` or :data:`EITHER`.
        story: how the summary line reads the requests (one of :data:`STORIES`).
        problems: the problem types (short names) whose handling the story follows.
        retry_after: the Retry-After the fault asks for, in seconds, to compare
            the client's waits with.
        http_date: the fault sends that Retry-After as an HTTP-date (whole
            seconds, so a client may rightly wait up to a second less).
    """

    name: str
    what: str
    faults: Callable[[], Sequence[Fault]] = _none
    settings: Dict[str, Any] = field(default_factory=dict)
    expect: str = CERTIFICATE
    story: str = "plain"
    problems: Tuple[str, ...] = ()
    retry_after: Optional[float] = None
    http_date: bool = False

    def __post_init__(self) -> None:
        if self.expect not in (CERTIFICATE, FAILURE, EITHER):
            raise ValueError(f"scenario {self.name}: unknown expect {self.expect!r}")
        if self.story not in STORIES:
            raise ValueError(f"scenario {self.name}: unknown story {self.story!r}")


SCENARIOS: Tuple[Scenario, ...] = (
    Scenario("baseline", "nothing goes wrong"),
    Scenario(
        "bad-nonce", "badNonce on the first newOrder and the first finalize",
        lambda: (faults.bad_nonce(endpoint="new_order"), faults.bad_nonce(endpoint="finalize")),
        story="retry", problems=("badNonce",)),
    Scenario(
        "rate-limited", "429 rateLimited with Retry-After: 2 on the first newOrder",
        lambda: (faults.rate_limited("new_order", retry_after=2),),
        story="retry", problems=("rateLimited",), retry_after=2),
    Scenario(
        "server-error", "503 with Retry-After: 1 on the first finalize",
        lambda: (faults.server_error("finalize", status=503, retry_after=1),),
        story="retry", problems=("serverInternal",), retry_after=1),
    Scenario(
        "retry-after-date",
        "finalize answers processing with Retry-After as an HTTP-date, 2 s ahead, twice",
        lambda: (faults.hold_processing(polls=1, retry_after=2, http_date=True),),
        story="poll", retry_after=2, http_date=True),
    Scenario(
        "slow-processing", "the order stays processing for 3 polls (Retry-After: 1)",
        lambda: (faults.hold_processing(polls=3, retry_after=1),),
        story="poll", retry_after=1),
    Scenario(
        "pending-race",
        "the ready order reads pending once, and the first finalize gets orderNotReady",
        lambda: (faults.pending_race(on="read"), faults.pending_race(on="finalize")),
        story="retry", problems=("orderNotReady",)),
    Scenario(
        "missing-nonce", "the newOrder response lacks Replay-Nonce",
        lambda: (faults.omit_nonce("new_order"),), story="nonce"),
    Scenario(
        "alternate-chain",
        'two chains offered with Link: rel="alternate"; the client must get a valid chain',
        settings={"alternate_roots": 1}, story="chains"),
    Scenario(
        "expired-order",
        "the order expires between the last validation and finalize; the client must "
        "start over or fail cleanly",
        lambda: (faults.expire_at_finalize(),), expect=EITHER, story="restart",
        problems=("orderNotReady",)),
    Scenario(
        "failed-challenge",
        "the first validation fails with unauthorized; the client must fail cleanly or "
        "start over",
        lambda: (faults.fail_challenge(problem="unauthorized"),), expect=EITHER,
        story="restart", problems=("unauthorized",)),
    Scenario(
        "challenge-always-fails",
        "every validation fails with unauthorized: the client must exit non-zero, "
        "without a certificate",
        lambda: (faults.fail_challenge(problem="unauthorized", times=None),), expect=FAILURE,
        story="restart", problems=("unauthorized",)),
    Scenario(
        "issuance-failed",
        "the CA fails to sign after finalize (the order goes invalid with serverInternal); "
        "the client must fail cleanly or start over",
        lambda: (faults.fail_issuance(),), expect=EITHER, story="restart",
        problems=("serverInternal",)),
)

NAMES: Tuple[str, ...] = tuple(s.name for s in SCENARIOS)


def by_name(names: Sequence[str]) -> Tuple[Scenario, ...]:
    """The scenarios named, in the order given (all of them for none), once each.

    Raises:
        ValueError: a name that is no scenario, with the list of the right ones.
    """
    if not names:
        return SCENARIOS
    table = {s.name: s for s in SCENARIOS}
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"unknown scenario {', '.join(map(repr, unknown))}; choose from "
                         f"{', '.join(NAMES)}")
    return tuple(table[n] for n in dict.fromkeys(names))
