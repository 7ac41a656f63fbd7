"""Strict JSON, as Pebble and Boulder read it: UTF-8 only (RFC 8259 §8.1), each
member named once (go-jose refuses duplicates), and no nesting deep enough to
reach the parser's recursion limit, in every place a client's JSON is read."""

from __future__ import annotations

import json

import josepy
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from werkzeug.test import Client

from jws_client import b64, jwk_for, sign
from pytest_acme.standalone.challtestsrv import make_challtestsrv_app
from pytest_acme.standalone.management import make_management_app
from pytest_acme.va.zone import Zone
from wsgi_world import case, run_case

KEY = ec.generate_private_key(ec.SECP256R1())
JOSE = "application/jose+json"
TOS = {"termsOfServiceAgreed": True}


def post(w, body):
    return w.post_raw(w.directory["newAccount"], body, JOSE)


def signed_text(w, protected_text, payload_b64=None):
    """A newAccount JWS whose protected header is exactly ``protected_text``
    (which may name a member twice), validly signed by KEY."""
    protected_b64 = b64(protected_text)
    payload_b64 = b64(json.dumps(TOS)) if payload_b64 is None else payload_b64
    signature = josepy.JWASignature.from_json("ES256").sign(
        KEY, f"{protected_b64}.{payload_b64}".encode())
    return post(w, json.dumps({"protected": protected_b64, "payload": payload_b64,
                               "signature": b64(signature)}))


def header(w, **extra):
    url = w.directory["newAccount"]
    return {"alg": "ES256", "nonce": w.nonce(), "url": url,
            "jwk": jwk_for(KEY).public_key().to_partial_json(), **extra}


def duplicate_url_in_header(w):
    # The first url is the right one; a last-wins parser checks the second.
    text = json.dumps(header(w))
    return signed_text(w, text[:-1] + ', "url": "https://elsewhere.test/acme/new-account"}')


def duplicate_nonce_in_header(w):
    text = json.dumps(header(w))
    return signed_text(w, text[:-1] + f', "nonce": "{w.nonce()}"}}')


def duplicate_in_jwk(w):
    h = header(w)
    jwk = json.dumps(h.pop("jwk"))
    text = json.dumps(h)[:-1] + ', "jwk": ' + jwk[:-1] + ', "crv": "P-384"}}'
    return signed_text(w, text)


def duplicate_member_in_body(w, name):
    jws = sign(KEY, w.directory["newAccount"], TOS, nonce=w.nonce())
    text = json.dumps(jws)
    return post(w, text[:-1] + f', "{name}": {json.dumps(jws[name])}}}')


def header_in(w, encoding):
    return signed_text(w, json.dumps(header(w)).encode(encoding).decode("latin-1"))


def signed_raw_header(w, protected_bytes):
    protected_b64 = b64(protected_bytes)
    payload_b64 = b64(json.dumps(TOS))
    signature = josepy.JWASignature.from_json("ES256").sign(
        KEY, f"{protected_b64}.{payload_b64}".encode())
    return post(w, json.dumps({"protected": protected_b64, "payload": payload_b64,
                               "signature": b64(signature)}))


def payload(w, data):
    return w.post(w.directory["newAccount"], data, KEY)


