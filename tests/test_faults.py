"""Every fault, seen by a real client (certbot's ``acme`` library, or raw HTTP
where the library hides the effect) and in the server's record of events."""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from typing import Any, Dict, List

import pytest
import requests
from acme import errors, messages

from helpers import account_client, answer_all, deadline, make_csr
from jws_client import PROBLEM
from pytest_acme import Clock, Status, faults, problems
from pytest_acme.faults import bad_nonce, fail_challenge
from pytest_acme.web.routes import RULES

# Challenges pass unless a fault says otherwise.
pytestmark = pytest.mark.acme(validation="always_valid")



def read(acme, url: str) -> Dict[str, Any]:
    return acme.net.post(url, None).json()


def fault_events(server, order_uri: str = "") -> List[str]:
    order_id = order_uri.rsplit("/", 1)[-1]
    return [e.message for e in server.events
            if e.reason == "FaultFired" and (not order_uri or order_id in e.order_ids)]


def ready(server, acme, names):
    order = acme.new_order(make_csr(names))
    answer_all(acme, order)
    server.wait_idle()
    return order


# -- challenges -----------------------------------------------------------------


def test_fail_challenge_of_one_identifier_once(acme_server):
    fault = acme_server.faults.fail_challenge("down.example.test", problem="dns",
                                              detail="SERVFAIL looking up down.example.test")
    acme = account_client(acme_server)
    order = ready(acme_server, acme, ["up.example.test", "down.example.test"])
    with pytest.raises(errors.ValidationError):
        acme.poll_authorizations(order, deadline())
    body = read(acme, order.uri)
    assert body["status"] == "invalid"
    assert body["error"]["type"] == PROBLEM + "dns"
    assert body["error"]["detail"] == "SERVFAIL looking up down.example.test"
    assert fault.fired == 1 and not fault.active
    assert fault_events(acme_server, order.uri) == [
        "fail_challenge(down.example.test, any type, dns; 1/1 fired) at http-01 down.example.test"]
    # Once only: a new order for the same names validates.
    again = ready(acme_server, acme, ["up.example.test", "down.example.test"])
    assert read(acme, again.uri)["status"] == "ready"


def test_fail_challenge_of_a_type_always(acme_server):
    acme_server.faults.fail_challenge(type="http-01", problem="connection", times=None)
    acme = account_client(acme_server)
    for _ in range(2):
        order = ready(acme_server, acme, ["h.example.test"])  # answers http-01
        assert read(acme, order.uri)["error"]["type"] == PROBLEM + "connection"
    wild = ready(acme_server, acme, ["*.w.example.test"])  # answers dns-01
    assert read(acme, wild.uri)["status"] == "ready"
    assert acme_server.faults.faults[0].fired == 2


def test_fail_challenge_matches_a_wildcard_by_its_base_name(acme_server):
    acme_server.faults.add(fail_challenge("w.example.test", problem="incorrectResponse"))
    acme = account_client(acme_server)
    order = ready(acme_server, acme, ["*.w.example.test"])
    assert read(acme, order.uri)["error"]["type"] == PROBLEM + "incorrectResponse"


# -- finalize and issuance ------------------------------------------------------------


def test_reject_csr(acme_server):
    acme_server.faults.reject_csr("this CA wants a P-384 key")
    acme = account_client(acme_server)
    order = ready(acme_server, acme, ["csr.example.test"])
    with pytest.raises(messages.Error) as err:
        acme.begin_finalization(order)
    assert err.value.typ == PROBLEM + "badCSR"
    assert err.value.detail == "this CA wants a P-384 key"
    body = read(acme, order.uri)
    assert (body["status"], body["error"]["type"]) == ("invalid", PROBLEM + "badCSR")
    assert "reject_csr" in fault_events(acme_server, order.uri)[0]


