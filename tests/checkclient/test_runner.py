"""check-client end to end: small fake clients (tests/checkclient/fake_client.py, a
real ACME client built on certbot's ``acme`` library) run as processes against
the scenarios' servers, judged from what the server saw."""

from __future__ import annotations

import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_acme import cli
from pytest_acme.checkclient import SCENARIOS, run_all, run_scenario

HERE = Path(__file__).parent
SCENARIO = {s.name: s for s in SCENARIOS}


def fake(mode):
    return [sys.executable, str(HERE / "fake_client.py"), mode]


def test_a_client_that_gets_its_certificate_passes():
    result = run_scenario(SCENARIO["baseline"], fake("pass"), os.environ, timeout=60)
    assert result.passed, result.output
    assert result.verdict.summary.startswith("certificate for 1 name(s) issued and downloaded")
    seen = result.observation
    assert seen.exit_code == 0 and not seen.timed_out
    (order,) = seen.orders
    assert order.status == "valid" and order.certificate_names == order.names
    assert list(seen.downloads()) == [order.certificate_id]
    assert "BEGIN CERTIFICATE" in result.output


def test_a_client_that_crashes_fails():
    result = run_scenario(SCENARIO["baseline"], fake("crash"), os.environ, timeout=60)
    assert not result.passed
    assert re.fullmatch(r"0 order\(s\), \d+ requests; exit 3, no certificate",
                        result.verdict.summary)


def test_a_client_that_hangs_is_killed_and_fails():
    result = run_scenario(SCENARIO["baseline"], fake("hang"), os.environ, timeout=3)
    assert not result.passed
    assert result.observation.timed_out and result.observation.exit_code is None
    assert "no exit after 3 s (killed)" in result.verdict.summary
    assert 3 <= result.observation.seconds < 15


def test_a_client_that_exits_0_without_a_certificate_fails():
    result = run_scenario(SCENARIO["baseline"], fake("exit0"), os.environ, timeout=60)
    assert not result.passed
    assert result.verdict.summary == (
        "0 order(s), 0 requests; exit 0, no certificate; exited 0 without a certificate")


def test_a_client_that_never_downloads_fails():
    result = run_scenario(SCENARIO["baseline"], fake("no-download"), os.environ, timeout=60)
    assert not result.passed
    assert "exit 0, certificate issued, never downloaded" in result.verdict.summary


def test_a_client_that_exits_non_zero_after_its_certificate_fails():
    result = run_scenario(SCENARIO["baseline"], fake("wrong-exit"), os.environ, timeout=60)
    assert not result.passed and "exit 1, certificate downloaded" in result.verdict.summary


def test_a_clean_failure_passes_where_nothing_can_succeed():
    scenario = SCENARIO["challenge-always-fails"]
    result = run_scenario(scenario, fake("pass"), os.environ, timeout=60)
    assert result.passed, result.verdict.summary
    assert result.verdict.summary == (
        "the challenge failed (unauthorized); did not start over; exit 1, no certificate")
    # Exiting 0 there is a lie, and a client that never answered tested nothing.
    result = run_scenario(scenario, fake("exit0"), os.environ, timeout=60)
    assert not result.passed and "never fired" in result.verdict.summary


def test_a_command_that_cannot_start_fails():
    result = run_scenario(SCENARIO["baseline"], ["/nonexistent/client"], os.environ)
    assert not result.passed and result.observation.exit_code == 127
    assert "cannot run '/nonexistent/client'" in result.output


ENV_DUMP = r'''
import json, os, ssl, sys, urllib.request
names = ["ACME_DIRECTORY", "ACME_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE",
         "LEGO_CA_CERTIFICATES", "ACME_HTTP01_PORT", "ACME_TLSALPN01_PORT", "ACME_DNS_MGMT",
         "ACME_DNS_RESOLVER", "ACME_ROOT_URL"]
env = {n: os.environ.get(n) for n in names}
ctx = ssl.create_default_context(cafile=env["ACME_CA_BUNDLE"])
env["directory"] = json.load(urllib.request.urlopen(env["ACME_DIRECTORY"], context=ctx))
env["root"] = urllib.request.urlopen(env["ACME_ROOT_URL"], context=ctx).read().decode()
req = urllib.request.Request(env["ACME_DNS_MGMT"] + "/set-txt", method="POST",
    data=json.dumps({"host": "_acme-challenge.x.example.test.", "value": "v"}).encode())
env["set_txt"] = urllib.request.urlopen(req).status
with open(sys.argv[1] + "/" + os.environ["ACME_HTTP01_PORT"] + ".json", "w") as f:
    json.dump(env, f)
'''


