"""``pytest-acme check-client``: how an ACME client copes when the CA misbehaves.

Real CAs sometimes refuse a nonce, rate-limit, fail with a 503, keep an order
processing, or let it expire.  This command runs any client, in any language,
once per scenario against a fresh in-process server with that scenario's faults
armed, and judges each run from what the server saw: the orders, the
certificates issued for the names ordered, and whether the client downloaded
them.  The client's own output is kept for the reports, never trusted::

    pytest-acme check-client -- ./get-cert.sh
    pytest-acme check-client --scenario baseline --scenario bad-nonce \\
        --json report.json --junit-xml report.xml -- lego.sh http-01

The command finds the server in the environment the real-client harness uses
(``ACME_DIRECTORY``, ``ACME_CA_BUNDLE``, ``ACME_HTTP01_PORT``, ...; see
:func:`.runner.world`), obtains a certificate and exits.  The parts:

- :mod:`.scenarios`: the scenarios, as data;
- :mod:`.runner`: a fresh server per scenario, the command, the observation;
- :mod:`.judge`: the rules (pure functions of an observation);
- :mod:`.report`: the table, JSON and JUnit XML.
"""

from __future__ import annotations

import sys
from typing import Mapping, Optional, Sequence, TextIO

from .judge import Observation, Verdict, judge
from .report import as_json, as_junit, progress_line, table
from .runner import DEFAULT_TIMEOUT, Result, run_all, run_scenario
from .scenarios import SCENARIOS, Scenario, by_name

__all__ = ["SCENARIOS", "Scenario", "Observation", "Verdict", "Result", "judge",
           "run_scenario", "run_all", "check", "listing"]


def listing() -> str:
    """The scenarios and what happens in each (``--list``)."""
    width = max(len(s.name) for s in SCENARIOS)
    return "\n".join(f"{s.name:<{width}}  {s.what}" for s in SCENARIOS)


def check(cmd: Sequence[str], environ: Mapping[str, str], *,
          scenarios: Sequence[str] = (), timeout: float = DEFAULT_TIMEOUT, jobs: int = 1,
          json_file: Optional[str] = None, junit_file: Optional[str] = None,
          out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> int:
    """Run ``cmd`` through the named scenarios (all when none) and report.

    Prints a progress line per scenario on ``err`` and the table on ``out``;
    writes the JSON and JUnit XML reports when asked.

    Returns:
        0 when every selected scenario passed, 1 otherwise.

    Raises:
        ValueError: an unknown scenario name.
    """
    out, err = out or sys.stdout, err or sys.stderr
    chosen = by_name(scenarios)

    def progress(done: int, total: int, result: Result) -> None:
        print(progress_line(done, total, result), file=err, flush=True)

    results = run_all(chosen, cmd, environ, timeout=timeout, jobs=jobs, progress=progress)
    print(table(results), file=out, flush=True)
    if json_file:
        with open(json_file, "w", encoding="utf-8") as f:
            f.write(as_json(cmd, results) + "\n")
    if junit_file:
        with open(junit_file, "wb") as junit:
            junit.write(as_junit(cmd, results))
    return 0 if all(r.passed for r in results) else 1
