"""Judging a run from what the server saw, never from the client's output.

A run is an :class:`Observation`: how the command ended, every request the
server answered, every fault that fired and every order with its certificate.
:func:`judge` turns it into a verdict and one line of what happened, e.g.
"retried finalize after 1.0 s" or "gave up after badNonce on newOrder".
Everything here is a pure function of its arguments, so the rules are tested
with observations written by hand.

The rules, per :data:`~.scenarios.CERTIFICATE` / ``FAILURE`` / ``EITHER``:

- a hang past the timeout fails, always;
- ``certificate``: the command exits 0 and, during the run, the server issued a
  certificate for names the client ordered and the client downloaded it;
- ``failure``: the command exits non-zero and no certificate was issued;
- ``either``: one of the two above (start over and succeed, or fail cleanly);
- and a scenario whose faults never fired tested nothing: it fails too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from .scenarios import CERTIFICATE, EITHER, FAILURE, Scenario


@dataclass(frozen=True)
class Request:
    """One request the server answered; ``t`` in seconds from the start of the run."""

    t: float
    method: str
    path: str
    endpoint: Optional[str]
    status: int
    problem: Optional[str] = None


@dataclass(frozen=True)
class FaultFiring:
    t: float
    kind: str
    where: str


@dataclass(frozen=True)
class OrderSeen:
    """An order of the run: the names ordered, and the certificate's, if issued."""

    id: str
    names: Tuple[str, ...]
    status: str
    certificate_id: Optional[str] = None
    certificate_names: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Observation:
    """Everything the server saw of one run of the client."""

    exit_code: Optional[int]
    timed_out: bool
    seconds: float
    timeout: float
    requests: Tuple[Request, ...] = ()
    faults: Tuple[FaultFiring, ...] = ()
    orders: Tuple[OrderSeen, ...] = ()
    server_errors: Tuple[str, ...] = ()

    def downloads(self) -> Dict[str, List[Optional[int]]]:
        """Certificate id -> the chains downloaded (None: the default one, n: alternate n)."""
        seen: Dict[str, List[Optional[int]]] = {}
        for r in self.requests:
            if r.status != 200 or r.endpoint not in ("certificate", "certificate_alternate"):
                continue
            parts = r.path.split("?")[0].rstrip("/").split("/")
            if r.endpoint == "certificate":
                seen.setdefault(parts[-1], []).append(None)
            else:  # .../cert/<id>/alternate/<n>
                seen.setdefault(parts[-3], []).append(int(parts[-1]))
        return seen

    def obtained(self) -> List[OrderSeen]:
        """Orders whose certificate names exactly what was ordered and was downloaded."""
        downloaded = self.downloads()
        return [o for o in self.orders if o.certificate_id in downloaded
                and {n.lower() for n in o.certificate_names} == {n.lower() for n in o.names}]

    def issued(self) -> List[OrderSeen]:
        return [o for o in self.orders if o.certificate_id]


@dataclass(frozen=True)
class Verdict:
    passed: bool
    summary: str
    notes: Tuple[str, ...] = field(default=())


def display(endpoint: Optional[str]) -> str:
    """An endpoint as the directory names it: ``new_order`` -> ``newOrder``."""
    if endpoint is None:
        return "an unknown URL"
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), endpoint)


def _after(obs: Observation, index: int) -> Optional[Request]:
    """The client's next request to the endpoint request ``index`` went to."""
    hit = obs.requests[index]
    return next((r for r in obs.requests[index + 1:] if r.endpoint == hit.endpoint), None)


def _retry(obs: Observation, scenario: Scenario) -> str:
    lines = []
    for index, hit in enumerate(obs.requests):
        if hit.problem not in scenario.problems:
            continue
        again = _after(obs, index)
        name = display(hit.endpoint)
        if again is None:
            lines.append(f"gave up after {hit.problem} on {name}")
            continue
        wait = again.t - hit.t
        line = f"retried {name} after {wait:.1f} s"
        if scenario.retry_after is not None and wait < scenario.retry_after * 0.9:
            line += f", before its Retry-After of {scenario.retry_after:g} s"
        lines.append(line)
    return "; ".join(lines) or f"no {' or '.join(scenario.problems)} answered"


def _poll(obs: Observation, scenario: Scenario) -> str:
    finalized = next((r for r in obs.requests if r.endpoint == "finalize" and r.status == 200),
                     None)
    if finalized is None:
        return "never finalized"
    done = next((r.t for r in obs.requests if r.t >= finalized.t
                 and r.endpoint in ("certificate", "certificate_alternate")), None)
    reads = [r.t for r in obs.requests if r.endpoint == "order" and r.t >= finalized.t
             and (done is None or r.t <= done)]
    if not reads:
        return "never read the processing order again"
    times = [finalized.t] + reads
    waits = [b - a for a, b in zip(times, times[1:])]
    line = f"polled the order after {', '.join(f'{w:.1f}' for w in waits)} s"
    if scenario.retry_after is not None:
        # An HTTP-date has whole seconds: "2 s ahead" may be 1.x s away when read.
        least = (scenario.retry_after - 1.05 if scenario.http_date
                 else scenario.retry_after * 0.9)
        early = [w for w in waits if w < least]
        line += (f" (Retry-After {scenario.retry_after:g} s: ignored {len(early)} time(s))"
                 if early else f" (Retry-After {scenario.retry_after:g} s honoured)")
    return line