def test_the_client_gets_the_harness_environment_and_each_job_its_own_ports(tmp_path):
    script = tmp_path / "dump.py"
    script.write_text(ENV_DUMP)
    results = run_all([SCENARIO["baseline"], SCENARIO["alternate-chain"]],
                      [sys.executable, str(script), str(tmp_path)], os.environ, jobs=2,
                      timeout=60)
    assert [r.observation.exit_code for r in results] == [0, 0], [r.output for r in results]
    dumps = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("*.json"))]
    assert len(dumps) == 2
    for env in dumps:
        assert None not in env.values()
        bundle = env["ACME_CA_BUNDLE"]
        assert bundle == env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] == env[
            "LEGO_CA_CERTIFICATES"]
        assert "newOrder" in env["directory"]
        assert env["root"].startswith("-----BEGIN CERTIFICATE-----")
        assert env["set_txt"] == 200
        assert env["ACME_DNS_RESOLVER"].startswith("127.0.0.1:")
    ports = {p for env in dumps for p in (env["ACME_HTTP01_PORT"], env["ACME_TLSALPN01_PORT"])}
    assert len(ports) == 4
    assert len({env["ACME_DIRECTORY"] for env in dumps}) == 2


def test_every_scenario_is_exercised_by_a_plain_client():
    """Each scenario's fault fires for a client that does the usual order (so no
    scenario passes by testing nothing), and the outcome follows the rules."""
    results = run_all(SCENARIOS, fake("pass"), os.environ, jobs=2, timeout=60)
    for result in results:
        assert "never fired" not in result.verdict.summary, result.scenario.name
        assert not result.observation.timed_out, result.scenario.name
    passed = {r.scenario.name for r in results if r.passed}
    assert {"baseline", "bad-nonce", "alternate-chain", "slow-processing",
            "retry-after-date", "challenge-always-fails"} <= passed


# -- the command ------------------------------------------------------------------------


def test_the_command_writes_the_table_json_and_junit(tmp_path, capsys):
    report, junit = tmp_path / "r.json", tmp_path / "r.xml"
    code = cli.main(["check-client", "--scenario", "baseline", "--scenario", "failed-challenge",
                     "--json", str(report), "--junit-xml", str(junit), "-j", "2",
                     "--timeout", "60", "--", *fake("no-download")])
    assert code == 1  # baseline fails: no download
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["scenario", "result", "seconds", "what", "the", "server", "saw"]
    assert lines[1].split()[:2] == ["baseline", "FAIL"]
    assert lines[2].split()[:2] == ["failed-challenge", "PASS"]
    assert lines[-1] == "1 of 2 scenario(s) passed"
    assert sorted(line.split(":")[0] for line in err.splitlines()) == [
        "[1/2] baseline", "[2/2] failed-challenge"] or sorted(
        line.split(":")[0] for line in err.splitlines()) == [
        "[1/2] failed-challenge", "[2/2] baseline"]
    data = json.loads(report.read_text())
    assert data["client"] == fake("no-download")
    assert [(s["name"], s["passed"]) for s in data["scenarios"]] == [
        ("baseline", False), ("failed-challenge", True)]
    first = data["scenarios"][0]
    assert {"name", "passed", "seconds", "summary", "events"} <= set(first)
    assert any(e.get("endpoint") == "finalize" for e in first["events"])
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["baseline", "failed-challenge"]
    assert cases[0].find("failure").get("message") == first["summary"]
    assert cases[1].find("failure") is None


def test_the_command_exits_0_when_all_pass(capsys):
    assert cli.main(["check-client", "--scenario", "baseline", "--", *fake("pass")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 of 1 scenario(s) passed"


def test_the_command_lists_the_scenarios(capsys):
    assert cli.main(["check-client", "--list"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == [s.name for s in SCENARIOS]


def test_the_command_refuses_bad_arguments(capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["check-client", "--scenario", "nonsense", "--", "true"])
    assert exit.value.code == 2
    assert "invalid choice: 'nonsense'" in capsys.readouterr().err
    assert cli.main(["check-client"]) == 2
    assert "give the client command after --" in capsys.readouterr().err
    assert cli.main(["check-client", "--timeout", "0", "--", "true"]) == 2


def test_everything_after_the_double_dash_is_the_command(tmp_path, capsys):
    report = tmp_path / "r.json"
    code = cli.main(["check-client", "--scenario", "baseline", "--json", str(report), "--",
                     sys.executable, "-c", "pass", "--scenario", "bad-nonce"])
    assert code == 1  # exit 0 without a certificate
    data = json.loads(report.read_text())
    assert data["client"] == [sys.executable, "-c", "pass", "--scenario", "bad-nonce"]
    assert [s["name"] for s in data["scenarios"]] == ["baseline"]
