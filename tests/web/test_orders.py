"""The order semantics of seed 003, sentence by sentence, driven over HTTPS by a
real ACME client (certbot's ``acme`` library) against the ``acme_server`` fixture."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any, Dict, Optional

import pytest
from acme import errors, messages
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import DNSName
from cryptography.x509.verification import PolicyBuilder, Store

from helpers import (
    account_client,
    answer_all,
    challenge,
    deadline,
    ec_key,
    make_csr,
    post,
    sans,
    split_chain,
    verify_chain,
)
from jws_client import PROBLEM, b64
from pytest_acme import problems
from pytest_acme.protocol.resources import CHALLENGE_TYPES
from pytest_acme.protocol.states import Status
from pytest_acme.va import ValidationRequest

# These tests are about order semantics, so challenges pass without responders;
# tests/va covers real validation.
pytestmark = pytest.mark.acme(validation="always_valid")



def read_order(acme, url: str) -> Dict[str, Any]:
    return post(acme, url, None).json()


def ready_order(acme, names, key=None):
    """A new order for ``names`` with every challenge answered and validated."""
    csr = make_csr(names, key)
    order = acme.new_order(csr)
    answer_all(acme, order)
    return order


class FailFor:
    """A validator that fails one identifier with a given problem, and passes the rest."""

    def __init__(self, value: str, problem: problems.Problem) -> None:
        self.value, self.problem = value, problem

    def validate(self, request: ValidationRequest) -> Optional[problems.Problem]:
        return self.problem if request.identifier.value == self.value else None


# -- a complete order -----------------------------------------------------------


def test_full_order_two_names_wildcard_and_ip(acme_server):
    """newAccount, newOrder for two names + a wildcard + an IP, challenges, finalize,
    download; the chain verifies to the server's root."""
    acme = account_client(acme_server, email="admin@example.com")
    cert_key = ec_key()
    names = ["a.example.test", "b.example.test", "*.example.test", "127.0.0.1"]
    order = acme.new_order(make_csr(names, cert_key))
    assert order.body.status == messages.STATUS_PENDING
    answer_all(acme, order)
    order = acme.poll_authorizations(order, deadline())
    order = acme.finalize_order(order, deadline())
    assert order.body.status == messages.STATUS_VALID

    chain = split_chain(order.fullchain_pem)
    leaf = chain[0]
    assert sans(leaf) == set(names)
    assert leaf.public_key().public_numbers() == cert_key.public_key().public_numbers()
    verify_chain(chain, acme_server.roots_pem)
    # The same with cryptography's path validation (RFC 5280 rules, EKU, SAN match).
    roots = x509.load_pem_x509_certificates(acme_server.roots_pem)
    verifier = (PolicyBuilder().store(Store(roots)).time(dt.datetime.now(dt.timezone.utc))
                .build_server_verifier(DNSName("a.example.test")))
    path = verifier.verify(leaf, chain[1:])
    assert path[-1] == roots[0]
    assert leaf.subject.rfc4514_string() == "CN=a.example.test"


# -- creating and reading orders -------------------------------------------------


def test_new_order_response(acme_server):
    """201, Location = order URL, pending, expires, identifiers, one authorization
    per identifier, a finalize URL."""
    acme = account_client(acme_server)
    identifiers = [{"type": "dns", "value": "example.com"}, {"type": "dns", "value": "www.example.com"}]
    before = acme_server.clock.now()
    response = post(acme, acme.directory["newOrder"], {"identifiers": identifiers})
    assert response.status_code == 201
    body = response.json()
    location = response.headers["Location"]
    assert location.startswith(acme_server.url + "/acme/order/")
    assert body["status"] == "pending"
    assert body["identifiers"] == identifiers
    assert len(body["authorizations"]) == 2
    assert body["finalize"] == location + "/finalize"
    expires = dt.datetime.fromisoformat(body["expires"].replace("Z", "+00:00"))
    assert abs((expires - before).total_seconds() - 86400) < 5
    assert response.headers["Retry-After"] == "1"
    assert read_order(acme, location) == body


