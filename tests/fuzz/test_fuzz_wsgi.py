"""Fuzzing the WSGI app (no sockets) with generated requests.

Payloads for every signed endpoint are well signed by a registered account's
key (so they get past authentication and reach the handlers); envelopes are
generated garbage.  The property: never a 5xx; every answer is a problem
document with a live ``Replay-Nonce`` (none on a GET's) or a success; no exception is raised
inside the server; and the store's invariants hold (checked every
``INVARIANTS_EVERY`` cases, since the store grows with the run, and after
each test).

The run is bounded by the hypothesis profile (see conftest.py).
"""

from __future__ import annotations

import collections
import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import make_csr
from jws_client import PROBLEM, b64, expects_nonce, jwk_for
from wsgi_world import World, csr_b64

# -- values ----------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=30))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12)

NAMES = ["fuzz.test", "*.fuzz.test", "a.b.fuzz.test", "xn--bcher-kva.test", "bücher.test",
         "127.0.0.1", "::1", "192.0.2.1", "", "a..b", "-a.test", "a" * 64 + ".test",
         "a.test:80", "*.*.test", "localhost", "a.test.", "A.TEST", "fe80::1%1"]
names = st.one_of(st.sampled_from(NAMES), st.text(max_size=40),
                  st.from_regex(r"[a-z0-9*.\-]{1,30}", fullmatch=True))
good_identifier = st.fixed_dictionaries({
    "type": st.one_of(st.sampled_from(["dns", "dns", "ip"]),
                      st.sampled_from(["email", "DNS", ""])), "value": names})
identifiers = st.one_of(st.lists(good_identifier, min_size=1, max_size=4),
                        st.lists(good_identifier, min_size=1, max_size=2),
                        st.lists(st.one_of(good_identifier, json_values), max_size=3),
                        json_values)
timestamps = st.one_of(st.sampled_from(["2099-01-01T00:00:00Z", "2000-01-01T00:00:00Z",
                                        "2026-11-30T00:00:00+00:00", "2030-01-01T00:00:00",
                                        "not a time"]), scalars)
contacts = st.one_of(st.lists(st.one_of(st.sampled_from(
    ["mailto:a@example.com", "mailto:a@b", "tel:1", "mailto:a@example.com?x=1"]),
    st.text(max_size=20)), max_size=3), json_values)


def some(main=None, **fields):
    """An object with any subset of ``fields``, and perhaps unknown members; half
    of them have the ``main`` fields (a dict of strategies), to get deeper into
    the handler."""
    extra = st.dictionaries(st.text(max_size=8), scalars, max_size=2)
    known = st.fixed_dictionaries({}, optional={**(main or {}), **fields})
    if main:
        known = st.one_of(st.fixed_dictionaries(main, optional=fields), known)
    return st.tuples(known, extra).map(lambda pair: {**pair[1], **pair[0]})


PAYLOADS = {
    "newAccount": some(contact=contacts, termsOfServiceAgreed=scalars,
                       onlyReturnExisting=scalars, externalAccountBinding=json_values),
    "account": some(contact=contacts, termsOfServiceAgreed=scalars,
                    status=st.one_of(st.sampled_from(["valid", "revoked"]), scalars)),
    "newOrder": some({"identifiers": identifiers},
                     notBefore=timestamps, notAfter=timestamps, profile=scalars,
                     replaces=scalars),
    "finalize": some({"csr": st.one_of(st.sampled_from(["CSR_OK", "CSR_OTHER", "AAAA", ""]),
                                       scalars)}),
    "authz": some(status=st.one_of(st.just("deactivated"), scalars)),
    "challenge": some(keyAuthorization=scalars),
    "revokeCert": some({"certificate": st.one_of(st.sampled_from(["CERT", "AAAA"]), scalars)},
                       reason=st.one_of(st.integers(-2, 12), scalars)),
    "keyChange": st.one_of(json_values, some(protected=scalars, payload=scalars,
                                             signature=scalars)),
    "newAuthz": some({"identifier": st.one_of(good_identifier, json_values)}),
    "orders": st.just(None),
    "order": st.just(None),
    "certificate": st.just(None),
}


# -- the server ------------------------------------------------------------------


INVARIANTS_EVERY = 25


@pytest.fixture(autouse=True)
def _invariants_after_each_test(world):
    yield
    world.check_invariants()


#: Outcomes of the run ((status, problem type) -> count), printed at the end (-s).
OUTCOMES: "collections.Counter[tuple]" = collections.Counter()


