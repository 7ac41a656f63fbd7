"""Every problem detail the server produces, read as a person reading a failed test
reads it: what happened, then what to do, the same advice never twice, and
times in RFC 3339.

The details are not listed here: they are collected by driving the server,
through the hostile-input corpus (tests/hostile, every case of every module,
run against a fresh server per module) and through scenarios over HTTPS with a
real client (validation failures of each method, expiry, nonces, faults, CAA,
deactivation).  A new problem the server learns to give is audited the moment a
test provokes it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import re
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from helpers import account_client, make_csr, post_unchecked, read
from pytest_acme import dns01_txt, faults
from pytest_acme.listeners import spare_port
from wsgi_world import World

#: An instant as a person might meet it in a detail: a date, then a time.
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?")
_RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
#: What the client sent, echoed between quotes: not the server's wording.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def problems_in(doc: Dict[str, Any], where: str) -> Iterator[Tuple[str, Dict[str, Any]]]:
    yield where, doc
    for sub in doc.get("subproblems") or ():
        yield f"{where} (subproblem)", sub


def hostile_details() -> List[Tuple[str, Dict[str, Any]]]:
    """Every problem document the hostile corpus provokes, with its case id."""
    found = []
    corpus = importlib.import_module("hostile")
    names = sorted(info.name for info in pkgutil.iter_modules(corpus.__path__)
                   if info.name.startswith("test_hostile_"))
    for module_name in [n for n in names if not n.endswith("_over_https")]:  # (HTTPS senders)
        module = importlib.import_module("hostile." + module_name)
        for name, test in vars(module).items():
            for mark in getattr(test, "pytestmark", []) if name.startswith("test_") else []:
                if mark.name != "parametrize" or not mark.args[0].startswith("send,"):
                    continue
                world = World()  # as the corpus runs: one server per module's test
                for n, case in enumerate(mark.args[1]):
                    values = getattr(case, "values", case)  # pytest.param or a plain tuple
                    send, case_id = values[0], getattr(case, "id", None) or str(n)
                    response = send(world)
                    if response.headers.get("Content-Type") == "application/problem+json":
                        found += problems_in(response.get_json(), f"{module.__name__}:{case_id}")
    return found


def answer(acme, authz, typ: str) -> None:
    """POST {} to the authorization's ``typ`` challenge ("validate now")."""
    post_unchecked(acme, next(c["url"] for c in read(acme, authz.uri)["challenges"]
                              if c["type"] == typ), {})