def test_fail_issuance_makes_processing_invalid(acme_server):
    acme_server.faults.fail_issuance(detail="the HSM is on fire")
    acme = account_client(acme_server)
    order = ready(acme_server, acme, ["hsm.example.test"])
    finalized = acme.begin_finalization(order)
    assert finalized.body.status == messages.STATUS_INVALID
    assert finalized.body.error.detail == "the HSM is on fire"
    reasons = [e.reason for e in acme_server.events
               if order.uri.rsplit("/", 1)[1] in e.order_ids]
    assert reasons[-4:] == ["FinalizeReceived", "OrderProcessing", "FaultFired", "OrderInvalid"]


@pytest.mark.acme(finalize="async")
def test_fail_issuance_in_async_mode_is_seen_by_polling(acme_server):
    acme_server.faults.fail_issuance(problem="serverInternal")
    acme = account_client(acme_server)
    order = ready(acme_server, acme, ["async.example.test"])
    acme.begin_finalization(order)
    acme_server.wait_idle()
    with pytest.raises(errors.IssuanceError):
        acme.poll_finalization(order, deadline())


def test_hold_processing_for_polls(acme_server):
    acme_server.faults.hold_processing(polls=2, retry_after=3)
    acme = account_client(acme_server)
    order = ready(acme_server, acme, ["held.example.test"])
    finalized = acme.begin_finalization(order)
    assert finalized.body.status == messages.STATUS_PROCESSING
    assert finalized.body.certificate is None
    seen = []
    for _ in range(3):
        response = acme.net.post(order.uri, None)
        seen.append((response.json()["status"], response.headers.get("Retry-After")))
    assert seen == [("processing", "3"), ("processing", "3"), ("valid", None)]
    assert read(acme, order.uri)["certificate"]


def test_hold_processing_on_the_clock_with_an_http_date(acme_server):
    acme_server.faults.hold_processing(seconds=600, retry_after=30, http_date=True)
    acme = account_client(acme_server)
    order = ready(acme_server, acme, ["date.example.test"])
    acme.begin_finalization(order)
    response = acme.net.post(order.uri, None)
    assert response.json()["status"] == "processing"
    when = email.utils.parsedate_to_datetime(response.headers["Retry-After"])
    expected = acme_server.clock.now() + dt.timedelta(seconds=30)
    assert abs((when - expected).total_seconds()) < 5
    acme_server.clock.advance(599)
    assert read(acme, order.uri)["status"] == "processing"
    acme_server.clock.advance(1)
    assert read(acme, order.uri)["status"] == "valid"


def test_pending_race_at_finalize(acme_server):
    """Authorizations are valid, yet finalize gets orderNotReady once; a client that
    polls the order and finalizes again succeeds (recent acme libraries do this in
    finalize_order by themselves)."""
    acme_server.faults.pending_race(polls=1)
    acme = account_client(acme_server)
    order = ready(acme_server, acme, ["race.example.test"])
    order = acme.poll_authorizations(order, deadline())
    assert all(a.body.status == messages.STATUS_VALID for a in order.authorizations)
    with pytest.raises(messages.Error) as err:
        acme.begin_finalization(order)
    assert err.value.code == "orderNotReady" and "pending" in err.value.detail
    assert read(acme, order.uri)["status"] == "ready"
    assert acme.begin_finalization(order).body.status == messages.STATUS_VALID
    assert [f.where for f in acme_server.faults.fired] == ["finalize"]


def test_pending_race_on_reads(acme_server):
    acme_server.faults.pending_race(polls=2)
    acme = account_client(acme_server)
    order = ready(acme_server, acme, ["reads.example.test"])
    statuses = [read(acme, order.uri)["status"] for _ in range(3)]
    assert statuses == ["pending", "pending", "ready"]
    assert [read(acme, a.uri)["status"] for a in order.authorizations] == ["valid"]


