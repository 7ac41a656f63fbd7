"""The management port (pytest_acme/standalone/management/): Pebble's management API
and pytest-acme's JSON API, driven with werkzeug's test client against real orders made
by certbot's ``acme`` library."""

from __future__ import annotations

import datetime as dt
from typing import Any, List, Tuple

import pytest
from acme import messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from werkzeug.test import Client

from helpers import account_client, answer_all, deadline, make_csr, split_chain
from pytest_acme.standalone.management import make_management_app

NAMES = ["mgmt.example.test", "www.mgmt.example.test"]


def get_json(mgmt: Client, path: str, status: int = 200) -> Any:
    response = mgmt.get(path)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def post_json(mgmt: Client, path: str, body: Any = None, status: int = 200) -> Any:
    response = mgmt.post(path, json=body)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def parse_time(text: str) -> dt.datetime:
    assert text.endswith("Z"), text
    return dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=dt.timezone.utc)


def stable_lines(describe_text: str) -> List[str]:
    """The lines of describe text without the parts that move with time (ages)."""
    return [line for line in describe_text.strip().splitlines()
            if not line.startswith(("Created:", "Expires:", "  Normal", "  Warning"))
            and "validated" not in line]


def pending(server) -> Tuple[Any, messages.OrderResource]:
    acme = account_client(server)
    return acme, acme.new_order(make_csr(NAMES))


def issued(server) -> Tuple[Any, messages.OrderResource]:
    acme, order = pending(server)
    answer_all(acme, order)
    server.wait_idle()
    order = acme.poll_authorizations(order, deadline())
    finalized = acme.begin_finalization(order)
    assert finalized.body.status == messages.STATUS_VALID
    return acme, acme.poll_finalization(finalized, deadline())


# -- Pebble's management API ----------------------------------------------------------


def test_roots_and_intermediates_and_their_keys(server, mgmt):
    root = mgmt.get("/roots/0")
    assert root.status_code == 200
    assert root.headers["Content-Type"] == "application/pem-certificate-chain; charset=utf-8"
    assert root.data == server.roots_pem
    root_cert = x509.load_pem_x509_certificate(root.data)
    assert root_cert == server.app.ca.root.cert

    inter = mgmt.get("/intermediates/0")
    assert inter.status_code == 200
    assert inter.headers["Content-Type"] == "application/pem-certificate-chain; charset=utf-8"
    assert inter.data == server.intermediates_pem
    inter_cert = x509.load_pem_x509_certificate(inter.data)
    assert inter_cert.issuer == root_cert.subject

    for path, cert in (("/root-keys/0", root_cert), ("/intermediate-keys/0", inter_cert)):
        response = mgmt.get(path)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/x-pem-file; charset=utf-8"
        assert b"PRIVATE KEY-----" in response.data
        key = serialization.load_pem_private_key(response.data, password=None)
        raw = serialization.PublicFormat.SubjectPublicKeyInfo
        assert (key.public_key().public_bytes(serialization.Encoding.DER, raw)
                == cert.public_key().public_bytes(serialization.Encoding.DER, raw))

    # Pebble: an index beyond what exists, or no number at all, is a 404
    for path in ("/roots/1", "/root-keys/7", "/intermediates/1", "/intermediate-keys/1",
                 "/roots/x", "/roots/-1"):
        assert mgmt.get(path).status_code == 404, path
    assert mgmt.post("/roots/0").status_code == 405
    assert mgmt.head("/roots/0").status_code == 200


def test_cert_status_by_serial(server, mgmt):
    acme, order = issued(server)
    leaf = split_chain(order.fullchain_pem)[0]
    serial = format(leaf.serial_number, "x")  # as `openssl x509 -serial`, lower case

    status = get_json(mgmt, f"/cert-status-by-serial/{serial}")
    assert status == {"Status": "Valid", "Serial": serial,
                      "Certificate": leaf.public_bytes(serialization.Encoding.PEM).decode()}
    assert list(status) == ["Status", "Serial", "Certificate"]  # no Reason, no RevokedAt
    assert x509.load_pem_x509_certificate(status["Certificate"].encode()) == leaf
    # upper case and leading zeros name the same number, as Go's big.Int.SetString reads them
    assert get_json(mgmt, f"/cert-status-by-serial/00{serial.upper()}")["Serial"] == serial

    get_json(mgmt, f"/cert-status-by-serial/{leaf.serial_number + 1:x}", 404)
    assert "error" in get_json(mgmt, "/cert-status-by-serial/not-hex", 400)
    get_json(mgmt, f"/cert-status-by-serial/0x{serial}", 400)