def test_names_are_normalised_and_duplicates_merged(acme_server):
    acme = account_client(acme_server)
    body = post(acme, acme.directory["newOrder"], {"identifiers": [
        {"type": "dns", "value": "WWW.Example.COM"},
        {"type": "dns", "value": "www.example.com"},
        {"type": "ip", "value": "2001:DB8:0::1"},
    ]}).json()
    assert body["identifiers"] == [{"type": "dns", "value": "www.example.com"},
                                   {"type": "ip", "value": "2001:db8::1"}]


def test_challenges_offered_per_identifier_type(acme_server):
    """Seed 003's table, as Let's Encrypt offers it: dns: http-01, dns-01,
    tls-alpn-01; ip: http-01, tls-alpn-01; a wildcard is accepted as dns, its
    authorization is for the base name with wildcard: true, and offers dns-01
    only (so http-01 and tls-alpn-01 cannot validate it).  Every challenge offered
    has a token, as a client that reads one from each challenge expects."""
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["plain.example.test", "*.wild.example.test", "10.0.0.1"]))
    offered = {}
    for authz in order.authorizations:
        key = ("*." if authz.body.wildcard else "") + authz.body.identifier.value
        # As certbot's acme library parsed them (tls-alpn-01, which it no longer
        # knows, keeps its JSON as an UnrecognizedChallenge).
        docs = [c.to_partial_json() for c in authz.body.challenges]
        offered[key] = sorted(d["type"] for d in docs)  # in an order of their own
        for doc in docs:
            assert doc["status"] in ("pending", messages.STATUS_PENDING)
            assert len(doc["token"]) >= 22
    assert offered == {
        "plain.example.test": ["dns-01", "http-01", "tls-alpn-01"],
        "*.wild.example.test": ["dns-01"],
        "10.0.0.1": ["http-01", "tls-alpn-01"],
    }


@pytest.mark.acme(challenge_types=CHALLENGE_TYPES)
def test_the_drafts_are_offered_when_asked_for(acme_server):
    """With every type the server can check: dns gets dns-account-01 and
    dns-persist-01 too, a wildcard the three DNS challenges; ip is unchanged."""
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["plain.example.test", "*.wild.example.test", "10.0.0.1"]))
    by_value = {}
    for authz in order.authorizations:
        raw = read_order(acme, authz.uri)
        by_value[(raw["identifier"]["value"], raw.get("wildcard", False))] = raw
    offered = {k: sorted(c["type"] for c in v["challenges"]) for k, v in by_value.items()}
    assert offered == {
        ("plain.example.test", False): ["dns-01", "dns-account-01", "dns-persist-01",
                                        "http-01", "tls-alpn-01"],
        ("wild.example.test", True): ["dns-01", "dns-account-01", "dns-persist-01"],
        ("10.0.0.1", False): ["http-01", "tls-alpn-01"],
    }
    assert by_value[("10.0.0.1", False)]["identifier"]["type"] == "ip"
    for authz in by_value.values():
        assert authz["status"] == "pending"
        for chall in authz["challenges"]:
            if chall["type"] == "dns-persist-01":
                # No token: the record names the CA and the account instead.
                assert "token" not in chall
                assert chall["issuer-domain-names"] == ["pytest-acme.test"]
                continue
            assert chall["status"] == "pending" and len(chall["token"]) >= 22