@pytest.fixture(scope="module")
def world():
    started = time.perf_counter()
    yield _world()
    elapsed = time.perf_counter() - started
    total = sum(OUTCOMES.values())
    print(f"\nfuzz: {total} cases in {elapsed:.1f} s ({total / elapsed:.0f} cases/s); "
          "outcomes: " + ", ".join(f"{s} {t}: {n}" for (s, t), n in OUTCOMES.most_common()))


MAC_KEY = b"\x05" * 32


def _world():
    w = World(seed=31337, eab_keys={"kid-1": b64(MAC_KEY)})
    alice = w.who("alice")
    issued = w.issued(alice, "fuzz.test")
    authz = issued.body["authorizations"][0]
    w.targets = {  # type: ignore[attr-defined]
        "newAccount": w.directory["newAccount"], "newOrder": w.directory["newOrder"],
        "newAuthz": w.directory["newAuthz"],
        "revokeCert": w.directory["revokeCert"], "keyChange": w.directory["keyChange"],
        "account": alice.kid, "orders": alice.kid + "/orders", "order": issued.url,
        "finalize": w.ready_order(alice, "fuzz.test")[1]["finalize"], "authz": authz,
        "challenge": w.signed(alice, authz, None).get_json()["challenges"][0]["url"],
        "certificate": issued.cert_url,
    }
    w.substitutes = {  # type: ignore[attr-defined]
        "CSR_OK": csr_b64(make_csr(["fuzz.test"])),
        "CSR_OTHER": csr_b64(make_csr(["other.test"])),
        "CERT": b64(issued.cert_der),
    }
    return w


def substitute(world, value):
    """Replace placeholders by real objects (a good CSR, an issued certificate)."""
    if isinstance(value, dict):
        return {k: substitute(world, v) for k, v in value.items()}
    if isinstance(value, str):
        return world.substitutes.get(value, value)
    return value


def check_response(world, response):
    assert response.status_code < 500, response.get_data(as_text=True)
    nonce = response.headers.get("Replay-Nonce")
    if expects_nonce(response):
        assert nonce, "no Replay-Nonce"
        assert world.app.nonces.consume(nonce), "the Replay-Nonce is not live"
    else:
        assert nonce is None, "a GET's reply with a Replay-Nonce"
    kind = "-"
    if response.status_code >= 400:
        assert response.headers["Content-Type"] == "application/problem+json"
        doc = response.get_json()
        kind = doc["type"][len(PROBLEM):]
        assert doc["type"].startswith(PROBLEM) and doc["status"] == response.status_code
        assert isinstance(doc["detail"], str) and doc["detail"]
    OUTCOMES[response.status_code, kind] += 1
    # Nothing raised inside the server on every case; the whole store (which grows
    # with the run) every INVARIANTS_EVERY cases and after each test.
    assert world.app.take_errors() == []
    if sum(OUTCOMES.values()) % INVARIANTS_EVERY == 0:
        world.check_invariants()


# -- properties ------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", sorted(PAYLOADS))
def test_well_signed_payloads(world, endpoint):
    alice = world.who("alice")

    @given(payload=PAYLOADS[endpoint])
    def run(payload):
        url = world.targets[endpoint]
        if endpoint == "finalize":  # a fresh ready order each time: finalize ends one
            url = world.ready_order(alice, "fuzz.test")[1]["finalize"]
        if endpoint == "newAccount":
            response = world.post(url, substitute(world, payload), alice.key)
        else:
            response = world.signed(alice, url, substitute(world, payload))
        check_response(world, response)

    run()


HEADER_VALUES = {
    "alg": st.one_of(st.sampled_from(["ES256", "RS256", "none", "HS256", "ES384"]), scalars),
    "nonce": st.one_of(st.just("FRESH"), scalars),
    "url": st.one_of(st.just("URL"), scalars),
    "kid": st.one_of(st.just("KID"), scalars),
    "jwk": st.one_of(st.just("JWK"), json_values),
    "crit": json_values,
}