def test_cert_status_reads_revocation_defensively(server, mgmt):
    acme, order = issued(server)
    leaf = split_chain(order.fullchain_pem)[0]
    record = server.app.store.certificates_by_serial[leaf.serial_number]
    when = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    # Revocation belongs to another part of the server; set the record's fields directly.
    object.__setattr__(record, "revoked_at", when)
    object.__setattr__(record, "revocation_reason", 4)
    status = get_json(mgmt, f"/cert-status-by-serial/{leaf.serial_number:x}")
    assert status["Status"] == "Revoked"
    assert status["Reason"] == 4
    assert status["RevokedAt"] == "2030-01-02T03:04:05Z"


@pytest.mark.parametrize("body, words", [
    ({"Certificate": "x", "ARIResponse": "{}"}, "PEM"),
    ({"Certificate": "-----BEGIN CERTIFICATE-----", "ARIResponse": "{"}, "not JSON"),
    ({"Certificate": "-----BEGIN CERTIFICATE-----", "ARIResponse": {}}, "suggestedWindow"),
    ({"Certificate": "-----BEGIN CERTIFICATE-----", "ARIResponse": {"suggestedWindow": {
        "start": "2030-01-02T00:00:00Z", "end": "2030-01-01T00:00:00Z"}}}, "after its start"),
])
def test_set_renewal_info_refuses_bad_input(mgmt, body, words):
    response = mgmt.post("/set-renewal-info/", json=body)
    assert response.status_code == 400
    assert words in response.get_json()["error"]


# -- pytest-acme's API: reading -----------------------------------------------------------


def test_index_lists_the_endpoints(server, mgmt):
    index = get_json(mgmt, "/pytest-acme/")
    paths = {(e["method"], e["path"].split("?")[0]) for e in index["endpoints"]}
    assert {("GET", "/pytest-acme/orders"), ("POST", "/pytest-acme/faults"),
            ("POST", "/pytest-acme/clock/advance"), ("GET", "/roots/0")} <= paths
    assert index["directory"] == server.directory_url
    assert "bad_nonce" in index["faults"]
    assert mgmt.get("/pytest-acme").status_code == 308  # to the trailing slash
    assert get_json(mgmt, "/pytest-acme/nothing-here", 404)["error"]
    assert get_json(mgmt, "/nothing", 404)["error"]


