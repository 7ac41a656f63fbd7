"""The HTTP edge, without sockets: RFC 8555 §6 request rules and problem rendering.

Every refusal must be a problem document with the right type and status and,
except in answer to a GET, a fresh Replay-Nonce; no request here may produce a 5xx.
"""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from jws_client import OMIT, WsgiAcme, assert_problem, b64, sign
from pytest_acme import AcmeConfig
from pytest_acme.web.app import AcmeApp


@pytest.fixture(scope="module")
def app():
    return AcmeApp(AcmeConfig(seed=7))


@pytest.fixture
def acme(app):
    client = WsgiAcme(app)
    yield client
    assert app.take_errors() == []


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


def test_directory_lists_the_endpoints_and_meta(acme):
    response = acme.http.get("/directory")
    assert response.status_code == 200
    doc = response.get_json()
    for name in ("newNonce", "newAccount", "newOrder"):
        assert doc[name].startswith("http://localhost/acme/")
    assert doc["meta"]["termsOfService"] == "http://localhost/terms"
    assert doc["meta"]["externalAccountRequired"] is False
    assert "Replay-Nonce" not in response.headers  # only newNonce's GET has one (Boulder)
    assert '<http://localhost/directory>;rel="index"' in response.headers.getlist("Link")
    assert acme.http.get(doc["meta"]["termsOfService"]).status_code == 200


def test_pebble_directory_path_is_an_alias(acme):
    assert acme.http.get("/dir").get_json() == acme.http.get("/directory").get_json()


def test_new_nonce_head_is_200_and_get_is_204_with_no_store(acme):
    head = acme.http.head("/acme/new-nonce")
    get = acme.http.get("/acme/new-nonce")
    assert (head.status_code, get.status_code) == (200, 204)
    for response in (head, get):
        assert response.headers["Cache-Control"] == "no-store"
        assert '<http://localhost/directory>;rel="index"' in response.headers.getlist("Link")
    assert head.headers["Replay-Nonce"] != get.headers["Replay-Nonce"]


def test_every_nonce_is_fresh(acme):
    nonces = {acme.nonce() for _ in range(50)}
    assert len(nonces) == 50


def test_a_nonce_is_accepted_once(acme, key):
    nonce = acme.nonce()
    first = acme.post(acme.directory["newAccount"], {"termsOfServiceAgreed": True}, key, nonce=nonce)
    assert first.status_code in (200, 201)
    again = acme.post(acme.directory["newAccount"], {"termsOfServiceAgreed": True}, key, nonce=nonce)
    assert_problem(again, "badNonce", 400, "already used", "Replay-Nonce")
    # RFC 8555 §6.5: the client retries with the nonce of the error response.
    retry = acme.post(acme.directory["newAccount"], {}, key, nonce=again.headers["Replay-Nonce"])
    assert retry.status_code == 200


@pytest.mark.parametrize("nonce", ["bm9wZQ", "", 42, "!!!", "a" * 300])
def test_unknown_or_malformed_nonces_are_bad_nonce(acme, key, nonce):
    response = acme.post_raw(acme.directory["newAccount"], json.dumps(
        sign(key, acme.directory["newAccount"], {}, nonce=nonce)))
    assert_problem(response, "badNonce", 400)


def test_missing_nonce_is_bad_nonce(acme, key):
    url = acme.directory["newAccount"]
    jws = sign(key, url, {}, nonce="x", protected={"nonce": OMIT})
    assert_problem(acme.post_raw(url, json.dumps(jws)), "badNonce", 400, "no 'nonce'")


def test_wrong_content_type_is_415(acme, key):
    url = acme.directory["newAccount"]
    body = json.dumps(sign(key, url, {}, nonce=acme.nonce()))
    assert_problem(acme.post_raw(url, body, "application/json"), "malformed", 415,
                   "application/jose+json")


@pytest.mark.parametrize(
    "body, words",
    [
        (b"", ["not valid JSON"]),
        (b"{not json", ["not valid JSON"]),
        (b"[1, 2]", ["flattened"]),
        (b"[" * 20000 + b"]" * 20000, ["not valid JSON"]),
        (json.dumps({"protected": "e30", "payload": ""}).encode(), ["lacks signature"]),
        (json.dumps({"payload": "", "signatures": []}).encode(), ["general JSON serialization"]),
        (json.dumps({"protected": "e30", "payload": "", "signature": "", "header": {}}).encode(),
         ["unprotected header"]),
        (json.dumps({"protected": "e30", "payload": "", "signature": "", "x": 1}).encode(),
         ["unexpected members: x"]),
        (json.dumps({"protected": "e30=", "payload": "", "signature": ""}).encode(),
         ["padding"]),
        (json.dumps({"protected": "%%%", "payload": "", "signature": ""}).encode(),
         ["base64url"]),
        (json.dumps({"protected": b64("[]"), "payload": "", "signature": ""}).encode(),
         ["JSON object"]),
        (json.dumps({"protected": 5, "payload": "", "signature": ""}).encode(),
         ["base64url string"]),
    ],
)
def test_malformed_bodies(acme, body, words):
    response = acme.post_raw(acme.directory["newAccount"], body)
    assert_problem(response, "malformed", 400, *words)


