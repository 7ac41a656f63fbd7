"""Hostile JWS envelopes (RFC 8555 §6.2, RFC 7515): every one is refused with
the exact problem, status and a fresh nonce, never a 5xx."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from jws_client import OMIT, b64, sign
from wsgi_world import case, raw_jws, resign, run_case

EC_KEY = ec.generate_private_key(ec.SECP256R1())
P384_KEY = ec.generate_private_key(ec.SECP384R1())
RSA_KEY = rsa.generate_private_key(65537, 2048)
WEAK_RSA = rsa.generate_private_key(65537, 1024)
JOSE = "application/jose+json"


def new_account(w, **protected):
    """A newAccount JWS signed with EC_KEY, header members overridden."""
    url = w.directory["newAccount"]
    return sign(EC_KEY, url, {"termsOfServiceAgreed": True}, nonce=w.nonce(),
                protected=protected)


def post(w, body, content_type=JOSE, url=None):
    if not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    return w.post_raw(url or w.directory["newAccount"], body, content_type)


def tamper(w, **members):
    """A valid newAccount JWS with members of the flattened object replaced."""
    jws = new_account(w)
    for name, value in members.items():
        if value is OMIT:
            jws.pop(name)
        else:
            jws[name] = value
    return post(w, jws)


def order_as(w, key, **kw):
    """A newOrder signed by ``key`` for the account of alice (``kid``)."""
    url = w.directory["newOrder"]
    payload = {"identifiers": [{"type": "dns", "value": "env.test"}]}
    return w.post(url, payload, key, kid=w.who("alice").kid, **kw)


def nested(depth):
    return "[" * depth + "]" * depth


BODY_CASES = [
    case("empty-body", lambda w: post(w, b""), "malformed", 400, "not valid JSON"),
    case("not-json", lambda w: post(w, b"hello"), "malformed", 400, "not valid JSON"),
    case("truncated-json", lambda w: post(w, json.dumps(new_account(w))[:-7]),
         "malformed", 400, "not valid JSON"),
    case("binary-garbage", lambda w: post(w, bytes(range(256))), "malformed", 400),
    case("json-array", lambda w: post(w, [new_account(w)]), "malformed", 400, "flattened"),
    case("json-string", lambda w: post(w, '"jws"'), "malformed", 400, "flattened"),
    case("json-null", lambda w: post(w, "null"), "malformed", 400, "flattened"),
    case("json-number", lambda w: post(w, "1e999"), "malformed", 400, "flattened"),
    case("deeply-nested-body", lambda w: post(w, nested(20000)), "malformed", 400, "JSON"),
    case("oversized-body", lambda w: post(w, b"{" + b" " * (70 * 1024) + b"}"),
         "malformed", 413, "larger than"),
    case("content-type-json", lambda w: post(w, new_account(w), "application/json"),
         "malformed", 415, "application/jose+json"),
    case("content-type-text", lambda w: post(w, new_account(w), "text/plain"),
         "malformed", 415, "Content-Type"),
    case("content-type-none", lambda w: post(w, new_account(w), ""),
         "malformed", 415, "none"),
    case("content-type-form", lambda w: post(w, new_account(w),
                                            "application/x-www-form-urlencoded"),
         "malformed", 415),
    case("content-type-jose-compact", lambda w: post(w, new_account(w), "application/jose"),
         "malformed", 415),
]

SERIALIZATION_CASES = [
    case("general-serialization", lambda w: tamper(w, signatures=[{"signature": "x"}]),
         "malformed", 400, "general JSON serialization"),
    case("unprotected-header", lambda w: tamper(w, header={"kid": "x"}),
         "malformed", 400, "unprotected header"),
    case("unprotected-nonce", lambda w: tamper(w, header={"nonce": w.nonce()}),
         "malformed", 400, "unprotected"),
    case("unprotected-url", lambda w: tamper(w, header={"url": w.directory["newAccount"]}),
         "malformed", 400, "unprotected"),
    case("missing-protected", lambda w: tamper(w, protected=OMIT), "malformed", 400,
         "lacks protected"),
    case("missing-payload", lambda w: tamper(w, payload=OMIT), "malformed", 400,
         "lacks payload"),
    case("missing-signature", lambda w: tamper(w, signature=OMIT), "malformed", 400,
         "lacks signature"),
    case("extra-member", lambda w: tamper(w, extra="1"), "malformed", 400,
         "unexpected members"),
    case("compact-serialization", lambda w: post(w, "eyJhbGciOiJub25lIn0.e30."),
         "malformed", 400, "JSON"),
]

BASE64_CASES = [
    case("protected-not-string", lambda w: tamper(w, protected=5), "malformed", 400,
         "base64url string"),
    case("protected-padded", lambda w: tamper(w, protected=b64('{"alg":"ES256"}') + "=="),
         "malformed", 400, "padding"),
    case("protected-std-base64", lambda w: tamper(w, protected="ab+/"), "malformed", 400,
         "base64url"),
    case("protected-bad-length", lambda w: tamper(w, protected="abcde"), "malformed", 400,
         "base64url"),
    case("protected-trailing-newline", lambda w: tamper(w, protected=new_account(w)["protected"]
                                                        + "\n"), "malformed", 400, "base64url"),
    case("protected-not-json", lambda w: tamper(w, protected=b64("alg=ES256")),
         "malformed", 400, "protected header is not valid JSON"),
    case("protected-json-array", lambda w: tamper(w, protected=b64("[]")), "malformed", 400,
         "JSON object"),
    case("protected-not-utf8", lambda w: tamper(w, protected=b64(b"\xff\xfe{}")),
         "malformed", 400, "not valid JSON"),
    case("protected-deeply-nested", lambda w: tamper(w, protected=b64(nested(5000))),
         "malformed", 400, "JSON"),
    case("payload-bad-base64", lambda w: tamper(w, payload="a$b"), "malformed", 400,
         "payload is not valid"),
    case("payload-not-string", lambda w: tamper(w, payload={"a": 1}), "malformed", 400,
         "base64url string"),
    case("signature-bad-base64", lambda w: tamper(w, signature="!!"), "malformed", 400,
         "signature is not valid"),
    case("signature-null", lambda w: tamper(w, signature=None), "malformed", 400,
         "base64url string"),
]

ALG_CASES = [
    case("alg-none", lambda w: post(w, new_account(w, alg="none")),
         "badSignatureAlgorithm", 400, "never accepted"),
    case("alg-None-capital", lambda w: post(w, new_account(w, alg="None")),
         "badSignatureAlgorithm", 400, "never accepted"),
    case("alg-missing", lambda w: post(w, new_account(w, alg=OMIT)),
         "badSignatureAlgorithm", 400, "no 'alg'"),
    case("alg-empty", lambda w: post(w, new_account(w, alg="")),
         "badSignatureAlgorithm", 400, "no 'alg'"),
    case("alg-hs256", lambda w: post(w, raw_jws({"alg": "HS256", "nonce": w.nonce(),
                                                  "url": w.directory["newAccount"]})),
         "badSignatureAlgorithm", 400, "external account binding"),
    case("alg-hs512", lambda w: post(w, raw_jws({"alg": "HS512"})),
         "badSignatureAlgorithm", 400, "MAC"),
    case("alg-unknown", lambda w: post(w, new_account(w, alg="ES999")),
         "badSignatureAlgorithm", 400, "not supported"),
    case("alg-eddsa", lambda w: post(w, raw_jws({"alg": "EdDSA"})),
         "badSignatureAlgorithm", 400, "not supported"),
    case("alg-number", lambda w: post(w, new_account(w, alg=256)),
         "badSignatureAlgorithm", 400, "not supported"),
    case("alg-list", lambda w: post(w, new_account(w, alg=["ES256"])),
         "badSignatureAlgorithm", 400),
    case("alg-rs256-with-ec-key", lambda w: post(w, new_account(w, alg="RS256")),
         "badSignatureAlgorithm", 400, "does not fit", "RSA"),
    case("alg-es384-with-p256-key", lambda w: post(w, new_account(w, alg="ES384")),
         "badSignatureAlgorithm", 400, "P-384"),
    case("alg-es256-with-rsa-key", lambda w: w.post(
        w.directory["newAccount"], {}, RSA_KEY, alg="ES256", signing_alg="RS256"),
         "badSignatureAlgorithm", 400, "does not fit"),
    case("alg-es256-with-p384-key", lambda w: w.post(
        w.directory["newAccount"], {}, P384_KEY, alg="ES256", signing_alg="ES384"),
         "badSignatureAlgorithm", 400, "P-256"),
    case("crit-header", lambda w: post(w, new_account(w, crit=["exp"], exp=1)),
         "malformed", 400, "crit"),
    case("b64-false", lambda w: post(w, new_account(w, b64=False, crit=["b64"])),
         "malformed", 400),
]

KEY_CASES = [
    case("both-jwk-and-kid", lambda w: post(w, new_account(w, kid=w.who("alice").kid)),
         "malformed", 400, "both"),
    case("neither-jwk-nor-kid", lambda w: post(w, new_account(w, jwk=OMIT)),
         "malformed", 400, "neither"),
    case("kid-on-new-account", lambda w: w.post(w.directory["newAccount"], {}, EC_KEY,
                                                kid=w.who("alice").kid),
         "malformed", 400, "must embed the public key"),
    case("jwk-on-new-order", lambda w: w.post(w.directory["newOrder"], {}, EC_KEY),
         "malformed", 400, "not embed a 'jwk'"),
    case("jwk-not-object", lambda w: post(w, new_account(w, jwk="key")),
         "malformed", 400, "JSON object"),
    case("jwk-private-key", lambda w: post(w, new_account(w, jwk={"kty": "EC", "d": "AA"})),
         "malformed", 400, "private key"),
    case("jwk-kty-oct", lambda w: post(w, new_account(w, jwk={"kty": "oct", "k": "AAAA"})),
         "badPublicKey", 400, "not supported"),
    case("jwk-kty-okp", lambda w: post(w, new_account(
        w, jwk={"kty": "OKP", "crv": "Ed25519", "x": "AAAA"})), "badPublicKey", 400),
    case("jwk-kty-missing", lambda w: post(w, new_account(w, jwk={"x": "AAAA"})),
         "badPublicKey", 400),
    case("jwk-ec-point-off-curve", lambda w: post(w, new_account(
        w, jwk={"kty": "EC", "crv": "P-256", "x": b64(b"\1" * 32), "y": b64(b"\2" * 32)})),
         "malformed", 400, "not a valid EC key"),
    case("jwk-ec-unknown-curve", lambda w: post(w, new_account(
        w, jwk={"kty": "EC", "crv": "P-192", "x": "AA", "y": "AA"})),
         "malformed", 400, "not a valid EC key"),
    case("jwk-rsa-missing-n", lambda w: post(w, new_account(w, jwk={"kty": "RSA", "e": "AQAB"})),
         "malformed", 400, "not a valid RSA key"),
    case("jwk-rsa-1024-bits", lambda w: w.post(w.directory["newAccount"], {}, WEAK_RSA),
         "badPublicKey", 400, "1024 bits"),
    case("kid-not-string", lambda w: order_as(w, w.who("alice").key, protected={"kid": 7}),
         "malformed", 400, "account URL"),
    case("kid-unknown", lambda w: w.post(w.directory["newOrder"], {}, EC_KEY,
                                         kid="http://localhost/acme/acct/nobody"),
         "accountDoesNotExist", 400, "no account"),
    case("kid-other-server", lambda w: w.post(w.directory["newOrder"], {}, EC_KEY,
                                              kid="https://ca.example/acme/acct/1"),
         "accountDoesNotExist", 400),
    case("kid-account-path-traversal", lambda w: w.post(
        w.directory["newOrder"], {}, EC_KEY, kid=w.who("alice").kid + "/../x"),
         "accountDoesNotExist", 400),
    case("kid-empty", lambda w: w.post(w.directory["newOrder"], {}, EC_KEY, kid=""),
         "accountDoesNotExist", 400),
    case("signed-by-another-key-kid", lambda w: order_as(w, EC_KEY),
         "malformed", 400, "does not verify with the account key"),
    case("signed-by-another-key-jwk", lambda w: post(w, resign(new_account(w), P384_KEY,
                                                                "ES384")),
         "malformed", 400),
    case("signature-flipped", lambda w: post(w, flip_signature(new_account(w))),
         "malformed", 400, "does not verify"),
    case("signature-empty", lambda w: tamper(w, signature=""), "malformed", 400,
         "does not verify"),
    case("payload-swapped-after-signing", lambda w: tamper(w, payload=b64('{"contact":[]}')),
         "malformed", 400, "does not verify"),
]


def flip_signature(jws):
    sig = bytearray(jws["signature"].encode())
    sig[5] = ord("A") if sig[5] != ord("A") else ord("B")
    return dict(jws, signature=sig.decode())


URL_CASES = [
    case("url-missing", lambda w: post(w, new_account(w, url=OMIT)), "malformed", 400,
         "'url'"),
    case("url-not-string", lambda w: post(w, new_account(w, url=["x"])), "malformed", 400,
         "'url'"),
    case("url-other-endpoint", lambda w: post(w, new_account(w, url=w.directory["newOrder"])),
         "unauthorized", 403, "does not match"),
    case("url-other-host", lambda w: post(w, new_account(
        w, url="http://evil.example/acme/new-account")), "unauthorized", 403, "does not match"),
    case("url-trailing-slash", lambda w: post(w, new_account(
        w, url=w.directory["newAccount"] + "/")), "unauthorized", 403),
    case("url-with-query", lambda w: post(w, new_account(
        w, url=w.directory["newAccount"] + "?x=1")), "unauthorized", 403),
]

PAYLOAD_CASES = [
    case("payload-array", lambda w: w.post(w.directory["newAccount"], b"[]", EC_KEY),
         "malformed", 400, "JSON object"),
    case("payload-string", lambda w: w.post(w.directory["newAccount"], b'"x"', EC_KEY),
         "malformed", 400, "JSON object"),
    case("payload-number", lambda w: w.post(w.directory["newAccount"], b"3", EC_KEY),
         "malformed", 400, "JSON object"),
    case("payload-not-json", lambda w: w.post(w.directory["newAccount"], b"{nope", EC_KEY),
         "malformed", 400, "payload is not valid JSON"),
    case("payload-deeply-nested", lambda w: w.post(w.directory["newAccount"],
                                                   nested(5000).encode(), EC_KEY),
         "malformed", 400, "JSON"),
    case("payload-nested-in-object", lambda w: w.post(
        w.directory["newAccount"], ('{"contact":' + nested(20000) + "}").encode(), EC_KEY),
         "malformed", 400, "JSON"),
    case("payload-empty-new-account", lambda w: w.post(w.directory["newAccount"], None,
                                                       EC_KEY),
         "malformed", 400, "needs a JSON object"),
    case("payload-nan", lambda w: w.post(w.directory["newAccount"],
                                         b'{"termsOfServiceAgreed": NaN}', EC_KEY),
         "malformed", 400, "NaN is not a JSON number"),
]


@pytest.mark.parametrize("send,type_,status,words", BODY_CASES + SERIALIZATION_CASES
                         + BASE64_CASES + ALG_CASES + KEY_CASES + URL_CASES + PAYLOAD_CASES)
def test_hostile_envelope(world, send, type_, status, words):
    run_case(world, send, type_, status, words)


def test_kid_of_a_deactivated_account(world):
    carol = world.actor()
    assert world.signed(carol, carol.kid, {"status": "deactivated"}).status_code == 200
    run_case(world, lambda w: w.signed(carol, w.directory["newOrder"], {}),
             "unauthorized", 403, ["deactivated"])