def test_orders_accounts_describe_events_and_requests_show_a_real_order(server, mgmt):
    acme, order = issued(server)
    leaf = split_chain(order.fullchain_pem)[0]

    orders = get_json(mgmt, "/pytest-acme/orders")
    assert len(orders) == 1
    doc = orders[0]
    assert doc["url"] == order.uri
    assert doc["status"] == "valid"
    assert doc["identifiers"] == [{"type": "dns", "value": n} for n in NAMES]
    assert doc["account"] == acme.net.account.uri
    assert doc["error"] is None
    assert doc["certificate"] == order.body.certificate
    assert doc["certificate_serial"] == format(leaf.serial_number, "x")
    assert parse_time(doc["expires"]) > server.clock.now()
    assert [a["url"] for a in doc["authorizations"]] == [a.uri for a in order.authorizations]
    for authz in doc["authorizations"]:
        assert authz["status"] == "valid"
        assert authz["identifier"]["value"] in NAMES
        kinds = {c["type"]: c for c in authz["challenges"]}
        assert set(kinds) == {"http-01", "dns-01", "tls-alpn-01"}
        assert kinds["http-01"]["status"] == "valid" and kinds["http-01"]["error"] is None
        assert kinds["dns-01"]["status"] == "pending"

    accounts = get_json(mgmt, "/pytest-acme/accounts")
    assert [(a["url"], a["status"], a["orders"]) for a in accounts] == [
        (acme.net.account.uri, "valid", [order.uri])]

    # describe, text: one order by URL or by id, and every order
    order_id = order.uri.rsplit("/", 1)[1]
    for key in (order.uri, order_id):
        response = mgmt.get("/pytest-acme/describe", query_string={"order": key})
        assert response.status_code == 200 and response.mimetype == "text/plain"
        text = response.get_data(as_text=True)
        # ages are relative to the moment of the call: compare what does not move
        assert stable_lines(text) == stable_lines(server.describe(order.uri))
        assert text.splitlines()[0].split() == ["Order:", order.uri]
        assert "State:        valid" in text and "CertificateIssued" in text
    everything = mgmt.get("/pytest-acme/describe").get_data(as_text=True)
    assert stable_lines(everything) == stable_lines(server.describe())
    missing = mgmt.get("/pytest-acme/describe", query_string={"order": "no-such-order"})
    assert missing.status_code == 404 and "no-such-order" in missing.get_json()["error"]

    # describe.json: the same snapshot, with its events
    one = get_json(mgmt, f"/pytest-acme/describe.json?order={order_id}")
    assert one["kind"] == "order" and one["url"] == order.uri and one["status"] == "valid"
    reasons = [e["reason"] for e in one["events"]]
    assert reasons[0] == "Created" and reasons[-1] == "OrderValid"
    assert {"ChallengeValid", "OrderReady", "CertificateIssued"} <= set(reasons)
    all_orders = get_json(mgmt, "/pytest-acme/describe.json")
    assert [o["url"] for o in all_orders] == [order.uri]
    assert all_orders[0]["events"] == one["events"]
    get_json(mgmt, "/pytest-acme/describe.json?order=no-such-order", 404)

    # events: of the order, and all of them
    events = get_json(mgmt, "/pytest-acme/events")
    order_events = get_json(mgmt, f"/pytest-acme/events?order={order.uri}")
    assert order_events == one["events"]
    assert set(order_events[0]) >= {"time", "kind", "id", "reason", "message", "order_ids"}
    assert all(order_id in e["order_ids"] for e in order_events)
    assert len(events) >= len(order_events)
    assert any(e["kind"] == "account" for e in events)
    times = [parse_time(e["time"]) for e in events]
    assert times == sorted(times)
    get_json(mgmt, "/pytest-acme/events?order=nope", 404)

    # the request log
    requests = get_json(mgmt, "/pytest-acme/requests")
    assert len(requests) == len(server.requests)
    assert {"time", "method", "path", "status", "problem", "account"} <= set(requests[0])
    paths = [r["path"] for r in requests]
    assert "/acme/new-order" in paths and any("finalize" in p for p in paths)
    last2 = get_json(mgmt, "/pytest-acme/requests?last=2")
    assert last2 == requests[-2:]
    assert get_json(mgmt, "/pytest-acme/requests?last=0") == []
    assert "last" in get_json(mgmt, "/pytest-acme/requests?last=many", 400)["error"]
    get_json(mgmt, "/pytest-acme/requests?last=-1", 400)


# -- pytest-acme's API: acting ---------------------------------------------------------------


