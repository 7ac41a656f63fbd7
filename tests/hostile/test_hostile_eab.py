"""Hostile external account bindings (RFC 8555 §7.3.4) and pre-authorization
requests (§7.4.1)."""

from __future__ import annotations

import json

import josepy
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from jws_client import OMIT, b64, jwk_for, with_members
from wsgi_world import World, case, run_case

MAC_KEY = b"\x07" * 32
ACCOUNT_KEY = ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def world():
    return World(eab_keys={"kid-1": b64(MAC_KEY)})


def binding(w, *, header=None, payload=None, mac_key=MAC_KEY, **members):
    """An EAB JWS over the account key, header and parts overridable."""
    protected = {"alg": "HS256", "kid": "kid-1", "url": w.directory["newAccount"]}
    for name, value in (header or {}).items():
        if value is OMIT:
            protected.pop(name, None)
        else:
            protected[name] = value
    body = payload if payload is not None else jwk_for(ACCOUNT_KEY).public_key().to_partial_json()
    jws = {"protected": b64(json.dumps(protected)), "payload": b64(json.dumps(body))}
    alg = protected.get("alg") if protected.get("alg") in ("HS256", "HS384", "HS512") else "HS256"
    jws["signature"] = b64(josepy.JWASignature.from_json(alg).sign(
        mac_key, f"{jws['protected']}.{jws['payload']}".encode()))
    return with_members(jws, members)


def register(w, eab):
    payload = {"termsOfServiceAgreed": True, "externalAccountBinding":
               eab(w) if callable(eab) else eab}
    return w.post(w.directory["newAccount"], payload, ACCOUNT_KEY)


EAB = [
    case("eab-string", lambda w: register(w, "binding"), "malformed", 400, "flattened"),
    case("eab-general-serialization", lambda w: register(w, lambda w: binding(
        w, signatures=[])), "malformed", 400, "general JSON"),
    case("eab-missing-signature", lambda w: register(w, lambda w: binding(
        w, signature=OMIT)), "malformed", 400, "lacks signature"),
    case("eab-alg-es256", lambda w: register(w, lambda w: binding(w, header={"alg": "ES256"})),
         "malformed", 400, "MAC algorithm"),
    case("eab-alg-none", lambda w: register(w, lambda w: binding(w, header={"alg": "none"})),
         "malformed", 400, "MAC algorithm"),
    case("eab-unknown-kid", lambda w: register(w, lambda w: binding(w, header={"kid": "nope"})),
         "unauthorized", 403, "not known"),
    case("eab-kid-number", lambda w: register(w, lambda w: binding(w, header={"kid": 1})),
         "unauthorized", 403),
    case("eab-with-nonce", lambda w: register(w, lambda w: binding(
        w, header={"nonce": w.nonce()})), "unauthorized", 403, "nonce"),
    case("eab-url-mismatch", lambda w: register(w, lambda w: binding(
        w, header={"url": w.directory["newOrder"]})), "unauthorized", 403, "url"),
    case("eab-wrong-mac-key", lambda w: register(w, lambda w: binding(
        w, mac_key=b"\x08" * 32)), "unauthorized", 403),
    case("eab-other-key-bound", lambda w: register(w, lambda w: binding(
        w, payload=jwk_for(ec.generate_private_key(ec.SECP256R1())).public_key()
        .to_partial_json())), "unauthorized", 403, "not the account key"),
    case("eab-payload-not-a-jwk", lambda w: register(w, lambda w: binding(w, payload="key")),
         "malformed", 400, "not a JWK"),
    case("eab-payload-number", lambda w: register(w, lambda w: dict(binding(w), payload=5)),
         "malformed", 400, "payload"),
    case("eab-payload-bad-base64", lambda w: register(w, lambda w: dict(binding(w),
                                                                       payload="a+b")),
         "malformed", 400, "payload"),
    case("eab-signature-number", lambda w: register(w, lambda w: dict(binding(w), signature=5)),
         "malformed", 400, "signature"),
    case("eab-protected-not-base64", lambda w: register(w, lambda w: dict(
        binding(w), protected="*")), "malformed", 400, "base64url"),
]


@pytest.mark.parametrize("send,type_,status,words", EAB)
def test_hostile_eab(world, send, type_, status, words):
    run_case(world, send, type_, status, words)


def test_eab_required_but_missing():
    w = World(eab_required=True, eab_keys={"kid-1": b64(MAC_KEY)})
    run_case(w, lambda w: w.post(w.directory["newAccount"], {"termsOfServiceAgreed": True},
                                 ACCOUNT_KEY), "externalAccountRequired", 400, ["requires"])


def new_authz(w, payload):
    return w.signed(w.who("alice"), w.directory["newAuthz"], payload)


NEW_AUTHZ = [
    case("new-authz-post-as-get", lambda w: new_authz(w, None), "malformed", 400,
         "needs a JSON object"),
    case("new-authz-no-identifier", lambda w: new_authz(w, {}), "malformed", 400,
         "needs 'identifier'"),
    case("new-authz-identifier-list", lambda w: new_authz(w, {"identifier": [
        {"type": "dns", "value": "a.test"}]}), "malformed", 400),
    case("new-authz-wildcard", lambda w: new_authz(w, {"identifier": {
        "type": "dns", "value": "*.a.test"}}), "malformed", 400, "wildcard"),
    case("new-authz-bad-name", lambda w: new_authz(w, {"identifier": {
        "type": "dns", "value": "a b.test"}}), "rejectedIdentifier", 400),
    case("new-authz-email", lambda w: new_authz(w, {"identifier": {
        "type": "email", "value": "a@a.test"}}), "unsupportedIdentifier", 400),
    case("new-authz-jwk", lambda w: w.post(w.directory["newAuthz"], {}, ACCOUNT_KEY),
         "malformed", 400, "not embed a 'jwk'"),
]


@pytest.mark.parametrize("send,type_,status,words", NEW_AUTHZ)
def test_hostile_new_authz(world, send, type_, status, words):
    run_case(world, send, type_, status, words)


def test_new_authz_switched_off():
    w = World(new_authz=False)
    url = w.directory.get("newAuthz") or "http://localhost/acme/new-authz"
    run_case(w, lambda w: w.signed(w.who("alice"), url, {"identifier": {
        "type": "dns", "value": "a.test"}}), "malformed", 404, "switched off")