def scenario_details(server, http01, dns) -> List[Tuple[str, Dict[str, Any]]]:
    """Problems of validation, expiry, nonces, faults, CAA and deactivation, over
    HTTPS with certbot's ``acme``: every answer's problem, and every challenge's
    and order's ``error``."""
    found: List[Tuple[str, Dict[str, Any]]] = []

    def keep(response, where):
        if response.headers.get("Content-Type") == "application/problem+json":
            found.extend(problems_in(response.json(), where))

    acme = account_client(server)
    server.reconfigure(challenge_types=["http-01", "dns-01", "tls-alpn-01", "dns-account-01",
                                        "dns-persist-01"], nonce_lifetime=60,
                       http01_port=http01.port)
    # Validation: refused, 404, no TXT, SERVFAIL, CAA, tls-alpn-01 refused.
    names = ["refused.example.test", "missing.example.test", "notxt.example.test",
             "servfail.example.test", "caa.example.test", "alpn.example.test",
             "acct.example.test", "persist.example.test"]
    dns.set_servfail("_acme-challenge.servfail.example.test")
    dns.add_caa("caa.example.test", 0, "issue", "other-ca.example")
    orders = {name: acme.new_order(make_csr([name])) for name in names}
    authz = {name: o.authorizations[0] for name, o in orders.items()}
    answer(acme, authz["missing.example.test"], "http-01")
    answer(acme, authz["notxt.example.test"], "dns-01")
    answer(acme, authz["servfail.example.test"], "dns-01")
    answer(acme, authz["acct.example.test"], "dns-account-01")
    answer(acme, authz["persist.example.test"], "dns-persist-01")
    caa_chall = next(c for c in authz["caa.example.test"].body.challenges
                     if c.chall.typ == "dns-01")
    dns.set_txt("_acme-challenge.caa.example.test",
                dns01_txt(caa_chall.chall.key_authorization(acme.net.key)))
    answer(acme, authz["caa.example.test"], "dns-01")
    server.wait_idle()
    server.reconfigure(http01_port=spare_port(), tlsalpn01_port=spare_port())
    answer(acme, authz["refused.example.test"], "http-01")
    answer(acme, authz["alpn.example.test"], "tls-alpn-01")
    server.wait_idle()

    # Finalize too early, and after the authorization was deactivated.
    early = acme.new_order(make_csr(["early.example.test"]))
    keep(post_unchecked(acme, early.body.finalize, {"csr": "AAAA"}), "finalize pending")
    post_unchecked(acme, early.authorizations[0].uri, {"status": "deactivated"})
    keep(post_unchecked(acme, early.body.finalize, {"csr": "AAAA"}), "finalize deactivated")
    keep(post_unchecked(acme, early.authorizations[0].uri, {"status": "deactivated"}),
         "deactivate again")

    # Faults, each on the request it names.
    server.reconfigure(validation="always_valid")
    server.faults.add(faults.rate_limited("new_order"))
    keep(post_unchecked(acme, acme.directory["newOrder"],
                        {"identifiers": [{"type": "dns", "value": "x.example.test"}]}),
         "rate_limited")
    server.faults.add(faults.server_error("new_order", status=503, retry_after=10))
    keep(post_unchecked(acme, acme.directory["newOrder"],
                        {"identifiers": [{"type": "dns", "value": "x.example.test"}]}),
         "server_error")
    server.faults.add(faults.bad_nonce())
    keep(post_unchecked(acme, acme.directory["newOrder"],
                        {"identifiers": [{"type": "dns", "value": "x.example.test"}]}),
         "bad_nonce")
    server.faults.add(faults.fail_challenge("failed.example.test", problem="dns"),
                      faults.reject_csr(), faults.fail_issuance())
    for name in ("failed.example.test", "csr.example.test", "issue.example.test"):
        order = acme.new_order(make_csr([name]))
        answer(acme, order.authorizations[0], "http-01")
        server.wait_idle()
        keep(post_unchecked(acme, order.body.finalize, {"csr": _csr_b64(order.csr_pem)}),
             f"finalize {name}")
    doomed = acme.new_order(make_csr(["doomed.example.test"]))
    server.faults.invalidate_order(doomed.uri)
    keep(post_unchecked(acme, doomed.body.finalize, {"csr": "AAAA"}), "finalize invalidated")

    # Time: a nonce too old, an order expired, notAfter in the past.
    late = acme.new_order(make_csr(["late.example.test"]))
    server.clock.advance(61)
    keep(post_unchecked(acme, late.uri, None), "old nonce")
    server.reconfigure(nonce_lifetime=None)
    server.clock.advance(dt.timedelta(days=1))
    keep(post_unchecked(acme, late.body.finalize, {"csr": "AAAA"}), "finalize expired")
    keep(post_unchecked(acme, acme.directory["newOrder"], {
        "identifiers": [{"type": "dns", "value": "past.example.test"}],
        "notAfter": "2000-01-01T00:00:00Z"}), "notAfter in the past")
    keep(post_unchecked(acme, acme.directory["newOrder"], {"identifiers": [
        {"type": "dns", "value": "a b.example.test"}, {"type": "dns", "value": "c d.example.test"},
        {"type": "dns", "value": "e f.example.test"}]}), "three refused identifiers")

    for info in server.orders():
        if info.error:
            found += problems_in(info.error, f"order {info.identifiers[0]} error")
        for a in info.authorizations:
            for c in a.challenges:
                if c.error:
                    found += problems_in(c.error, f"{c.type} {a.identifier} error")
    for record in server.requests:
        if record.detail:
            found.append((f"{record.method} {record.path}", {"detail": record.detail}))
    return found


def _csr_b64(pem: bytes) -> str:
    from wsgi_world import csr_b64

    return csr_b64(pem)


def clauses(detail: str) -> List[str]:
    """The detail's sentences and ';'-clauses, quotes blanked, words lower-cased."""
    text = _QUOTED.sub("'…'", detail)
    text = re.sub(r"\S+://\S+", "URL", text)
    return [" ".join(re.sub(r"[()]", " ", part).lower().split())
            for part in re.split(r"[.;](?:\s|$)", text) if part.strip()]