def test_arm_bad_nonce_through_the_api(server, mgmt):
    acme = account_client(server)
    assert get_json(mgmt, "/pytest-acme/faults") == {"armed": [], "fired": []}

    armed = post_json(mgmt, "/pytest-acme/faults",
                      {"fault": "bad_nonce", "args": {"times": 2}}, status=201)
    assert armed["kind"] == "bad_nonce" and armed["fired"] == 0 and armed["times"] == 2
    # the client retries one badNonce by itself; the second reaches it
    with pytest.raises(messages.Error) as err:
        acme.new_order(make_csr(["nonce.example.test"]))
    assert err.value.code == "badNonce"

    state = get_json(mgmt, "/pytest-acme/faults")
    assert [(f["kind"], f["fired"], f["active"]) for f in state["armed"]] == [
        ("bad_nonce", 2, False)]
    assert "2/2 fired" in state["armed"][0]["describe"]
    assert [f["kind"] for f in state["fired"]] == ["bad_nonce", "bad_nonce"]
    assert all(f["where"] == "new_order" for f in state["fired"])
    requests = get_json(mgmt, "/pytest-acme/requests")
    assert [(r["path"], r["problem"]) for r in requests if r["problem"]] == [
        ("/acme/new-order", "badNonce")] * 2
    acme.new_order(make_csr(["nonce.example.test"]))  # spent

    assert post_json(mgmt, "/pytest-acme/faults",
                     {"fault": "rate_limited", "args": {"endpoint": "newOrder"}},
                     status=201)["kind"] == "endpoint_error"
    response = mgmt.delete("/pytest-acme/faults")
    assert response.status_code == 200 and response.get_json() == {"cleared": 2}
    assert get_json(mgmt, "/pytest-acme/faults") == {"armed": [], "fired": []}
    acme.new_order(make_csr(["nonce.example.test"]))  # not rate limited: cleared


@pytest.mark.parametrize("body, words", [
    ({"fault": "no_such_fault"}, "unknown fault"),
    ({"fault": "bad_nonce", "args": {"tiems": 1}}, "tiems"),
    ({"fault": "bad_nonce", "args": {"times": 0}}, "times"),
    ({"fault": "bad_nonce", "args": {"rate": 7}}, "rate"),
    ({"fault": "bad_nonce", "args": ["times", 1]}, "args"),
    ({"fault": "latency", "args": {"seconds": "slow"}}, "latency"),
    ({"fault": "rate_limited", "args": {"endpoint": "nowhere"}}, "endpoint"),
    ({"fault": "fail_challenge", "args": {"problem": "made-up"}}, "problem"),
    ({"fault": "hold_processing"}, "polls"),
    ({"args": {}}, "unknown fault"),
    ({"fault": "bad_nonce", "extra": 1}, "extra"),
    ([1, 2], "JSON object"),
    ("not json {", "not JSON"),
    (None, "JSON object body"),
])
def test_arming_a_bad_fault_is_a_400(server, mgmt, body, words):
    if isinstance(body, str):
        response = mgmt.post("/pytest-acme/faults", data=body,
                             content_type="application/json")
    else:
        response = mgmt.post("/pytest-acme/faults", json=body) if body is not None else \
            mgmt.post("/pytest-acme/faults")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert words in response.get_json()["error"]
    assert server.faults.faults == []


def test_clock_advance_expires_an_order(server, mgmt):
    acme, order = pending(server)
    clock = get_json(mgmt, "/pytest-acme/clock")
    assert clock["offset_seconds"] == 0
    assert abs((parse_time(clock["now"]) - server.clock.now()).total_seconds()) < 60

    expires = parse_time(get_json(mgmt, "/pytest-acme/orders")[0]["expires"])
    seconds = (expires - server.clock.now()).total_seconds() + 1
    moved = post_json(mgmt, "/pytest-acme/clock/advance", {"seconds": seconds})
    assert moved["offset_seconds"] == pytest.approx(seconds)
    assert parse_time(moved["now"]) > expires
    assert get_json(mgmt, "/pytest-acme/clock")["offset_seconds"] == pytest.approx(seconds)

    doc = get_json(mgmt, "/pytest-acme/orders")[0]
    assert doc["status"] == "invalid" and doc["stored_status"] == "pending"
    assert acme.net.post(order.uri, None).json()["status"] == "invalid"
    reasons = [e["reason"] for e in get_json(mgmt, f"/pytest-acme/events?order={order.uri}")]
    assert "OrderExpired" in reasons

    for bad in ({"seconds": -1}, {"seconds": "10"}, {"seconds": True}, {}, {"seconds": 1e300},
                {"seconds": None}):
        assert "seconds" in post_json(mgmt, "/pytest-acme/clock/advance", bad, 400)["error"]
    response = mgmt.post("/pytest-acme/clock/advance", data="NaN",
                         content_type="application/json")
    assert response.status_code == 400
    response = mgmt.post("/pytest-acme/clock/advance", data='{"seconds": NaN}',
                         content_type="application/json")
    assert response.status_code == 400
    assert get_json(mgmt, "/pytest-acme/clock")["offset_seconds"] == pytest.approx(seconds)