def test_pending_race_on_one_read_and_one_finalize(acme_server):
    """Two races, one limited to reads and one to finalize: the ready order reads
    pending once, and the first finalize still gets orderNotReady."""
    acme_server.faults.pending_race(on="read")
    acme_server.faults.pending_race(on="finalize")
    acme = account_client(acme_server)
    order = acme.poll_authorizations(ready(acme_server, acme, ["both.example.test"]),
                                     deadline())
    assert [read(acme, order.uri)["status"] for _ in range(2)] == ["pending", "ready"]
    with pytest.raises(messages.Error) as err:
        acme.begin_finalization(order)
    assert err.value.code == "orderNotReady"
    assert acme.begin_finalization(order).body.status == messages.STATUS_VALID
    assert [f.fault.describe() for f in acme_server.faults.fired] == [
        "pending_race(polls=1, on read; 1/1 fired)",
        "pending_race(polls=1, on finalize; 1/1 fired)"]


# -- requests ---------------------------------------------------------------------------


def test_bad_nonce_once_is_retried_by_the_client(acme_server):
    fault = acme_server.faults.bad_nonce(times=1)
    acme = account_client(acme_server)  # newAccount: refused once, retried
    assert fault.fired == 1
    assert [(r.path, r.problem) for r in acme_server.requests if r.problem] == [
        ("/acme/new-account", "badNonce")]
    assert acme.net.account.uri


def test_bad_nonce_twice_reaches_the_client(acme_server):
    acme = account_client(acme_server)
    acme_server.faults.add(bad_nonce(times=2))
    with pytest.raises(messages.Error) as err:
        acme.new_order(make_csr(["n.example.test"]))
    assert err.value.code == "badNonce"
    assert "injected fault" in err.value.detail
    acme.new_order(make_csr(["n.example.test"]))  # the fault is spent


def test_bad_nonce_on_one_endpoint_spares_the_others(acme_server):
    """A bad nonce aimed at finalize lets newAccount and newOrder through, and
    refuses the first finalize only (certbot's acme library retries it once)."""
    fault = acme_server.faults.bad_nonce(endpoint="finalize")
    acme = account_client(acme_server)
    order = ready(acme_server, acme, ["bn-final.example.test"])
    assert fault.fired == 0
    acme.finalize_order(acme.poll_authorizations(order, deadline()), deadline())
    assert fault.fired == 1
    refused = [r for r in acme_server.requests if r.problem]
    assert [r.problem for r in refused] == ["badNonce"]
    assert RULES.bind("localhost").match(refused[0].path, method="POST")[0] == "finalize"
    assert fault.describe() == "bad_nonce(finalize; 1/1 fired)"


def _rejections(server, acme, n=30):
    rejected = []
    for i in range(n):
        try:
            acme.net._post_once(acme.net.account.uri, None)
        except messages.Error as e:
            assert e.code == "badNonce"
            rejected.append(i)
    return rejected


def test_bad_nonce_at_a_seeded_rate_replays_exactly(acme_server):
    acme = account_client(acme_server)
    acme_server.faults.reseed("replay-me")
    acme_server.faults.bad_nonce(rate=0.3, times=None)
    first = _rejections(acme_server, acme)
    acme_server.faults.reseed("replay-me")
    assert _rejections(acme_server, acme) == first
    assert 0 < len(first) < 30
    acme_server.faults.reseed("another seed")
    assert _rejections(acme_server, acme) != first


def test_rate_limited_endpoint(acme_server):
    acme = account_client(acme_server)
    acme_server.faults.rate_limited("newOrder", retry_after=3600)
    with pytest.raises(messages.Error) as err:
        acme.new_order(make_csr(["rl.example.test"]))
    assert err.value.code == "rateLimited"
    last = acme_server.requests[-1]
    assert (last.status, last.problem) == (429, "rateLimited")
    acme.new_order(make_csr(["rl.example.test"]))  # once


def test_rate_limited_carries_retry_after(acme_server, acme_ca_bundle):
    acme_server.faults.rate_limited("directory", retry_after=3600)
    response = requests.get(acme_server.directory_url, verify=acme_ca_bundle, timeout=5)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3600"
    assert response.json()["type"] == PROBLEM + "rateLimited"


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_with_retry_after(acme_server, acme_ca_bundle, status):
    acme_server.faults.server_error("directory", status=status, retry_after=10)
    response = requests.get(acme_server.directory_url, verify=acme_ca_bundle, timeout=5)
    assert response.status_code == status
    assert response.headers["Retry-After"] == "10"
    assert response.json()["type"] == PROBLEM + "serverInternal"
    assert "Replay-Nonce" not in response.headers  # a GET's reply, as at Let's Encrypt
    assert requests.get(acme_server.directory_url, verify=acme_ca_bundle,
                        timeout=5).status_code == 200