@pytest.mark.parametrize(
    "identifiers, type_, words",
    [
        ([{"type": "dns", "value": "bad_name.example"}], "rejectedIdentifier", ["characters"]),
        ([{"type": "dns", "value": "*.*.example.com"}], "rejectedIdentifier", ["wildcard"]),
        ([{"type": "dns", "value": "127.0.0.1"}], "rejectedIdentifier", ["type 'ip'"]),
        # Boulder and Pebble both refuse a trailing dot.
        ([{"type": "dns", "value": "www.example.com."}], "rejectedIdentifier",
         ["ends in a dot", "'example.com', not"]),
        # Boulder's policy: at most 10 labels, a wildcard's '*' counted.
        ([{"type": "dns", "value": "a.b.c.d.e.f.g.h.i.example.test"}], "rejectedIdentifier",
         ["11 labels", "at most 10"]),
        ([{"type": "dns", "value": "*.b.c.d.e.f.g.h.i.example.test"}], "rejectedIdentifier",
         ["11 labels", "at most 10"]),
        ([{"type": "ip", "value": "300.1.1.1"}], "rejectedIdentifier", ["IPv4"]),
        ([{"type": "email", "value": "a@example.com"}], "unsupportedIdentifier", ["'email'"]),
        ([], "malformed", ["non-empty"]),
        ([{"type": "dns"}], "malformed", ["identifier must be an object"]),
    ],
)
def test_invalid_identifiers_are_refused(acme_server, identifiers, type_, words):
    acme = account_client(acme_server)
    with pytest.raises(messages.Error) as err:
        post(acme, acme.directory["newOrder"], {"identifiers": identifiers})
    assert err.value.typ == PROBLEM + type_
    for word in words:
        assert word in err.value.detail
    assert not acme_server.app.store.orders


def test_one_bad_identifier_among_good_ones_has_a_subproblem(acme_server):
    acme = account_client(acme_server)
    with pytest.raises(messages.Error) as err:
        post(acme, acme.directory["newOrder"], {"identifiers": [
            {"type": "dns", "value": "good.example.test"},
            {"type": "dns", "value": "bad..example.test"},
            {"type": "dns", "value": "-worse.example.test"},
        ]})
    assert err.value.typ == PROBLEM + "rejectedIdentifier"
    subs = err.value.subproblems
    assert [s.identifier.value for s in subs] == ["bad..example.test", "-worse.example.test"]


# -- the lifecycle -------------------------------------------------------------


def test_pending_until_every_authorization_is_valid_then_ready(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["one.example.test", "two.example.test"]))
    first, second = order.authorizations
    challb = next(c for c in first.body.challenges if c.chall.typ == "http-01")
    acme.answer_challenge(challb, challb.chall.response(acme.net.key))
    acme_server.wait_idle()
    assert read_order(acme, order.uri)["status"] == "pending"
    assert read_order(acme, first.uri)["status"] == "valid"
    challb = next(c for c in second.body.challenges if c.chall.typ == "dns-01")
    acme.answer_challenge(challb, challb.chall.response(acme.net.key))
    acme_server.wait_idle()
    body = read_order(acme, order.uri)
    assert body["status"] == "ready"
    chall = read_order(acme, challb.uri)
    assert chall["status"] == "valid" and "validated" in chall
    order_id = order.uri.rsplit("/", 1)[1]
    reasons = [e.reason for e in acme_server.events if order_id in e.order_ids]
    assert reasons.count("ChallengeValid") == 2 and reasons[-1] == "OrderReady"


def test_a_failed_challenge_makes_authorization_and_order_invalid_with_the_error(acme_server):
    """Seed 003 "Error handling": the order is invalid and records the error."""
    acme_server.app.validator = FailFor("down.example.test", problems.Connection(
        "connection error during challenge: TCP connect to down.example.test:80: refused"))
    acme = account_client(acme_server)
    order = ready_order(acme, ["up.example.test", "down.example.test"])
    acme_server.wait_idle()
    with pytest.raises(errors.ValidationError) as err:
        acme.poll_authorizations(order, deadline())
    assert [a.body.identifier.value for a in err.value.failed_authzrs] == ["down.example.test"]
    body = read_order(acme, order.uri)
    assert body["status"] == "invalid"
    assert body["error"]["type"] == PROBLEM + "connection"
    assert body["error"]["detail"].startswith("connection error during challenge")
    assert body["error"]["identifier"] == {"type": "dns", "value": "down.example.test"}
    statuses = {read_order(acme, a.uri)["identifier"]["value"]: read_order(acme, a.uri)["status"]
                for a in order.authorizations}
    assert statuses == {"up.example.test": "valid", "down.example.test": "invalid"}
    # An invalid order is over: finalize is refused, a new order works.
    with pytest.raises(messages.Error) as err:
        post(acme, body["finalize"], {"csr": "AA"})
    assert err.value.typ == PROBLEM + "orderNotReady"
    acme_server.app.validator = FailFor("nothing", problems.Connection("-"))
    again = ready_order(acme, ["up.example.test", "down.example.test"])
    acme_server.wait_idle()
    assert read_order(acme, again.uri)["status"] == "ready"