@st.composite
def envelopes(draw):
    """A flattened JWS, most often almost right (one header member or one part
    changed), else generated parts, or something that is not a JWS at all."""
    shape = draw(st.sampled_from(["almost", "almost", "parts", "other"]))
    if shape == "other":
        return draw(st.one_of(json_values, st.binary(max_size=50)))
    header = {"alg": "ES256", "nonce": "FRESH", "url": "URL", "kid": "KID"}
    if shape == "parts":
        header = draw(st.fixed_dictionaries({}, optional=HEADER_VALUES))
    else:
        name = draw(st.sampled_from(sorted(HEADER_VALUES)))
        if draw(st.booleans()):
            header.pop(name, None)
        else:
            header[name] = draw(HEADER_VALUES[name])
    jws = {"protected": ("HEADER", header),
           "payload": draw(st.one_of(st.just(""), json_values.map(lambda v: b64(json.dumps(v))))),
           "signature": "SIGN"}
    if shape == "parts" or draw(st.booleans()):
        part = draw(st.sampled_from(sorted(jws)))
        if draw(st.booleans()):
            del jws[part]
        else:
            jws[part] = draw(st.one_of(st.text(max_size=20), scalars))
    extra = draw(st.dictionaries(st.sampled_from(["header", "signatures", "x"]), json_values,
                                 max_size=1)) if shape == "parts" else {}
    return {**jws, **extra}


def materialise(world, url, body):
    """Fill the placeholders with a live nonce, the URL, alice's kid/jwk and a real
    signature, so envelopes that are almost right get deep into the checks."""
    if isinstance(body, bytes):
        return body
    if not isinstance(body, dict):
        return json.dumps(body).encode()
    alice = world.who("alice")
    body = dict(body)
    protected = body.get("protected")
    if isinstance(protected, tuple):
        header = {k: {"FRESH": world.nonce(), "URL": url, "KID": alice.kid,
                      "JWK": jwk_for(alice.key).public_key().to_partial_json()}.get(v, v)
                  if isinstance(v, str) else v for k, v in protected[1].items()}
        body["protected"] = b64(json.dumps(header))
    if body.get("signature") == "SIGN" and isinstance(body.get("protected"), str) \
            and isinstance(body.get("payload"), str):
        import josepy

        message = f"{body['protected']}.{body['payload']}".encode()
        body["signature"] = b64(josepy.JWASignature.from_json("ES256").sign(alice.key,
                                                                             message))
    return json.dumps(body).encode()


@pytest.mark.parametrize("endpoint", ["newAccount", "newOrder", "order", "keyChange",
                                      "revokeCert"])
def test_garbage_envelopes(world, endpoint):
    @given(body=envelopes(), content_type=st.sampled_from(
        ["application/jose+json", "application/jose+json; charset=utf-8", "application/json"]))
    def run(body, content_type):
        url = world.targets[endpoint]
        response = world.post_raw(url, materialise(world, url, body), content_type)
        check_response(world, response)

    run()


EAB_HEADER = {
    "alg": st.one_of(st.sampled_from(["HS256", "HS512", "ES256", "none"]), scalars),
    "kid": st.one_of(st.just("kid-1"), scalars),
    "url": st.one_of(st.just("URL"), scalars),
    "nonce": scalars,
}


@st.composite
def bindings(draw):
    """An external account binding, most often almost right."""
    header = {"alg": "HS256", "kid": "kid-1", "url": "URL"}
    name = draw(st.sampled_from(sorted(EAB_HEADER)))
    if draw(st.booleans()):
        header.pop(name, None)
    else:
        header[name] = draw(EAB_HEADER[name])
    jws = {"protected": header, "payload": draw(st.one_of(st.just("JWK"), json_values)),
           "signature": "MAC"}
    if draw(st.booleans()):
        part = draw(st.sampled_from(sorted(jws)))
        jws[part] = draw(st.one_of(st.text(max_size=20), scalars))
    return jws


def materialise_binding(world, key, jws):
    """Encode the parts and MAC the binding over the account key, where asked."""
    import josepy

    jws = dict(jws)
    if isinstance(jws["protected"], dict):
        header = {k: (world.directory["newAccount"] if v == "URL" else v)
                  for k, v in jws["protected"].items()}
        jws["protected"] = b64(json.dumps(header))
    if jws["payload"] == "JWK":
        jws["payload"] = b64(json.dumps(jwk_for(key).public_key().to_partial_json()))
    elif not isinstance(jws["payload"], str):
        jws["payload"] = b64(json.dumps(jws["payload"]))
    if jws["signature"] == "MAC" and isinstance(jws["protected"], str):
        message = f"{jws['protected']}.{jws['payload']}".encode()
        jws["signature"] = b64(josepy.JWASignature.from_json("HS256").sign(MAC_KEY, message))
    return jws


def test_external_account_bindings(world):
    from cryptography.hazmat.primitives.asymmetric import ec

    @given(binding=bindings())
    def run(binding):
        key = ec.generate_private_key(ec.SECP256R1())
        payload = {"termsOfServiceAgreed": True,
                   "externalAccountBinding": materialise_binding(world, key, binding)}
        check_response(world, world.post(world.directory["newAccount"], payload, key))

    run()