CASES = [
    case("duplicate-signature-in-body", lambda w: duplicate_member_in_body(w, "signature"),
         "malformed", 400, "'signature' appears more than once"),
    case("duplicate-protected-in-body", lambda w: duplicate_member_in_body(w, "protected"),
         "malformed", 400, "'protected' appears more than once"),
    case("duplicate-url-in-header", duplicate_url_in_header,
         "malformed", 400, "protected header", "'url' appears more than once"),
    case("duplicate-nonce-in-header", duplicate_nonce_in_header,
         "malformed", 400, "'nonce' appears more than once"),
    case("duplicate-in-jwk", duplicate_in_jwk, "malformed", 400, "'crv' appears more than once"),
    case("duplicate-in-payload", lambda w: payload(
        w, b'{"termsOfServiceAgreed": false, "termsOfServiceAgreed": true}'),
         "malformed", 400, "payload", "'termsOfServiceAgreed' appears more than once"),
    case("duplicate-in-nested-payload", lambda w: payload(
        w, b'{"termsOfServiceAgreed": true, "contact": [], "x": {"a": 1, "a": 2}}'),
         "malformed", 400, "'a' appears more than once"),
    case("body-utf16", lambda w: post(w, json.dumps(sign(
        KEY, w.directory["newAccount"], TOS, nonce=w.nonce())).encode("utf-16")),
         "malformed", 400, "UTF-8"),
    case("body-utf16le", lambda w: post(w, json.dumps(sign(
        KEY, w.directory["newAccount"], TOS, nonce=w.nonce())).encode("utf-16-le")),
         "malformed", 400, "UTF-8"),
    case("body-utf32", lambda w: post(w, json.dumps(sign(
        KEY, w.directory["newAccount"], TOS, nonce=w.nonce())).encode("utf-32")),
         "malformed", 400, "UTF-8"),
    case("body-utf8-bom", lambda w: post(w, b"\xef\xbb\xbf" + json.dumps(sign(
        KEY, w.directory["newAccount"], TOS, nonce=w.nonce())).encode()),
         "malformed", 400, "byte order mark"),
    case("header-utf16", lambda w: signed_raw_header(
        w, json.dumps(header(w)).encode("utf-16-le")), "malformed", 400, "UTF-8"),
    case("header-utf32", lambda w: signed_raw_header(
        w, json.dumps(header(w)).encode("utf-32")), "malformed", 400, "UTF-8"),
    case("header-bom", lambda w: signed_raw_header(
        w, b"\xef\xbb\xbf" + json.dumps(header(w)).encode()), "malformed", 400,
         "byte order mark"),
    case("payload-utf16", lambda w: payload(w, json.dumps(TOS).encode("utf-16")),
         "malformed", 400, "payload", "UTF-8"),
    case("payload-utf32be", lambda w: payload(w, json.dumps(TOS).encode("utf-32-be")),
         "malformed", 400, "UTF-8"),
    case("payload-bom", lambda w: payload(w, b"\xef\xbb\xbf" + json.dumps(TOS).encode()),
         "malformed", 400, "byte order mark"),
    case("payload-latin1", lambda w: payload(
        w, '{"termsOfServiceAgreed": true, "contact": ["mailto:\xe9@x.test"]}'.encode(
            "latin-1")), "malformed", 400, "not UTF-8"),
    case("payload-infinity", lambda w: payload(w, b'{"termsOfServiceAgreed": true, '
                                                 b'"x": -Infinity}'),
         "malformed", 400, "-Infinity is not a JSON number"),
    case("payload-nested-513", lambda w: payload(
        w, b'{"termsOfServiceAgreed": true, "x": ' + b"[" * 512 + b"]" * 512 + b"}"),
         "malformed", 400, "more than 512 levels"),
    case("payload-nested-in-strings-and-arrays", lambda w: payload(
        w, b'{"termsOfServiceAgreed": true, "x": ' + b'["[", {"a": "{"}, ' * 600
        + b"1" + b"]" * 600 + b"}"), "malformed", 400, "more than 512 levels"),
]


@pytest.mark.parametrize("send,type_,status,words", CASES)
def test_strict_json(world, send, type_, status, words):
    run_case(world, send, type_, status, words)


def test_brackets_inside_strings_do_not_count_as_nesting(world):
    deep_looking = '[{\\"' * 600
    response = payload(world, json.dumps({**TOS, "x": deep_looking}).encode())
    assert response.status_code in (200, 201), response.get_data(as_text=True)


def test_nesting_just_within_the_limit_is_read(world):
    response = payload(world, b'{"termsOfServiceAgreed": true, "x": '
                       + b"[" * 511 + b"]" * 511 + b"}")
    assert response.status_code in (200, 201), response.get_data(as_text=True)


# -- the management and challtestsrv APIs: every failure a 400, never a 500


@pytest.fixture(scope="module")
def mgmt():
    from pytest_acme import AcmeServer

    with AcmeServer(validation="always_valid", dns_port=None) as server:
        yield Client(make_management_app(server))


@pytest.mark.parametrize("body,words", [
    (b"[" * 5000, "levels deep"),
    (b'{"a":' * 5000 + b"1" + b"}" * 5000, "levels deep"),
    (json.dumps({"seconds": 1}).encode("utf-16"), "UTF-8"),
    (b"\xef\xbb\xbf{}", "byte order mark"),
    (b'{"seconds": NaN}', "NaN"),
], ids=["array-5000", "object-5000", "utf16", "bom", "nan"])
def test_management_api_refuses_bad_json_with_400(mgmt, body, words):
    response = mgmt.post("/pytest-acme/clock/advance", data=body,
                         content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert words in response.get_json()["error"]


def test_management_ari_response_string_is_read_strictly(mgmt):
    response = mgmt.post("/set-renewal-info/", json={
        "Certificate": "-----BEGIN CERTIFICATE-----", "ARIResponse": "[" * 5000})
    assert response.status_code == 400, response.get_data(as_text=True)


@pytest.mark.parametrize("body,words", [
    (b"[" * 5000, "levels deep"),
    (b'{"host": "a.test.", "value": ' + b"[" * 5000 + b"}", "levels deep"),
    (json.dumps({"host": "a.test.", "value": "x"}).encode("utf-16"), "UTF-8"),
    (json.dumps({"host": "a.test.", "value": "x"}).encode("utf-32"), "UTF-8"),
], ids=["array-5000", "value-5000", "utf16", "utf32"])
def test_challtestsrv_refuses_bad_json_with_400(body, words):
    client = Client(make_challtestsrv_app(Zone()))
    response = client.post("/set-txt", data=body, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert words in response.get_data(as_text=True)


def test_challtestsrv_keeps_the_last_of_repeated_members_as_go_does():
    # pebble-challtestsrv decodes with Go's encoding/json: the last value wins.
    zone = Zone()
    client = Client(make_challtestsrv_app(zone))
    response = client.post("/set-txt", content_type="application/json",
                           data=b'{"host": "a.test.", "value": "first", "value": "last"}')
    assert response.status_code == 200, response.get_data(as_text=True)
    assert list(zone.lookup("a.test", "TXT").records) == ["last"]