def test_omit_nonce(acme_server):
    acme = account_client(acme_server, register=False)
    acme_server.faults.omit_nonce("new_account")
    with pytest.raises(errors.MissingNonce):
        acme.new_account(messages.NewRegistration(terms_of_service_agreed=True))
    assert "omit_nonce" in fault_events(acme_server)[0]


def test_latency_makes_a_client_time_out(acme_server, acme_ca_bundle):
    acme_server.faults.latency(5, "directory", times=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(acme_server.directory_url, verify=acme_ca_bundle, timeout=0.3)
    # The next request is not delayed; the delayed one ends at reset or stop.
    assert requests.get(acme_server.directory_url, verify=acme_ca_bundle,
                        timeout=5).status_code == 200
    acme_server.faults.interrupt()


# -- orders, now --------------------------------------------------------------------------


def test_expire_order_now(acme_server):
    acme = account_client(acme_server)
    order = ready(acme_server, acme, ["soon.example.test"])
    acme_server.faults.expire_order(order.uri)
    assert read(acme, order.uri)["status"] == "invalid"
    with pytest.raises(messages.Error) as err:
        acme.begin_finalization(order)
    assert err.value.code == "orderNotReady" and "expired" in err.value.detail
    assert "expire_order" in fault_events(acme_server, order.uri)[0]


def test_expire_at_finalize(acme_server):
    """The order reads ready, and its finalize meets an order that has just expired:
    orderNotReady, and the order reads invalid from then on."""
    fault = acme_server.faults.expire_at_finalize()
    acme = account_client(acme_server)
    order = acme.poll_authorizations(ready(acme_server, acme, ["late.example.test"]),
                                     deadline())
    assert read(acme, order.uri)["status"] == "ready"
    with pytest.raises(messages.Error) as err:
        acme.begin_finalization(order)
    assert err.value.code == "orderNotReady" and "expired" in err.value.detail
    assert read(acme, order.uri)["status"] == "invalid"
    assert fault.fired == 1
    assert fault_events(acme_server, order.uri) == [
        "expire_at_finalize(; 1/1 fired) at finalize"]
    # Once: the next order is finalized as usual.
    again = acme.poll_authorizations(ready(acme_server, acme, ["late.example.test"]),
                                     deadline())
    assert acme.finalize_order(again, deadline()).fullchain_pem


def test_invalidate_order_now(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["gone.example.test"]))
    acme_server.faults.invalidate_order(order.uri)
    body = read(acme, order.uri)
    assert body["status"] == "invalid"
    assert body["error"]["type"] == PROBLEM + "serverInternal"


def test_the_server_changes_orders_and_the_plan_asks_it(acme_server):
    """expire_order and invalidate_order are the server's; server.faults.X calls them."""
    acme = account_client(acme_server)
    first = acme.new_order(make_csr(["one.example.test"]))
    second = acme.new_order(make_csr(["two.example.test"]))
    acme_server.expire_order(acme_server.order(first.uri))  # a snapshot works too
    acme_server.invalidate_order(second.uri, problems.Unauthorized("no longer wanted"))
    assert acme_server.order(first.uri).status is Status.INVALID
    assert read(acme, second.uri)["error"]["detail"] == "no longer wanted"
    assert [(f.where, f.order_id) for f in acme_server.faults.fired] == [
        ("expire_order", acme_server.order(first.uri).id),
        ("invalidate_order", acme_server.order(second.uri).id)]
    with pytest.raises(KeyError, match="no order"):
        acme_server.expire_order("nosuchorder")