def test_finalize_issues_immediately_and_answers_valid_with_the_certificate(acme_server):
    acme = account_client(acme_server)
    key = ec_key()
    order = ready_order(acme, ["now.example.test"], key)
    acme_server.wait_idle()
    finalized = acme.begin_finalization(order)
    assert finalized.body.status == messages.STATUS_VALID
    response = post(acme, finalized.body.certificate, None)
    assert response.headers["Content-Type"] == "application/pem-certificate-chain"
    chain = split_chain(response.content)
    assert len(chain) == 2
    assert chain[1].subject == chain[0].issuer
    assert read_order(acme, order.uri)["certificate"] == finalized.body.certificate


@pytest.mark.acme(finalize="async")
def test_async_finalize_answers_processing_with_retry_after_then_valid(acme_server):
    acme = account_client(acme_server)
    order = ready_order(acme, ["later.example.test"])
    acme_server.wait_idle()
    gate = threading.Event()
    issue = acme_server.app.issue
    acme_server.app.issue = lambda *a: (gate.wait(5), issue(*a))  # hold issuance
    try:
        response = post(acme, order.body.finalize, {"csr": _der(order.csr_pem)})
        assert response.json()["status"] == "processing"
        assert response.headers["Retry-After"] == "1"
        assert read_order(acme, order.uri)["status"] == "processing"
    finally:
        gate.set()
    acme_server.wait_idle()
    body = read_order(acme, order.uri)
    assert body["status"] == "valid" and body["certificate"]


def test_finalize_before_ready_is_order_not_ready(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["early.example.test"]))
    with pytest.raises(messages.Error) as err:
        acme.begin_finalization(order)
    assert err.value.typ == PROBLEM + "orderNotReady"
    assert "pending" in err.value.detail
    assert read_order(acme, order.uri)["status"] == "pending"


def test_finalize_twice_is_order_not_ready(acme_server):
    acme = account_client(acme_server)
    order = ready_order(acme, ["twice.example.test"])
    acme_server.wait_idle()
    acme.begin_finalization(order)
    with pytest.raises(messages.Error) as err:
        acme.begin_finalization(order)
    assert err.value.typ == PROBLEM + "orderNotReady"
    assert "valid" in err.value.detail


# -- the four CSR rules (and two more) -----------------------------------------------


def _der(pem: bytes) -> str:
    return b64(x509.load_pem_x509_csr(pem).public_bytes(Encoding.DER))


def _tampered(pem: bytes) -> str:
    der = bytearray(x509.load_pem_x509_csr(pem).public_bytes(Encoding.DER))
    der[-5] ^= 0x01  # inside the signature value
    return b64(bytes(der))


