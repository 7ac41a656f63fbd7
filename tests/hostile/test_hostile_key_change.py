"""Hostile key rollovers (RFC 8555 §7.3.5): the nested JWS of every wrong shape."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from jws_client import OMIT, jwk_for, sign, with_members
from wsgi_world import case, resign, run_case


def fresh():
    return ec.generate_private_key(ec.SECP256R1())


def roll(w, *, inner=None, body=None, new=None, outer_payload=None, who="kc"):
    """A key change for account ``who``; override the inner header, the
    key-change object, the new key or the whole outer payload."""
    acct = w.who(who)
    url = w.directory["keyChange"]
    new = new or fresh()
    change = body if body is not None else {
        "account": acct.kid, "oldKey": jwk_for(acct.key).public_key().to_partial_json()}
    if outer_payload is None:
        outer_payload = sign(new, url, change, nonce=OMIT,
                             protected={"nonce": OMIT, **(inner or {})})
    if callable(outer_payload):
        outer_payload = outer_payload(w, new, url, change)
    return w.signed(acct, url, outer_payload)


def old_key(w):
    return jwk_for(w.who("kc").key).public_key().to_partial_json()


def inner_tampered(**members):
    def build(w, new, url, change):
        return with_members(sign(new, url, change, nonce=OMIT, protected={"nonce": OMIT}),
                            members)
    return build


CASES = [
    case("post-as-get", lambda w: roll(w, outer_payload=b""), "malformed", 400),
    case("payload-not-jws", lambda w: roll(w, outer_payload={"a": 1}), "malformed", 400,
         "lacks protected"),
    case("inner-general-serialization", lambda w: roll(
        w, outer_payload=inner_tampered(signatures=[])), "malformed", 400, "general JSON"),
    case("inner-unprotected-header", lambda w: roll(
        w, outer_payload=inner_tampered(header={})), "malformed", 400, "unprotected header"),
    case("inner-missing-signature", lambda w: roll(
        w, outer_payload=inner_tampered(signature=OMIT)), "malformed", 400, "lacks signature"),
    case("inner-with-nonce", lambda w: roll(w, inner={"nonce": w.nonce()}), "malformed", 400,
         "must not carry a 'nonce'"),
    case("inner-with-kid", lambda w: roll(w, inner={"kid": w.who("kc").kid}), "malformed",
         400, "no 'kid'"),
    case("inner-without-jwk", lambda w: roll(w, inner={"jwk": OMIT}), "malformed", 400,
         "as 'jwk'"),
    case("inner-url-mismatch", lambda w: roll(w, inner={"url": w.directory["newOrder"]}),
         "malformed", 400, "must equal the outer"),
    case("inner-alg-none", lambda w: roll(w, inner={"alg": "none"}),
         "badSignatureAlgorithm", 400, "never accepted"),
    case("inner-hs256", lambda w: roll(w, inner={"alg": "HS256"}),
         "badSignatureAlgorithm", 400),
    case("inner-alg-not-fitting", lambda w: roll(w, inner={"alg": "RS256"}),
         "badSignatureAlgorithm", 400, "does not fit"),
    case("inner-signed-by-another-key", lambda w: roll(
        w, outer_payload=lambda w, new, url, change: resign(
            sign(new, url, change, nonce=OMIT, protected={"nonce": OMIT}), fresh())),
         "malformed", 400, "inner JWS signature does not verify"),
    case("inner-payload-array", lambda w: roll(
        w, outer_payload=lambda w, new, url, change: sign(
            new, url, b"[]", nonce=OMIT, protected={"nonce": OMIT})),
         "malformed", 400, "JSON object"),
    case("inner-weak-rsa", lambda w: roll(w, new=rsa.generate_private_key(65537, 1024)),
         "badPublicKey", 400, "1024"),
    case("account-missing", lambda w: roll(w, body={"oldKey": old_key(w)}), "malformed", 400,
         "'account'"),
    case("account-of-someone-else", lambda w: roll(
        w, body={"account": w.who("alice").kid, "oldKey": old_key(w)}), "unauthorized", 403,
         "another account"),
    case("account-unknown", lambda w: roll(
        w, body={"account": "http://localhost/acme/acct/nobody", "oldKey": old_key(w)}),
         "malformed", 400, "'account'"),
    case("account-number", lambda w: roll(w, body={"account": 1, "oldKey": old_key(w)}),
         "malformed", 400, "'account'"),
    case("old-key-missing", lambda w: roll(w, body={"account": w.who("kc").kid}),
         "malformed", 400, "oldKey"),
    case("old-key-wrong", lambda w: roll(w, body={
        "account": w.who("kc").kid,
        "oldKey": jwk_for(fresh()).public_key().to_partial_json()}), "malformed", 400,
         "not the account's current key"),
    case("old-key-string", lambda w: roll(w, body={"account": w.who("kc").kid,
                                                   "oldKey": "key"}), "malformed", 400,
         "oldKey"),
    case("new-key-of-another-account", lambda w: roll(w, new=w.who("alice").key),
         "malformed", 409, "already belongs"),
    case("new-key-is-the-current-key", lambda w: roll(w, new=w.who("kc").key), "malformed",
         409, "current key"),
    case("outer-signed-with-jwk", lambda w: w.post(w.directory["keyChange"], {}, fresh()),
         "malformed", 400, "not embed a 'jwk'"),
]


@pytest.mark.parametrize("send,type_,status,words", CASES)
def test_hostile_key_change(world, send, type_, status, words):
    run_case(world, send, type_, status, words)