def test_a_plan_needs_a_clock_a_generator_and_a_callback():
    """The plan knows no server: it times firings by the clock, draws from the
    generator, tells on_fire, and leaves changing orders to others."""
    told = []
    clock = Clock()
    clock.reset(dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc), frozen=True)
    plan = faults.FaultPlan(clock, random.Random(7), lambda *fired: told.append(fired),
                            lambda order, now: None)
    fault = plan.bad_nonce(rate=0.5, times=None)
    answers = [plan.request_problem("new_order", signed=True) is not None for _ in range(20)]
    plan.reseed(7)
    assert [plan.request_problem("new_order", signed=True) is not None
            for _ in range(20)] == answers
    assert fault.fired == len(told) == 2 * sum(answers) > 0
    assert told[0] == (fault, "new_order", (), None)
    assert plan.fired[0].time == clock.now()
    with pytest.raises(RuntimeError, match="no AcmeServer"):
        plan.expire_order("any")


# -- from the marker, and the API itself ---------------------------------------------------


@pytest.mark.acme(faults=[faults.rate_limited("new_order"), bad_nonce(times=1)])
def test_faults_from_the_marker(acme_server):
    acme = account_client(acme_server)
    with pytest.raises(messages.Error) as err:
        acme.new_order(make_csr(["m.example.test"]))
    assert err.value.code == "rateLimited"
    assert [f.fault.kind for f in acme_server.faults.fired] == ["bad_nonce", "endpoint_error"]


def test_reset_disarms_faults(acme_server):
    acme_server.faults.bad_nonce(times=None)
    acme_server.reset()
    assert acme_server.faults.faults == [] and acme_server.faults.fired == []
    account_client(acme_server)