def _nonce(obs: Observation, scenario: Scenario) -> str:
    fired = next((f for f in obs.faults if f.kind == "omit_nonce"), None)
    if fired is None:
        return "no response lost its nonce"
    index = next((i for i, r in enumerate(obs.requests)
                  if r.endpoint == fired.where and r.t >= fired.t - 0.5), None)
    later = obs.requests[index + 1:] if index is not None else ()
    nxt = next((r for r in later if r.method in ("POST", "HEAD") or r.endpoint == "new_nonce"),
               None)
    where = display(fired.where)
    if nxt is None:
        return f"sent nothing more after the {where} reply without Replay-Nonce"
    if nxt.endpoint == "new_nonce":
        return f"fetched a fresh nonce (newNonce) after the {where} reply without Replay-Nonce"
    if nxt.problem == "badNonce":
        return f"sent a used nonce after the {where} reply without Replay-Nonce (badNonce)"
    return f"went on with {nxt.method} {display(nxt.endpoint)} ({nxt.status})"


def _chains(obs: Observation, scenario: Scenario) -> str:
    chains = sorted({c if c is not None else 0 for got in obs.downloads().values()
                     for c in got})
    if not chains:
        return "downloaded no chain"
    named = ["the default chain" if c == 0 else f"alternate chain {c}" for c in chains]
    return "downloaded " + " and ".join(named)


#: What a fault that makes an order fail did, as the restart story tells it.
_FAILURES = {
    "fail_challenge": "the challenge failed",
    "expire_at_finalize": "the order expired before its finalize",
    "fail_issuance": "issuance failed after finalize",
}


def _restart(obs: Observation, scenario: Scenario) -> str:
    fired = obs.faults[0] if obs.faults else None
    if fired is None:
        return "nothing failed"
    first = _FAILURES.get(fired.kind, fired.kind.replace("_", " "))
    if scenario.problems:
        first += f" ({'/'.join(scenario.problems)})"
    orders = len(obs.orders)
    if orders > 1:
        return f"{first}; started over ({orders} orders)"
    return f"{first}; did not start over"


def _plain(obs: Observation, scenario: Scenario) -> str:
    got = obs.obtained()
    if got:
        return (f"certificate for {len(got[0].names)} name(s) issued and downloaded, "
                f"{len(obs.requests)} requests")
    return f"{len(obs.orders)} order(s), {len(obs.requests)} requests"


STORY: Dict[str, Callable[[Observation, Scenario], str]] = {
    "plain": _plain, "retry": _retry, "poll": _poll, "nonce": _nonce, "chains": _chains,
    "restart": _restart,
}


def _ending(obs: Observation) -> str:
    if obs.timed_out:
        return f"no exit after {obs.timeout:g} s (killed)"
    what = "certificate downloaded" if obs.obtained() else (
        "certificate issued, never downloaded" if obs.issued() else "no certificate")
    return f"exit {obs.exit_code}, {what}"


def judge(scenario: Scenario, obs: Observation) -> Verdict:
    """The verdict on one run of ``scenario`` (the rules are in the module docstring)."""
    story = STORY[scenario.story](obs, scenario)
    notes: List[str] = []
    got = bool(obs.obtained())
    exited_ok = not obs.timed_out and obs.exit_code == 0
    failed_cleanly = not obs.timed_out and obs.exit_code != 0 and not obs.issued()
    if obs.timed_out:
        passed = False
    elif scenario.expect == CERTIFICATE:
        passed = exited_ok and got
    elif scenario.expect == FAILURE:
        passed = failed_cleanly
    else:
        assert scenario.expect == EITHER
        passed = (exited_ok and got) or failed_cleanly
    if exited_ok and not got:
        notes.append("exited 0 without a certificate")
    armed = scenario.faults()
    if armed and not obs.faults:
        passed = False
        notes.append("the scenario's fault never fired: the client did not get that far")
    if obs.server_errors:
        passed = False
        notes.append(f"{len(obs.server_errors)} error(s) inside pytest-acme (a bug of "
                     "pytest-acme; please report it)")
    summary = "; ".join([story, _ending(obs)] + notes)
    return Verdict(passed, summary, tuple(notes))


def expected(scenario: Scenario) -> str:
    """What a passing client does in ``scenario``, in words."""
    return {CERTIFICATE: "exit 0 with the certificate",
            FAILURE: "exit non-zero without a certificate",
            EITHER: "start over and get the certificate, or exit non-zero without one",
            }[scenario.expect]