NAMES = ["csr.example.test", "www.csr.example.test"]


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda acme: b64(b"\x30\x03garbage"), "not a valid PKCS#10"),
        (lambda acme: _tampered(make_csr(NAMES)), "self-signature"),
        (lambda acme: _der(make_csr(NAMES + ["extra.example.test"])), "not in the order"),
        (lambda acme: _der(make_csr(NAMES[:1])), "missing dns:www.csr.example.test"),
        (lambda acme: _der(make_csr(NAMES, san=False, common_name=NAMES[0])),
         "no subjectAltName"),
        (lambda acme: _der(make_csr(NAMES, ca=True)), "cA=TRUE"),
        (lambda acme: _der(make_csr(NAMES, acme.account_private_key)), "account key"),
        (lambda acme: _der(make_csr(NAMES, common_name="other.example.test")), "subject CN"),
    ],
    ids=["der", "signature", "extra-name", "missing-name", "no-san", "ca-true", "account-key",
         "cn-outside-sans"],
)
def test_each_csr_rule_is_bad_csr_and_the_order_becomes_invalid(acme_server, make, words):
    """Seed 003: processing -> invalid when CSR validation fails, with the error."""
    acme = account_client(acme_server)
    order = ready_order(acme, NAMES)
    acme_server.wait_idle()
    with pytest.raises(messages.Error) as err:
        post(acme, order.body.finalize, {"csr": make(acme)})
    assert err.value.typ == PROBLEM + "badCSR"
    assert words in err.value.detail
    body = read_order(acme, order.uri)
    assert body["status"] == "invalid"
    assert body["error"]["type"] == PROBLEM + "badCSR"
    assert words in body["error"]["detail"]


def test_finalize_payload_errors_are_malformed(acme_server):
    acme = account_client(acme_server)
    order = ready_order(acme, ["p.example.test"])
    acme_server.wait_idle()
    for payload, words in (({}, "needs 'csr'"), ({"csr": "a+b/"}, "base64url"),
                           ({"csr": 7}, "base64url string")):
        with pytest.raises(messages.Error) as err:
            post(acme, order.body.finalize, payload)
        assert err.value.typ == PROBLEM + "malformed" and words in err.value.detail
    assert read_order(acme, order.uri)["status"] == "ready"


def test_csr_names_may_differ_in_case_and_order(acme_server):
    acme = account_client(acme_server)
    order = ready_order(acme, ["x.example.test", "y.example.test"])
    acme_server.wait_idle()
    response = post(acme, order.body.finalize,
                    {"csr": _der(make_csr(["Y.EXAMPLE.TEST", "x.example.test"],
                                          common_name="X.example.test"))})
    assert response.json()["status"] == "valid"


# -- expiry ----------------------------------------------------------------------


def test_an_expired_order_reads_invalid_and_cannot_be_finalized(acme_server):
    acme = account_client(acme_server)
    order = ready_order(acme, ["old.example.test"])
    acme_server.wait_idle()
    assert read_order(acme, order.uri)["status"] == "ready"
    acme_server.clock.advance(86400)
    assert read_order(acme, order.uri)["status"] == "invalid"
    with pytest.raises(messages.Error) as err:
        acme.begin_finalization(order)
    assert err.value.typ == PROBLEM + "orderNotReady"
    assert "expired" in err.value.detail
    # A new order must be created, and it works.
    fresh = ready_order(acme, ["old.example.test"])
    acme_server.wait_idle()
    assert acme.begin_finalization(fresh).body.status == messages.STATUS_VALID


@pytest.mark.acme(order_expiry=60)
def test_order_expiry_is_configurable(acme_server):
    acme = account_client(acme_server)
    response = post(acme, acme.directory["newOrder"], {"identifiers": [
        {"type": "dns", "value": "short.example.test"}]})
    created = acme_server.clock.now()
    expires = dt.datetime.fromisoformat(response.json()["expires"].replace("Z", "+00:00"))
    assert abs((expires - created).total_seconds() - 60) < 5
    acme_server.clock.advance(59)
    assert read_order(acme, response.headers["Location"])["status"] == "pending"
    acme_server.clock.advance(2)
    assert read_order(acme, response.headers["Location"])["status"] == "invalid"