def phrases(detail: str, n: int = 4) -> List[str]:
    words = [w for w in re.split(r"[\s,;:()]+", _QUOTED.sub("'…'", detail).lower()) if w]
    return [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]


def audit(where: str, doc: Dict[str, Any]) -> List[str]:
    """What is wrong with one problem detail ([] when nothing)."""
    detail = doc.get("detail") or ""
    wrong = []
    if not detail.strip():
        wrong.append(f"{where}: no detail")
    for stamp in _TIMESTAMP.finditer(_QUOTED.sub("'…'", detail)):
        if not _RFC3339_UTC.fullmatch(stamp.group(0)):
            wrong.append(f"{where}: time {stamp.group(0)!r} is not RFC 3339 UTC: {detail}")
    seen = clauses(detail)
    twice = {c for c in seen if seen.count(c) > 1}
    grams = phrases(detail)
    twice |= {g for g in grams if grams.count(g) > 1 and "…" not in g}
    if twice:
        wrong.append(f"{where}: says {sorted(twice)[0]!r} more than once: {detail}")
    if len(seen) > 3:
        wrong.append(f"{where}: {len(seen)} sentences, more than what happened and what "
                     f"to do: {detail}")
    return wrong


@pytest.fixture(scope="module")
def hostile() -> List[Tuple[str, Dict[str, Any]]]:
    return hostile_details()


def test_the_hostile_corpus_gives_many_distinct_details(hostile):
    assert len({doc["detail"] for _, doc in hostile}) > 200


def test_every_detail_of_the_hostile_corpus_reads_well(hostile):
    wrong = [w for where, doc in hostile for w in audit(where, doc)]
    assert wrong == []


def test_every_detail_of_validation_expiry_nonces_and_faults_reads_well(
        acme_server, acme_http01_responder, acme_dns):
    found = scenario_details(acme_server, acme_http01_responder, acme_dns)
    kinds = {doc.get("type", "").rsplit(":", 1)[-1] for _, doc in found}
    # The scenarios reach what they mean to: one of every kind below.
    assert {"connection", "unauthorized", "dns", "caa", "orderNotReady", "rateLimited",
            "serverInternal", "badNonce", "badCSR", "rejectedIdentifier",
            "malformed"} <= kinds, kinds
    times = [doc["detail"] for _, doc in found if _TIMESTAMP.search(doc.get("detail") or "")]
    assert times, "some details give a time"
    wrong = [w for where, doc in found for w in audit(where, doc)]
    assert wrong == []


@pytest.mark.parametrize("detail, complaint", [
    ("the order expired at 2026-12-06 05:50:24+00:00", "RFC 3339"),
    ("the order expired at 2026-12-06T05:50:24+00:00", "RFC 3339"),
    ("the order is invalid (the order expired at 2026-12-06T05:50:24Z; create a new order); "
     "create a new order", "more than once"),
    ("a happened. b happened. c happened. d happened", "sentences"),
    ("", "no detail"),
])
def test_the_audit_catches_what_it_looks_for(detail, complaint):
    assert any(complaint in w for w in audit("x", {"detail": detail}))


def test_the_audit_passes_what_reads_well():
    assert audit("x", {"detail": "the order expired at 2026-12-06T05:50:24Z; create a new "
                                 "order"}) == []
    # The client's own text, echoed in quotes, is not the server's wording.
    assert audit("x", {"detail": "'notAfter' '2099-01-01 00:00:00' needs a time zone"}) == []


@pytest.mark.parametrize("fault, advice", [
    (faults.server_error("new_order"), "retry the request later"),
    (faults.server_error("new_order", status=503, retry_after=10), "retry after 10 s"),
    (faults.rate_limited("new_order"), "retry after 60 s"),
    (faults.rate_limited("new_order", retry_after=None), "retry the request later"),
], ids=["500", "503-retry-after", "429", "429-no-retry-after"])
def test_an_injected_endpoint_error_says_what_to_do(acme_server, fault, advice):
    acme = account_client(acme_server)
    acme_server.faults.add(fault)
    response = post_unchecked(acme, acme.directory["newOrder"],
                              {"identifiers": [{"type": "dns", "value": "x.example.test"}]})
    detail = response.json()["detail"]
    assert "(injected fault" in detail and detail.endswith(f"); {advice}"), detail
    assert ("Retry-After" in response.headers) == (fault.retry_after is not None)
