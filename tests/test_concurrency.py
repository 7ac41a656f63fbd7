"""Many clients at once, with faults firing: every object is accounted for,
belongs to the right account, every certificate verifies, nothing deadlocks.

Sixteen threads each register an account and order two names: one validated
over http-01 (through the responder fixture), a wildcard over dns-01 (through
the server's zone), with the real validator.  Meanwhile a seeded ``bad_nonce``
refuses some requests, ``fail_challenge`` fails the http-01 name of every fourth
client, and ``hold_processing`` keeps some finalized orders ``processing`` for
a few polls.  Every wait has a deadline that fails the test.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, List

import pytest
from acme import messages

from helpers import account_client, ec_key, make_csr, post, sans, split_chain, verify_chain
from jws_client import b64
from pytest_acme import dns01_txt

CLIENTS = 16
TIMEOUT = 60.0


def retrying(call: Callable[[], Any], attempts: int = 8) -> Any:
    """Retry ``call`` on badNonce, as RFC 8555 §6.5 tells clients to.  (The
    injected badNonce refuses a request before it reaches the handler, so a
    retry never makes an object twice.)"""
    for attempt in range(attempts):
        try:
            return call()
        except messages.Error as e:
            if e.code != "badNonce" or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def by_type(acme, authz_url: str, typ: str) -> Dict[str, Any]:
    body = retrying(lambda authz_url=authz_url: acme.net.post(authz_url, None)).json()
    return next(c for c in body["challenges"] if c["type"] == typ)


def key_authorization(acme, token: str) -> str:
    return f"{token}.{b64(acme.net.key.public_key().thumbprint())}"


def poll(acme, url: str, until: Callable[[Dict[str, Any]], bool]) -> Dict[str, Any]:
    """Read ``url`` until ``until(body)``; the validator and issuer run in the
    server's own threads, so each read is a real wait on them (no sleep)."""
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        body = retrying(lambda: acme.net.post(url, None)).json()
        if until(body):
            return body
    raise AssertionError(f"{url} did not settle in {TIMEOUT} s: {body}")


def client_run(server, responder, dns, i: int, failing: bool, out: Dict[str, Any]) -> None:
    acme = retrying(lambda: account_client(server))
    key = ec_key()
    names = [f"h{i}.conc.test", f"*.d{i}.conc.test"]
    # One request per retry: the library's new_order() also reads the authorizations,
    # and retrying all of it after a refused read would make a second order.
    created = retrying(lambda: post(acme, acme.directory["newOrder"], {
        "identifiers": [{"type": "dns", "value": n} for n in names]}))
    order_url = created.headers["Location"]
    out.update(account=acme.net.account.uri, order=order_url, names=names)
    for authz_url in created.json()["authorizations"]:
        identifier = retrying(lambda authz_url=authz_url: acme.net.post(authz_url, None)).json()["identifier"]
        if identifier["value"].startswith("d"):
            chall = by_type(acme, authz_url, "dns-01")
            dns.set_txt(f"_acme-challenge.d{i}.conc.test",
                        dns01_txt(key_authorization(acme, chall["token"])))
        else:
            chall = by_type(acme, authz_url, "http-01")
            responder.publish(chall["token"], key_authorization(acme, chall["token"]))
        retrying(lambda chall=chall: post(acme, chall["url"], {}))
    body = poll(acme, order_url, lambda b: b["status"] in ("ready", "invalid"))
    if failing:
        assert body["status"] == "invalid", body
        out["result"] = "invalid"
        return
    assert body["status"] == "ready", body
    csr = b64(_csr_der(names, key))
    retrying(lambda: post(acme, body["finalize"], {"csr": csr}))
    body = poll(acme, order_url, lambda b: b["status"] in ("valid", "invalid"))
    assert body["status"] == "valid", body
    pem = retrying(lambda: acme.net.post(body["certificate"], None)).text
    out.update(result="valid", chain=split_chain(pem), key=key)


def _csr_der(names, key) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_csr(make_csr(names, key)).public_bytes(Encoding.DER)


@pytest.mark.acme(finalize="async")
def test_many_clients_at_once_with_faults(acme_server, acme_http01_responder, acme_dns):
    failing = {i for i in range(CLIENTS) if i % 4 == 3}
    acme_server.faults.bad_nonce(rate=0.05, times=None)
    for i in failing:
        acme_server.faults.fail_challenge(f"h{i}.conc.test", problem="connection", times=None)
    acme_server.faults.hold_processing(polls=2, times=4)

    results: List[Dict[str, Any]] = [{} for _ in range(CLIENTS)]
    failures: List[BaseException] = []
    go = threading.Barrier(CLIENTS, timeout=TIMEOUT)

    def run(i: int) -> None:
        try:
            go.wait()  # start together
            client_run(acme_server, acme_http01_responder, acme_dns, i, i in failing,
                       results[i])
        except BaseException as e:  # reported below, with the client's number
            failures.append(AssertionError(f"client {i}: {type(e).__name__}: {e}"))

    threads = [threading.Thread(target=run, args=(i,), name=f"client-{i}", daemon=True)
               for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"deadlock or hang: {stuck} still running after {TIMEOUT} s"
    assert not failures, failures
    acme_server.wait_idle(timeout=TIMEOUT)
    acme_server.check()

    # Every object is accounted for, and linked to its own account.
    orders = {o.url: o for o in acme_server.orders()}
    accounts = {a.url: a for a in acme_server.accounts()}
    assert len(accounts) == CLIENTS and len(orders) == CLIENTS
    authz_urls = set()
    for r in results:
        order = orders[r["order"]]
        assert order.account_url == r["account"]
        assert accounts[r["account"]].order_urls == [r["order"]]
        assert {i.value for i in order.identifiers} == set(r["names"])
        for authz in order.authorizations:
            assert authz.account_url == r["account"] and authz.order_urls == [r["order"]]
            authz_urls.add(authz.url)
        assert order.status.value == r["result"]
    assert len(authz_urls) == 2 * CLIENTS

    # Every certificate verifies against the server's chain and names the order's names.
    valid = [r for r in results if r["result"] == "valid"]
    assert len(valid) == CLIENTS - len(failing)
    serials = set()
    for r in valid:
        leaf = r["chain"][0]
        verify_chain(r["chain"], acme_server.roots_pem)
        assert sans(leaf) == set(r["names"])
        assert leaf.public_key().public_numbers() == r["key"].public_key().public_numbers()
        order = orders[r["order"]]
        assert order.certificate is not None and order.certificate.serial_number == \
            leaf.serial_number
        serials.add(leaf.serial_number)
    assert len(serials) == len(valid)
    for r in results:
        if r["result"] == "invalid":
            assert orders[r["order"]].error["type"].endswith(":connection")

    # The faults really fired while all this went on.
    fired = [e.message for e in acme_server.events if e.reason == "FaultFired"]
    assert any("bad_nonce" in m for m in fired), fired
    assert sum("hold_processing" in m for m in fired) >= 1
    print(f"\nconcurrency: {CLIENTS} clients, {len(accounts)} accounts, {len(orders)} orders, "
          f"{len(authz_urls)} authorizations, {len(valid)} certificates, "
          f"{CLIENTS - len(valid)} invalid orders, {len(acme_server.requests)} requests, "
          f"{len(fired)} fault firings")
