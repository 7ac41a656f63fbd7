"""Fuzzing the two management APIs: a target per endpoint of the management port
(pytest_acme/standalone/management/) and of the challtestsrv API
(pytest_acme/standalone/challtestsrv.py), with generated path segments, query
parameters, bodies (the endpoint's own fields with generated values, dates
included, and garbage) and Host headers.

The property: never a 5xx and nothing raised (werkzeug's test client re-raises
what escapes the application); a management error is JSON ``{"error": "..."}``,
a challtestsrv one a plain-text reason, as pebble-challtestsrv answers.  The
run is bounded by the hypothesis profile (see conftest.py).
"""

from __future__ import annotations

import collections
import json
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import account_client, issue_leaf, new_order
from jws_client import RawClient
from pytest_acme import AcmeServer
from pytest_acme.protocol import problems
from pytest_acme.responders import Http01Responder, TlsAlpn01Responder
from pytest_acme.standalone.challtestsrv import EXAMPLES, make_challtestsrv_app
from pytest_acme.standalone.management import FAULT_CONSTRUCTORS, make_management_app
from pytest_acme.va.zone import Zone

from .test_fuzz_inputs import FEW, HOSTS, NUMBERS, dates, numbers
from .test_fuzz_wsgi import json_values, scalars

#: Outcomes of the run ((api, status) -> count), printed at the end (-s).
OUTCOMES: "collections.Counter[tuple]" = collections.Counter()

hosts = st.one_of(st.none(), st.none(), st.sampled_from(HOSTS))
texts = st.one_of(st.sampled_from(NUMBERS), st.text(max_size=20))
queries = st.dictionaries(st.sampled_from(["order", "last", "x", ""]), texts, max_size=2)
garbage = st.one_of(st.binary(max_size=40), st.just(b"[" * 5000), st.just(b"{}" * 3),
                    st.just('{"a": 1}'.encode("utf-16")))


def encode(body):
    if body is None or isinstance(body, bytes):
        return body
    return json.dumps(body).encode()


def with_query(path, query):
    if not query:
        return path
    return path + "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())


# -- the management port ----------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    with AcmeServer(validation="always_valid", dns_port=None) as server:
        yield server
    total = sum(OUTCOMES.values())
    print("\nfuzz management: " + ", ".join(f"{a} {s}: {n}" for (a, s), n in
                                            OUTCOMES.most_common()) + f" ({total} cases)")


_OBJECTS: dict = {}


@pytest.fixture
def objects(server):
    """A certificate and a pending order to aim at, made again when an earlier case
    reset the server; faults and the clock are put back after the test."""
    store = server.app.store
    if not _OBJECTS or int(_OBJECTS["SERIAL"], 16) not in store.certificates_by_serial \
            or _OBJECTS["ORDER_ID"] not in store.orders:
        from cryptography.hazmat.primitives.serialization import Encoding

        acme = account_client(server)
        leaf = issue_leaf(server, acme, ["mgmt.fuzz.test"])
        order = new_order(acme, ["pending.fuzz.test"])
        _OBJECTS.update({"PEM": leaf.public_bytes(Encoding.PEM).decode(), "ORDER": order.uri,
                         "ORDER_ID": order.uri.rsplit("/", 1)[-1],
                         "SERIAL": f"{leaf.serial_number:x}"})
    yield _OBJECTS
    server.faults.clear()
    server.clock.reset()
    server.wait_idle()
    server.check()


def placeholders(value, objects):
    if isinstance(value, dict):
        return {k: placeholders(v, objects) for k, v in value.items()}
    if isinstance(value, str):
        return objects.get(value, value)
    return value


window = st.fixed_dictionaries({}, optional={
    "suggestedWindow": st.one_of(st.fixed_dictionaries({"start": dates, "end": dates}),
                                 json_values),
    "explanationURL": st.one_of(st.just("https://example.test/why"), scalars)})
fault_args = st.dictionaries(
    st.sampled_from(["times", "endpoint", "seconds", "status", "detail", "identifier",
                     "probability", "x"]),
    st.one_of(scalars, st.sampled_from(["new_order", "newOrder", "all", "-1"])), max_size=3)
orders = st.one_of(st.sampled_from(["ORDER", "ORDER_ID", "", " ", "x" * 300]), scalars)

#: Bodies by endpoint: the endpoint's fields with generated values.
BODIES = {
    "set_renewal_info": st.fixed_dictionaries({}, optional={
        "Certificate": st.one_of(st.just("PEM"), st.just("-----BEGIN CERTIFICATE-----"),
                                 scalars),
        "ARIResponse": st.one_of(window, window.map(json.dumps), scalars)}),
    "arm_fault": st.fixed_dictionaries({}, optional={
        "fault": st.one_of(st.sampled_from(sorted(FAULT_CONSTRUCTORS)), scalars),
        "args": st.one_of(fault_args, json_values)}),
    "expire_order": st.fixed_dictionaries({}, optional={"order": orders}),
    "invalidate_order": st.fixed_dictionaries({}, optional={
        "order": orders,
        "problem": st.one_of(st.sampled_from(sorted(problems.BY_TYPE)), scalars),
        "detail": st.one_of(st.text(max_size=20), scalars)}),
    "advance_clock": st.fixed_dictionaries({}, optional={"seconds": st.one_of(
        st.sampled_from([0, 1, 1e300, -1, 10**400, 3.2e11, 2.5e11, "1", True]),
        st.floats(), st.integers())}),
}

