"""Faults: what a real CA does rarely, on demand, counted and recorded.

Each fault is a small object made by one of the functions here (they live in
:mod:`.constructors`, the kinds in :mod:`.kinds`, the plan that fires them in
:mod:`.plan`), handed to ``server.faults.add(...)`` or to the marker::

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

from .constructors import (
    CONSTRUCTORS,
    ENDPOINTS,
    RACE_ON,
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
from .plan import FaultPlan, Fired, OrderActions, OrderView, Target

__all__ = [
    "CONSTRUCTORS",
    "ENDPOINTS",
    "RACE_ON",
    "BadNonce",
    "EndpointError",
    "ExpireAtFinalize",
    "FailChallenge",
    "FailIssuance",
    "Fault",
    "FaultPlan",
    "Fired",
    "HoldProcessing",
    "Latency",
    "OmitNonce",
    "OrderActions",
    "OrderView",
    "PendingRace",
    "RejectCsr",
    "Target",
    "bad_nonce",
    "expire_at_finalize",
    "fail_challenge",
    "fail_issuance",
    "hold_processing",
    "latency",
    "omit_nonce",
    "pending_race",
    "rate_limited",
    "reject_csr",
    "server_error",
]