@pytest.mark.parametrize("make, words", [
    (lambda: faults.fail_challenge(problem="nonsense"), "unknown ACME problem type"),
    (lambda: faults.rate_limited("nowhere"), "unknown endpoint"),
    (lambda: faults.bad_nonce(endpoint="nowhere"), "unknown endpoint"),
    (lambda: faults.pending_race(on="poll"), "on must be"),
    (lambda: faults.bad_nonce(rate=2), "rate must be"),
    (lambda: faults.bad_nonce(times=0), "times must be"),
    (lambda: faults.hold_processing(), "needs polls"),
    (lambda: faults.server_error(status=418), "status must be"),
    (lambda: faults.latency(0), "positive"),
])
def test_fault_arguments_are_checked(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_faults_describe_themselves(acme_server):
    fault = acme_server.faults.fail_challenge("x.example.test", times=None)
    assert fault.describe() == "fail_challenge(x.example.test, any type, connection; always)"
    assert "fail_challenge" in repr(acme_server.faults)
    with pytest.raises(TypeError, match="not a fault"):
        acme_server.faults.add("bad_nonce")


def test_every_firing_is_in_the_timeline(acme_server):
    acme_server.faults.bad_nonce(times=1)
    acme_server.faults.pending_race(polls=1)
    acme = account_client(acme_server)
    order = ready(acme_server, acme, ["t.example.test"])
    read(acme, order.uri)
    fired = acme_server.faults.fired
    assert [f.fault.kind for f in fired] == ["bad_nonce", "pending_race"]
    assert len([e for e in acme_server.events if e.reason == "FaultFired"]) == len(fired)


SEEDED = '''
import json, os
import josepy
import pytest
from acme import client, messages
from cryptography.hazmat.primitives.asymmetric import ec
from pytest_acme import faults

@pytest.mark.acme(faults=[faults.bad_nonce(rate=0.3, times=None)])
def test_draws(acme_server):
    key = josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    net = client.ClientNetwork(key, alg=josepy.ES256, verify_ssl=acme_server.ca_bundle)
    acme = client.ClientV2(client.ClientV2.get_directory(acme_server.directory_url, net), net)
    for _ in range(5):
        try:
            acme.new_account(messages.NewRegistration(terms_of_service_agreed=True))
            break
        except messages.Error:
            pass
    rejected = []
    for i in range(25):
        try:
            acme.net._post_once(acme.net.account.uri, None)
        except messages.Error:
            rejected.append(i)
    with open(os.environ["DRAWS"], "a") as f:
        f.write(json.dumps(rejected) + "\\n")
'''


def test_a_seeded_random_fault_replays_identically_run_to_run(pytester, monkeypatch):
    """Two runs with the same --acme-seed refuse the same requests; another seed differs."""
    draws = pytester.path / "draws.txt"
    monkeypatch.setenv("DRAWS", str(draws))
    pytester.makepyfile(test_seeded=SEEDED)
    for seed in ("42", "42", "43"):
        pytester.runpytest_subprocess("--acme-seed", seed, "-p", "no:cacheprovider"
                                      ).assert_outcomes(passed=1)
    first, second, third = draws.read_text().splitlines()
    assert first == second
    assert first != third


# -- every routed endpoint can be targeted ------------------------------------------

#: A value for each route argument: enough to build a URL the route matches.
_ROUTE_ARGUMENTS = {"id": "x", "n": 1, "cert_id": "AQID.AQ", "index": "0", "request": "MAA="}
#: Each endpoint of the route table once, with the first rule that routes it.
_ROUTED = {}
for _rule in RULES.iter_rules():
    _ROUTED.setdefault(_rule.endpoint, _rule)


def _request_to(server, rule) -> requests.Response:
    """A request the rule routes: POST where it takes POST (any body: an endpoint
    fault fires before the JWS is read), else GET."""
    url = server.urls.build(rule.endpoint, **{a: _ROUTE_ARGUMENTS[a] for a in rule.arguments})
    if "POST" in rule.methods:
        return requests.post(url, data="{}", headers={"Content-Type": "application/jose+json"},
                             verify=server.ca_bundle, timeout=10)
    return requests.get(url, verify=server.ca_bundle, timeout=10)


@pytest.mark.parametrize("endpoint", sorted(_ROUTED))
def test_every_routed_endpoint_can_be_targeted_and_the_fault_fires_there(acme_server,
                                                                         endpoint):
    fault = acme_server.faults.rate_limited(endpoint, retry_after=7)
    response = _request_to(acme_server, _ROUTED[endpoint])
    assert response.status_code == 429, response.text
    assert response.json()["type"] == PROBLEM + "rateLimited"
    assert endpoint in response.json()["detail"]
    assert response.headers["Retry-After"] == "7"
    assert fault.fired == 1
    assert [f.where for f in acme_server.faults.fired] == [endpoint]


def test_the_endpoints_faults_accept_are_the_route_tables():
    assert set(faults.ENDPOINTS) == set(_ROUTED)


def test_each_directory_name_targets_the_endpoint_it_names(acme_server):
    directory = requests.get(acme_server.directory_url, verify=acme_server.ca_bundle,
                             timeout=10).json()
    names = [name for name in directory if name != "meta"]
    assert "revokeCert" in names and "renewalInfo" in names
    for name in names:
        endpoint = faults.rate_limited(name).endpoint
        rule = _ROUTED[endpoint]
        url = acme_server.urls.build(endpoint, **{a: _ROUTE_ARGUMENTS[a]
                                                  for a in rule.arguments})
        # renewalInfo names the base its queries extend (RFC 9773 §4.1).
        assert url == directory[name] or url.startswith(directory[name] + "/"), name


def test_remove_disarms_one_fault_and_keeps_the_record_of_firings(acme_server):
    plan = acme_server.faults
    first, second = plan.bad_nonce(times=None), plan.bad_nonce(times=None)
    with pytest.raises(messages.Error):
        account_client(acme_server, register=False).new_account(
            messages.NewRegistration(terms_of_service_agreed=True))
    fired = list(plan.fired)
    assert fired
    assert plan.remove(first) is True
    assert plan.faults == [second]
    assert plan.remove(first) is False and plan.remove(bad_nonce()) is False
    assert plan.remove(second) is True and plan.faults == []
    assert list(plan.fired) == fired
    account_client(acme_server)  # nothing left to refuse the nonces
