"""The judging rules of check-client, on observations written by hand."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pytest_acme.checkclient.judge import (
    FaultFiring,
    Observation,
    OrderSeen,
    Request,
    display,
    judge,
)
from pytest_acme.checkclient.scenarios import SCENARIOS, Scenario, by_name

SCENARIO = {s.name: s for s in SCENARIOS}
NAME = ("a.example.test",)


def req(t, endpoint, status=200, problem=None, method="POST", path=None):
    paths = {"new_order": "/acme/new-order", "finalize": "/acme/order/O1/finalize",
             "order": "/acme/order/O1", "certificate": "/acme/cert/C1",
             "new_nonce": "/acme/new-nonce", "authz": "/acme/authz/A1"}
    return Request(t, method, path or paths[endpoint], endpoint, status, problem)


ISSUED = OrderSeen("O1", NAME, "valid", "C1", NAME)
DOWNLOAD = req(3.0, "certificate")


def run(exit_code=0, *, requests=(), orders=(ISSUED,), faults=(), timed_out=False, errors=()):
    return Observation(exit_code, timed_out, 3.0, 60, tuple(requests), tuple(faults),
                       tuple(orders), tuple(errors))


FIRED = (FaultFiring(0.5, "bad_nonce", "new_order"),)


# -- the rules ------------------------------------------------------------------------


def test_a_certificate_downloaded_and_exit_0_pass():
    verdict = judge(SCENARIO["baseline"], run(0, requests=[DOWNLOAD]))
    assert verdict.passed
    assert verdict.summary.endswith("exit 0, certificate downloaded")


def test_exit_0_without_downloading_fails():
    verdict = judge(SCENARIO["baseline"], run(0, requests=[req(1, "finalize")]))
    assert not verdict.passed
    assert "certificate issued, never downloaded" in verdict.summary
    assert "exited 0 without a certificate" in verdict.summary


def test_exit_0_without_any_order_fails():
    verdict = judge(SCENARIO["baseline"], run(0, orders=()))
    assert not verdict.passed and "exit 0, no certificate" in verdict.summary


def test_a_certificate_for_other_names_than_ordered_does_not_count():
    other = replace(ISSUED, certificate_names=("b.example.test",))
    assert not judge(SCENARIO["baseline"], run(0, requests=[DOWNLOAD], orders=[other])).passed


def test_names_compare_without_case():
    upper = replace(ISSUED, names=("A.Example.Test",))
    assert judge(SCENARIO["baseline"], run(0, requests=[DOWNLOAD], orders=[upper])).passed


def test_a_non_zero_exit_fails_even_with_the_certificate():
    verdict = judge(SCENARIO["baseline"], run(1, requests=[DOWNLOAD]))
    assert not verdict.passed and "exit 1, certificate downloaded" in verdict.summary


def test_a_hang_fails_whatever_was_downloaded():
    verdict = judge(SCENARIO["baseline"], run(None, requests=[DOWNLOAD], timed_out=True))
    assert not verdict.passed and "no exit after 60 s (killed)" in verdict.summary


@pytest.mark.parametrize("exit_code, orders, passed", [
    (1, (), True),                                       # gave up cleanly
    (2, (replace(ISSUED, certificate_id=None, certificate_names=()),), True),
    (0, (), False),                                      # claims success
    (1, (ISSUED,), False),                               # a certificate was issued
])
def test_a_scenario_that_cannot_succeed_wants_a_clean_failure(exit_code, orders, passed):
    scenario = SCENARIO["challenge-always-fails"]
    fired = (FaultFiring(1, "fail_challenge", "http-01 a.example.test"),)
    assert judge(scenario, run(exit_code, orders=orders, faults=fired)).passed is passed


@pytest.mark.parametrize("exit_code, downloaded, passed", [
    (0, True, True),      # started over and got the certificate
    (1, False, True),     # failed cleanly
    (0, False, False),    # exit 0 without a certificate
])
def test_start_over_or_fail_cleanly(exit_code, downloaded, passed):
    scenario = SCENARIO["failed-challenge"]
    fired = (FaultFiring(1, "fail_challenge", "http-01 a.example.test"),)
    failed = OrderSeen("O0", NAME, "invalid")
    orders = (failed, ISSUED) if downloaded else (failed,)
    obs = run(exit_code, requests=[DOWNLOAD] if downloaded else [], orders=orders, faults=fired)
    assert judge(scenario, obs).passed is passed


def test_a_fault_that_never_fired_tested_nothing():
    verdict = judge(SCENARIO["bad-nonce"], run(0, requests=[DOWNLOAD]))
    assert not verdict.passed and "never fired" in verdict.summary
    assert judge(SCENARIO["bad-nonce"], run(0, requests=[DOWNLOAD], faults=FIRED)).passed


def test_an_error_inside_the_server_fails_the_scenario():
    verdict = judge(SCENARIO["baseline"], run(0, requests=[DOWNLOAD], errors=["boom"]))
    assert not verdict.passed and "inside pytest-acme" in verdict.summary


def test_an_alternate_chain_counts_as_the_download():
    alt = req(3, "certificate_alternate", path="/acme/cert/C1/alternate/1")
    obs = run(0, requests=[alt])
    assert obs.downloads() == {"C1": [1]}
    verdict = judge(SCENARIO["alternate-chain"], obs)
    assert verdict.passed and verdict.summary.startswith("downloaded alternate chain 1;")


# -- the stories ------------------------------------------------------------------------


def test_retried_after_the_retry_after():
    obs = run(0, faults=[FaultFiring(1, "endpoint_error", "finalize")], requests=[
        req(1.0, "finalize", 503, "serverInternal"), req(2.04, "finalize"), DOWNLOAD])
    assert judge(SCENARIO["server-error"], obs).summary.startswith(
        "retried finalize after 1.0 s;")


def test_retried_before_the_retry_after_is_said():
    obs = run(0, faults=[FaultFiring(1, "endpoint_error", "new_order")], requests=[
        req(1.0, "new_order", 429, "rateLimited"), req(1.3, "new_order"), DOWNLOAD])
    assert judge(SCENARIO["rate-limited"], obs).summary.startswith(
        "retried newOrder after 0.3 s, before its Retry-After of 2 s;")


def test_gave_up():
    obs = run(1, orders=(), faults=FIRED, requests=[req(1.0, "new_order", 400, "badNonce")])
    verdict = judge(SCENARIO["bad-nonce"], obs)
    assert not verdict.passed
    assert verdict.summary == "gave up after badNonce on newOrder; exit 1, no certificate"


def test_polls_against_the_retry_after():
    fired = (FaultFiring(1, "hold_processing", "finalize"),)
    polls = [req(1.0, "finalize"), req(1.2, "order"), req(2.3, "order"), req(3.4, "order"),
             req(4.5, "order"), req(4.6, "certificate")]
    verdict = judge(SCENARIO["slow-processing"], run(0, requests=polls, faults=fired))
    assert verdict.summary.startswith(
        "polled the order after 0.2, 1.1, 1.1, 1.1 s (Retry-After 1 s: ignored 1 time(s));")
    polls = [req(1.0, "finalize"), req(2.2, "order"), req(3.9, "order"), req(4.0, "certificate")]
    verdict = judge(SCENARIO["retry-after-date"], run(0, requests=polls, faults=fired))
    assert "(Retry-After 2 s honoured)" in verdict.summary


def test_a_lost_nonce_then_a_fresh_one():
    fired = (FaultFiring(1.0, "omit_nonce", "new_order"),)
    requests = [req(1.0, "new_order", 201), req(1.1, "new_nonce", method="HEAD"),
                req(1.2, "authz"), DOWNLOAD]
    verdict = judge(SCENARIO["missing-nonce"], run(0, requests=requests, faults=fired))
    assert verdict.summary.startswith(
        "fetched a fresh nonce (newNonce) after the newOrder reply without Replay-Nonce;")


def test_started_over():
    fired = (FaultFiring(1, "expire_at_finalize", "finalize"),)
    orders = (OrderSeen("O0", NAME, "invalid"), ISSUED)
    verdict = judge(SCENARIO["expired-order"], run(0, requests=[DOWNLOAD], orders=orders,
                                                   faults=fired))
    assert verdict.passed
    assert verdict.summary.startswith(
        "the order expired before its finalize (orderNotReady); started over (2 orders);")


def test_display_names():
    assert [display(e) for e in ("new_order", "finalize", "new_nonce", None)] == [
        "newOrder", "finalize", "newNonce", "an unknown URL"]


# -- the scenarios --------------------------------------------------------------------------


def test_the_named_scenarios_are_all_there_in_order():
    assert [s.name for s in SCENARIOS][:11] == [
        "baseline", "bad-nonce", "rate-limited", "server-error", "retry-after-date",
        "slow-processing", "pending-race", "missing-nonce", "alternate-chain", "expired-order",
        "failed-challenge"]


def test_each_run_gets_fresh_faults():
    first, second = SCENARIO["bad-nonce"].faults(), SCENARIO["bad-nonce"].faults()
    assert first and all(a is not b for a, b in zip(first, second))


def test_by_name():
    assert [s.name for s in by_name(["bad-nonce", "baseline", "bad-nonce"])] == [
        "bad-nonce", "baseline"]
    assert by_name([]) == SCENARIOS
    with pytest.raises(ValueError, match="unknown scenario 'nonsense'; choose from baseline"):
        by_name(["nonsense"])


def test_a_scenario_refuses_an_unknown_expectation():
    with pytest.raises(ValueError, match="unknown expect"):
        Scenario("x", "y", expect="maybe")