#: Path segments by rule variable.
SEGMENTS = {"no": st.one_of(st.sampled_from(NUMBERS + ["0", "1"]), texts),
            "serial": st.one_of(st.sampled_from(["SERIAL", "f" * 5000, "0x1", "-1"]), texts)}


def _rules():
    from pytest_acme.standalone.management import _rules as rules

    return [(rule.endpoint, rule.rule, sorted(rule.methods - {"HEAD", "OPTIONS"})[0])
            for rule in rules()]


@pytest.mark.parametrize("endpoint, rule, method", _rules(), ids=[r[0] for r in _rules()])
def test_management_endpoint(server, objects, endpoint, rule, method):
    client = RawClient(make_management_app(server))
    bodies = BODIES.get(endpoint, st.none())

    @FEW
    @given(segments=st.fixed_dictionaries({k: v for k, v in SEGMENTS.items()
                                           if f"<{k}>" in rule}),
           query=queries, body=st.one_of(bodies, bodies, json_values, garbage), host=hosts)
    def run(segments, query, body, host):
        path = rule
        for name, value in segments.items():
            path = path.replace(f"<{name}>", quote(placeholders(value, objects), safe=""))
        query = placeholders(query, objects)
        headers = {"Host": host} if host is not None else {}
        data = encode(placeholders(body, objects))
        response = client.open(with_query(path, query), method=method, data=data,
                               headers=headers, content_type="application/json")
        OUTCOMES["management", response.status_code] += 1
        assert response.status_code < 500, response.get_data(as_text=True)
        if response.status_code >= 400:
            assert response.mimetype == "application/json"
            error = response.get_json()["error"]
            assert isinstance(error, str) and error
        server.faults.clear()  # an armed latency would slow what follows
        assert server.app.take_errors() == []

    run()


# -- challtestsrv ---------------------------------------------------------------------

challtest_hosts = st.one_of(st.sampled_from(["h.example.", "h.example", "", ".", "a" * 64,
                                             "a..b", "_acme-challenge.h.example.",
                                             "*.h.example", "xn--bcher-kva.example"]),
                            st.text(max_size=20), scalars)
addresses = st.one_of(st.lists(st.one_of(st.sampled_from(
    ["12.12.12.12", "2001:db8::1", "::ffff:1.2.3.4", "999.1.1.1", "", "fe80::1%eth0"]),
    st.text(max_size=15)), max_size=3), scalars)
tokens = st.one_of(st.sampled_from(["aaaa", "", "a/b", "..", "a?b", "x" * 300]), scalars)
FIELDS = {
    "host": challtest_hosts, "ip": st.one_of(st.sampled_from(["10.10.10.2", "::1", ""]),
                                             scalars),
    "addresses": addresses, "value": st.one_of(st.text(max_size=20), scalars),
    "target": challtest_hosts, "token": tokens, "content": st.one_of(st.text(max_size=20),
                                                                    scalars),
    "path": st.one_of(st.sampled_from(["/.well-known/acme-challenge/aaaa", "/", "",
                                       "/.well-known/acme-challenge/a/b"]), scalars),
    "targetURL": st.one_of(st.sampled_from(["https://localhost:5003/ok", "", "ftp://x",
                                            "http://[::1"]), scalars),
    "code": st.one_of(st.sampled_from([301, 302, 307, 308, 200, 999]), numbers, scalars),
    "type": st.one_of(st.sampled_from(["http", "dns", "tlsalpn", "HTTP", ""]), scalars),
    "policies": st.one_of(st.lists(st.fixed_dictionaries({}, optional={
        "tag": st.one_of(st.sampled_from(["issue", "issuewild", "iodef", ""]), scalars),
        "value": st.one_of(st.text(max_size=20), scalars),
        "flags": scalars}), max_size=2), scalars),
}


def challtest_body(path):
    """The endpoint's example fields, with generated values; names sometimes in
    another case (Go's encoding/json matches names case-insensitively)."""
    names = sorted(json.loads(EXAMPLES[path]))
    fields = {name: FIELDS.get(name, scalars) for name in names}
    known = st.fixed_dictionaries({}, optional=fields)
    upper = st.fixed_dictionaries({}, optional={n.upper(): s for n, s in fields.items()})
    example = json.loads(EXAMPLES[path])
    one_changed = st.sampled_from(names).flatmap(
        lambda name: fields[name].map(lambda value: {**example, name: value}))
    return st.one_of(st.just(example), one_changed, one_changed, known, upper, json_values)


@pytest.fixture(scope="module")
def challtestsrv():
    with Http01Responder() as http01, TlsAlpn01Responder() as tlsalpn01:
        yield RawClient(make_challtestsrv_app(Zone(), http01, tlsalpn01))


@pytest.mark.parametrize("path", sorted(EXAMPLES))
def test_challtestsrv_endpoint(challtestsrv, path):
    @FEW
    @given(body=st.one_of(challtest_body(path), garbage), host=hosts,
           method=st.sampled_from(["POST", "POST", "GET", "PUT"]))
    def run(body, host, method):
        headers = {"Host": host} if host is not None else {}
        response = challtestsrv.open(path, method=method, data=encode(body), headers=headers,
                                     content_type="application/json")
        OUTCOMES["challtestsrv", response.status_code] += 1
        assert response.status_code < 500, response.get_data(as_text=True)
        if response.status_code >= 400:
            assert response.mimetype == "text/plain"
            assert response.get_data(as_text=True).strip()

    run()
