"""``pytest-acme check-client`` on real clients: lego, certbot and dehydrated through
the wrapper scripts in tests/clients/check_client/, with the baseline and
bad-nonce scenarios, and lego through every scenario.  The reports are printed
(``-s`` or a failure shows them)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from pytest_acme import cli
from pytest_acme.checkclient import SCENARIOS

from .clientlib import require_tool

WRAPPERS = Path(__file__).parent / "check_client"
INSTALL = {
    "lego": "apt-get install lego",
    "certbot": "python -m pip install certbot   (or apt-get install certbot)",
    "dehydrated": "apt-get install dehydrated",
}


def check(client, tmp_path, capsys, *args):
    """Run check-client on ``client``'s wrapper; (exit code, JSON report, table)."""
    require_tool(client, INSTALL[client])
    report = tmp_path / "report.json"
    env = {**os.environ, "PYTHON": sys.executable}  # dehydrated.sh's web server
    code = cli.main(["check-client", "--json", str(report), "--timeout", "120", *args,
                     "--", str(WRAPPERS / f"{client}.sh")], env=env)
    out = capsys.readouterr().out
    with capsys.disabled():
        print(f"\n{client}:\n{out}")
    return code, json.loads(report.read_text()), out


def verdicts(report):
    return {s["name"]: (s["passed"], s["summary"]) for s in report["scenarios"]}


@pytest.mark.parametrize("client", ["lego", "certbot", "dehydrated"])
def test_baseline_and_bad_nonce(client, tmp_path, capsys):
    code, report, _ = check(client, tmp_path, capsys, "--scenario", "baseline",
                            "--scenario", "bad-nonce")
    seen = verdicts(report)
    assert list(seen) == ["baseline", "bad-nonce"]
    passed, summary = seen["baseline"]
    assert passed, summary
    assert summary.endswith("exit 0, certificate downloaded")
    passed, summary = seen["bad-nonce"]
    if passed:
        assert summary.startswith("retried newOrder after ") and "retried finalize" in summary
    else:  # dehydrated 0.7.0 (Debian) never retries a badNonce
        assert summary.startswith("gave up after badNonce on newOrder"), summary
    assert code == (0 if all(p for p, _ in seen.values()) else 1)


@pytest.mark.parametrize("client", ["lego"])
def test_the_full_report(client, tmp_path, capsys):
    code, report, table = check(client, tmp_path, capsys, "-j", "2")
    seen = verdicts(report)
    assert list(seen) == [s.name for s in SCENARIOS]
    for name, (_passed, summary) in seen.items():
        assert "never fired" not in summary and "no exit after" not in summary, (name, summary)
    for name in ("baseline", "bad-nonce", "missing-nonce", "alternate-chain",
                 "challenge-always-fails"):
        assert seen[name][0], (name, seen[name][1])
    assert code == (0 if all(p for p, _ in seen.values()) else 1)
    assert table.splitlines()[-1] == (
        f"{sum(p for p, _ in seen.values())} of {len(SCENARIOS)} scenario(s) passed")