def _expires(body: Dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(body["expires"].replace("Z", "+00:00"))


def _move_clock_to(server, when: dt.datetime) -> None:
    server.clock.advance(max(when - server.clock.now(), dt.timedelta(0)))


def test_an_order_is_expired_at_the_instant_its_expires_shows(acme_server):
    """One second before the advertised ``expires`` finalize works; at that
    instant the order reads invalid and finalize gets orderNotReady, whose detail
    says why and what to do, once each; the order's ``error`` is orderNotReady."""
    acme = account_client(acme_server)
    early = ready_order(acme, ["early.example.test"])
    acme_server.wait_idle()
    body = read_order(acme, early.uri)
    assert body["status"] == "ready"
    _move_clock_to(acme_server, _expires(body) - dt.timedelta(seconds=1))
    assert acme.begin_finalization(early).body.status == messages.STATUS_VALID

    late = ready_order(acme, ["late.example.test"])
    acme_server.wait_idle()
    body = read_order(acme, late.uri)
    assert body["status"] == "ready"
    _move_clock_to(acme_server, _expires(body))
    assert read_order(acme, late.uri)["status"] == "invalid"
    with pytest.raises(messages.Error) as err:
        acme.begin_finalization(late)
    assert err.value.typ == PROBLEM + "orderNotReady"
    assert err.value.detail == (f"the order is invalid (the order expired at "
                                f"{body['expires']}); create a new order")
    assert read_order(acme, late.uri)["error"] == {
        "type": PROBLEM + "orderNotReady", "status": 403,
        "detail": f"the order expired at {body['expires']}"}


def test_an_authorization_is_expired_at_the_instant_its_expires_shows(acme_server):
    """One second before the advertised ``expires`` a challenge can be answered;
    at that instant the authorization reads expired and refuses it."""
    acme = account_client(acme_server)
    early = acme.new_order(make_csr(["early.example.test"]))
    body = read_order(acme, early.authorizations[0].uri)
    _move_clock_to(acme_server, _expires(body) - dt.timedelta(seconds=1))
    challb = challenge(early.authorizations[0])
    acme.answer_challenge(challb, challb.chall.response(acme.net.key))
    acme_server.wait_idle()
    assert read_order(acme, early.authorizations[0].uri)["status"] == "valid"

    late = acme.new_order(make_csr(["late.example.test"]))
    body = read_order(acme, late.authorizations[0].uri)
    _move_clock_to(acme_server, _expires(body))
    assert read_order(acme, late.authorizations[0].uri)["status"] == "expired"
    challb = challenge(late.authorizations[0])
    with pytest.raises(messages.Error) as err:
        acme.answer_challenge(challb, challb.chall.response(acme.net.key))
    assert err.value.typ == PROBLEM + "malformed" and "expired" in err.value.detail


def test_an_order_whose_authorization_is_validated_after_it_expired_never_becomes_ready(
        acme_server):
    """The authorization outlives the order (7 days against 1): validated after
    the order's ``expires``, it is valid, and the order stays invalid: in what the
    client reads, in what the server stores and in its timeline."""
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["slow.example.test"]))
    _move_clock_to(acme_server, _expires(read_order(acme, order.uri)))
    challb = challenge(order.authorizations[0])
    acme.answer_challenge(challb, challb.chall.response(acme.net.key))
    acme_server.wait_idle()
    assert read_order(acme, order.authorizations[0].uri)["status"] == "valid"
    assert read_order(acme, order.uri)["status"] == "invalid"
    info = acme_server.order(order.uri)
    assert info.status is info.stored_status is Status.INVALID
    reasons = [e.reason for e in info.events if e.kind == "order"]
    assert "OrderReady" not in reasons and "OrderExpired" in reasons
    with pytest.raises(messages.Error) as err:
        acme.begin_finalization(order)
    assert err.value.typ == PROBLEM + "orderNotReady" and "expired" in err.value.detail