def test_expire_and_invalidate_orders(server, mgmt):
    acme, first = pending(server)
    second = acme.new_order(make_csr(["other.example.test"]))

    expired = post_json(mgmt, "/pytest-acme/orders/expire", {"order": first.uri})
    assert expired["url"] == first.uri and expired["status"] == "invalid"
    assert acme.net.post(first.uri, None).json()["status"] == "invalid"

    invalid = post_json(mgmt, "/pytest-acme/orders/invalidate",
                        {"order": second.uri, "problem": "rejectedIdentifier",
                         "detail": "policy says no"})
    assert invalid["status"] == "invalid"
    assert invalid["error"]["type"].endswith(":rejectedIdentifier")
    assert invalid["error"]["detail"] == "policy says no"
    body = acme.net.post(second.uri, None).json()
    assert (body["status"], body["error"]["detail"]) == ("invalid", "policy says no")

    # already invalid: a conflict, not a server error
    assert "invalid" in post_json(mgmt, "/pytest-acme/orders/invalidate",
                                  {"order": second.uri}, 409)["error"]
    post_json(mgmt, "/pytest-acme/orders/expire", {"order": "https://x/acme/order/nope"}, 404)
    post_json(mgmt, "/pytest-acme/orders/invalidate", {"order": "nope"}, 404)
    post_json(mgmt, "/pytest-acme/orders/expire", {"order": 3}, 400)
    post_json(mgmt, "/pytest-acme/orders/expire", {}, 400)
    post_json(mgmt, "/pytest-acme/orders/invalidate",
              {"order": first.uri, "problem": "notAProblem"}, 400)
    server.check()


def test_reset_empties_everything(server, mgmt):
    acme, order = issued(server)
    post_json(mgmt, "/pytest-acme/faults", {"fault": "omit_nonce"}, status=201)
    post_json(mgmt, "/pytest-acme/clock/advance", {"seconds": 60})
    assert get_json(mgmt, "/pytest-acme/orders") and get_json(mgmt, "/pytest-acme/accounts")

    assert post_json(mgmt, "/pytest-acme/reset")["reset"] is True
    assert get_json(mgmt, "/pytest-acme/orders") == []
    assert get_json(mgmt, "/pytest-acme/accounts") == []
    assert get_json(mgmt, "/pytest-acme/events") == []
    assert get_json(mgmt, "/pytest-acme/requests") == []
    assert get_json(mgmt, "/pytest-acme/faults") == {"armed": [], "fired": []}
    assert get_json(mgmt, "/pytest-acme/clock")["offset_seconds"] == 0
    assert get_json(mgmt, "/pytest-acme/describe.json") == []
    assert mgmt.get("/pytest-acme/describe").get_data(as_text=True).strip() == \
        "No orders on this server."
    leaf = split_chain(order.fullchain_pem)[0]
    get_json(mgmt, f"/cert-status-by-serial/{leaf.serial_number:x}", 404)
    # the CA stays
    assert mgmt.get("/roots/0").data == server.roots_pem


def test_wrong_methods_are_405_with_allow(mgmt):
    response = mgmt.put("/pytest-acme/faults")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST", "DELETE"}
    assert "PUT" in response.get_json()["error"]
    assert mgmt.get("/pytest-acme/reset").status_code == 405
    assert mgmt.get("/set-renewal-info/").status_code == 405


def test_every_endpoint_types_its_reply_only_when_it_has_a_body(server, mgmt):
    app = make_management_app(server)
    values = {"no": "0", "serial": "ab"}
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<no>", values["no"]).replace("<serial>", values["serial"])
        for method in ("GET", "HEAD", "POST", "DELETE"):
            response = mgmt.open(path, method=method, json={} if method == "POST" else None)
            length = int(response.headers.get("Content-Length", "0"))
            assert ("Content-Type" in response.headers) == (length > 0), (method, path)
            assert response.status_code < 500, (method, path)