@pytest.mark.parametrize("alg", ["none", "HS256", "XX999", None, ""])
def test_unsupported_algorithms_are_refused_with_the_list(acme, key, alg):
    url = acme.directory["newAccount"]
    jws = sign(key, url, {}, nonce=acme.nonce(), protected={"alg": alg if alg is not None else OMIT},
               signing_alg="ES256")
    doc = assert_problem(acme.post_raw(url, json.dumps(jws)), "badSignatureAlgorithm", 400)
    assert "ES256" in doc["algorithms"] and "RS256" in doc["algorithms"]


def test_algorithm_must_fit_the_key(acme, key):
    url = acme.directory["newAccount"]
    jws = sign(key, url, {}, nonce=acme.nonce(), protected={"alg": "ES384"}, signing_alg="ES256")
    assert_problem(acme.post_raw(url, json.dumps(jws)), "badSignatureAlgorithm", 400, "P-384")
    jws = sign(key, url, {}, nonce=acme.nonce(), protected={"alg": "RS256"}, signing_alg="ES256")
    assert_problem(acme.post_raw(url, json.dumps(jws)), "badSignatureAlgorithm", 400, "RSA")


@pytest.mark.parametrize(
    "make_key, alg",
    [
        (lambda: ec.generate_private_key(ec.SECP256R1()), "ES256"),
        (lambda: ec.generate_private_key(ec.SECP384R1()), "ES384"),
        (lambda: rsa.generate_private_key(65537, 2048), "RS256"),
        (lambda: rsa.generate_private_key(65537, 2048), "PS256"),
        (lambda: rsa.generate_private_key(65537, 2048), "RS512"),
    ],
)
def test_supported_algorithms_create_accounts(acme, make_key, alg):
    response = acme.post(acme.directory["newAccount"], {"termsOfServiceAgreed": True},
                         make_key(), alg=alg)
    assert response.status_code == 201, response.get_json()


def test_a_p521_account_key_is_a_bad_public_key_as_at_lets_encrypt(acme):
    """Boulder's goodkey takes P-256 and P-384 account keys; ES512 with P-521 is
    refused before its signature is checked."""
    response = acme.post(acme.directory["newAccount"], {"termsOfServiceAgreed": True},
                         ec.generate_private_key(ec.SECP521R1()), alg="ES512")
    assert_problem(response, "badPublicKey", 400, "use P-256 or P-384")


def test_bad_signature_is_malformed(acme, key):
    url = acme.directory["newAccount"]
    jws = sign(key, url, {}, nonce=acme.nonce())
    jws["payload"] = b64(json.dumps({"onlyReturnExisting": True}))
    assert_problem(acme.post_raw(url, json.dumps(jws)), "malformed", 400, "does not verify")


def test_signature_by_another_key_is_refused(acme, key):
    kid = acme.new_account(key)
    other = ec.generate_private_key(ec.SECP256R1())
    response = acme.post(acme.directory["newOrder"], {"identifiers": [
        {"type": "dns", "value": "a.example"}]}, other, kid=kid)
    assert_problem(response, "malformed", 400, "does not verify", "account key")


def test_both_or_neither_jwk_and_kid(acme, key):
    url = acme.directory["newOrder"]
    kid = acme.new_account(key)
    both = sign(key, url, {}, nonce=acme.nonce(), kid=kid,
                protected={"jwk": {"kty": "EC"}})
    assert_problem(acme.post_raw(url, json.dumps(both)), "malformed", 400, "both")
    neither = sign(key, url, {}, nonce=acme.nonce(), protected={"jwk": OMIT})
    assert_problem(acme.post_raw(url, json.dumps(neither)), "malformed", 400, "neither")