def test_expired_authorizations_read_expired_and_refuse_challenges(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["stale.example.test"]))
    acme_server.clock.advance(acme_server.config.authorization_lifetime)
    authz = read_order(acme, order.authorizations[0].uri)
    assert authz["status"] == "expired"
    challb = challenge(order.authorizations[0])
    with pytest.raises(messages.Error) as err:
        acme.answer_challenge(challb, challb.chall.response(acme.net.key))
    assert err.value.typ == PROBLEM + "malformed" and "expired" in err.value.detail


# -- notBefore / notAfter -----------------------------------------------------------


def test_not_before_and_not_after_are_honoured(acme_server):
    acme = account_client(acme_server)
    start = acme_server.clock.now().replace(microsecond=0) + dt.timedelta(hours=1)
    end = start + dt.timedelta(days=7)
    stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    response = post(acme, acme.directory["newOrder"], {
        "identifiers": [{"type": "dns", "value": "window.example.test"}],
        "notBefore": stamp(start), "notAfter": stamp(end)})
    body = response.json()
    assert (body["notBefore"], body["notAfter"]) == (stamp(start), stamp(end))
    order = acme.new_order(make_csr(["window.example.test"]))  # a plain one for comparison
    authz = read_order(acme, body["authorizations"][0])
    challb = messages.ChallengeBody.from_json(
        next(c for c in authz["challenges"] if c["type"] == "http-01"))
    acme.answer_challenge(challb, challb.chall.response(acme.net.key))
    acme_server.wait_idle()
    done = post(acme, body["finalize"], {"csr": _der(make_csr(["window.example.test"]))}).json()
    leaf = split_chain(post(acme, done["certificate"], None).content)[0]
    assert leaf.not_valid_before_utc == start and leaf.not_valid_after_utc == end
    assert order.body.status == messages.STATUS_PENDING


@pytest.mark.parametrize("window, words", [
    ({"notBefore": "2030-01-02T00:00:00Z", "notAfter": "2030-01-01T00:00:00Z"}, "later than"),
    ({"notAfter": "2001-01-01T00:00:00Z"}, "in the past"),
    ({"notBefore": "2030-01-01T00:00:00Z", "notAfter": "2031-01-01T00:00:00Z"}, "longer than"),
    ({"notBefore": "yesterday"}, "RFC 3339"),
    ({"notAfter": "2030-01-01T00:00:00"}, "time zone"),
])
def test_unusable_validity_windows_are_refused(acme_server, window, words):
    acme = account_client(acme_server)
    with pytest.raises(messages.Error) as err:
        post(acme, acme.directory["newOrder"], {
            "identifiers": [{"type": "dns", "value": "w.example.test"}], **window})
    assert err.value.typ == PROBLEM + "malformed" and words in err.value.detail


# -- certificates and ownership ----------------------------------------------------


def test_certificate_belongs_to_its_account(acme_server):
    owner = account_client(acme_server)
    order = ready_order(owner, ["mine.example.test"])
    acme_server.wait_idle()
    cert_url = owner.begin_finalization(order).body.certificate
    other = account_client(acme_server)
    for url in (cert_url, order.uri, order.authorizations[0].uri,
                challenge(order.authorizations[0]).uri):
        with pytest.raises(messages.Error) as err:
            post(other, url, None)
        assert err.value.typ == PROBLEM + "unauthorized"
    with pytest.raises(messages.Error) as err:
        post(owner, cert_url, {})
    assert "POST-as-GET" in err.value.detail
    with pytest.raises(messages.Error) as err:
        post(owner, cert_url.rsplit("/", 1)[0] + "/nothing", None)
    assert err.value.typ == PROBLEM + "malformed" and err.value.detail.startswith("no certificate")


def test_authorization_deactivation_invalidates_the_order(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["gone.example.test"]))
    authz = acme.deactivate_authorization(order.authorizations[0])
    assert authz.body.status == messages.STATUS_DEACTIVATED
    body = read_order(acme, order.uri)
    assert body["status"] == "invalid" and "deactivated" in body["error"]["detail"]