def test_new_account_needs_jwk_and_others_need_kid(acme, key):
    kid = acme.new_account(key)
    response = acme.post(acme.directory["newAccount"], {}, key, kid=kid)
    assert_problem(response, "malformed", 400, "'jwk', not 'kid'")
    response = acme.post(acme.directory["newOrder"], {"identifiers": []}, key)
    assert_problem(response, "malformed", 400, "'kid'")


def test_unknown_kid_is_account_does_not_exist(acme, key):
    for kid in ("http://localhost/acme/acct/nope", "https://elsewhere.example/acct/1"):
        response = acme.post(acme.directory["newOrder"], {}, key, kid=kid)
        assert_problem(response, "accountDoesNotExist", 400, "newAccount")


def test_url_must_match_the_request(acme, key):
    kid = acme.new_account(key)
    jws = sign(key, "http://localhost/acme/new-account", {}, nonce=acme.nonce(), kid=kid)
    response = acme.post_raw(acme.directory["newOrder"], json.dumps(jws))
    assert_problem(response, "unauthorized", 403, "does not match the request URL")
    jws = sign(key, acme.directory["newOrder"], {}, nonce=acme.nonce(), kid=kid,
               protected={"url": OMIT})
    assert_problem(acme.post_raw(acme.directory["newOrder"], json.dumps(jws)), "malformed", 400,
                   "'url'")


@pytest.mark.parametrize("payload, words", [(b"[]", ["JSON object"]), (b"nope", ["not valid JSON"]),
                                            (b'"s"', ["JSON object"])])
def test_payload_must_be_a_json_object(acme, key, payload, words):
    response = acme.post(acme.directory["newAccount"], payload, key)
    assert_problem(response, "malformed", 400, *words)


def test_unprotected_crit_and_b64_are_refused(acme, key):
    for extra in ({"crit": ["exp"]}, {"b64": False}):
        response = acme.post(acme.directory["newAccount"], {}, key, protected=extra)
        assert_problem(response, "malformed", 400, list(extra)[0])


def test_private_key_material_in_jwk_is_refused(acme, key):
    from jws_client import jwk_for
    private = jwk_for(key).to_partial_json()
    response = acme.post(acme.directory["newAccount"], {}, key, protected={"jwk": private})
    assert_problem(response, "malformed", 400, "private key")


def test_weak_and_unknown_account_keys_are_bad_public_key(acme):
    weak = rsa.generate_private_key(65537, 1024)
    response = acme.post(acme.directory["newAccount"], {}, weak)
    assert_problem(response, "badPublicKey", 400, "1024 bits")
    key = ec.generate_private_key(ec.SECP256R1())
    response = acme.post(acme.directory["newAccount"], {}, key,
                         protected={"jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AA"}})
    assert_problem(response, "badPublicKey", 400, "OKP")


def test_oversized_body_is_413(acme):
    limit = acme.app.config.max_body_bytes
    response = acme.post_raw(acme.directory["newAccount"], b"{" + b" " * limit + b"}")
    assert_problem(response, "malformed", 413, str(limit))


@pytest.mark.parametrize("path", ["/acme/order/x", "/acme/authz/x", "/acme/chall/x",
                                  "/acme/cert/x", "/acme/new-order", "/acme/acct/x"])
def test_plain_get_of_a_resource_is_405_pointing_at_post_as_get(acme, path):
    response = acme.http.get(path)
    assert_problem(response, "malformed", 405, "POST-as-GET")
    assert "POST" in response.headers["Allow"]


def test_unknown_path_is_404_problem(acme):
    assert_problem(acme.http.get("/nothing/here"), "malformed", 404, "/nothing/here")


def test_server_errors_are_500_problems_and_reported(app, key):
    client = WsgiAcme(app)
    original = app.thumbprint
    app.thumbprint = lambda jwk: 1 / 0  # type: ignore[assignment]
    try:
        response = client.post(client.directory["newAccount"], {}, key)
    finally:
        app.thumbprint = original  # type: ignore[assignment]
    assert_problem(response, "serverInternal", 500, "ZeroDivisionError")
    errors = app.take_errors()
    assert len(errors) == 1 and isinstance(errors[0].exception, ZeroDivisionError)
    assert "newAccount" in errors[0].where or "new-account" in errors[0].where


def test_request_log_records_problems_and_accounts(app, key):
    client = WsgiAcme(app)
    kid = client.new_account(key)
    client.post(client.directory["newOrder"], {"identifiers": "x"}, key, kid=kid)
    last = app.requests[-1]
    assert (last.method, last.path, last.status, last.problem) == (
        "POST", "/acme/new-order", 400, "malformed")
    assert kid.endswith(last.account)
