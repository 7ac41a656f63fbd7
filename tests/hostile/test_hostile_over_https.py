"""A representative part of the hostile corpus over real HTTPS, through the
threaded server and its TLS listener rather than werkzeug's test client."""

from __future__ import annotations

import json

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from jws_client import OMIT, PROBLEM, expects_nonce, sign

KEY = ec.generate_private_key(ec.SECP256R1())


class Https:
    def __init__(self, server):
        self.server = server
        self.session = requests.Session()
        self.directory = self.get(server.directory_url).json()

    def get(self, url):
        return self.session.get(url, verify=self.server.ca_bundle, timeout=10)

    def nonce(self):
        return self.session.head(self.directory["newNonce"], verify=self.server.ca_bundle,
                                 timeout=10).headers["Replay-Nonce"]

    def post(self, url, body, content_type="application/jose+json"):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        return self.session.post(url, data=body, headers={"Content-Type": content_type},
                                 verify=self.server.ca_bundle, timeout=10)

    def signed(self, url, payload, key=KEY, **kw):
        return self.post(url, sign(key, url, payload, nonce=kw.pop("nonce", None)
                                   or self.nonce(), **kw))


def new_account(h, **protected):
    return h.signed(h.directory["newAccount"], {"termsOfServiceAgreed": True},
                    protected=protected)


def reused_nonce(h):
    nonce = h.nonce()
    h.signed(h.directory["newAccount"], {"termsOfServiceAgreed": True}, nonce=nonce)
    return h.signed(h.directory["newAccount"], {"termsOfServiceAgreed": True}, nonce=nonce)


def bad_identifier(h):
    kid = new_account(h).headers["Location"]
    return h.signed(h.directory["newOrder"], {"identifiers": [
        {"type": "dns", "value": "a b.test"}]}, kid=kid)


def duplicate_signature(h):
    jws = sign(KEY, h.directory["newAccount"], {"termsOfServiceAgreed": True}, nonce=h.nonce())
    text = json.dumps(jws)
    return h.post(h.directory["newAccount"], text[:-1] + ', "signature": "AAAA"}')


CASES = [
    ("duplicate-member", duplicate_signature, "malformed", 400),
    ("nested-513", lambda h: h.signed(h.directory["newAccount"], json.dumps(
        {"termsOfServiceAgreed": True, "x": 1}).replace("1", "[" * 513 + "]" * 513).encode()),
     "malformed", 400),
    ("utf16-body", lambda h: h.post(h.directory["newAccount"], json.dumps(sign(
        KEY, h.directory["newAccount"], {"termsOfServiceAgreed": True},
        nonce=h.nonce())).encode("utf-16")), "malformed", 400),
    ("not-json", lambda h: h.post(h.directory["newAccount"], b"{"), "malformed", 400),
    ("wrong-content-type", lambda h: h.post(h.directory["newAccount"], b"{}",
                                            "application/json"), "malformed", 415),
    ("oversized", lambda h: h.post(h.directory["newAccount"], b" " * (65 * 1024)),
     "malformed", 413),
    ("alg-none", lambda h: new_account(h, alg="none"), "badSignatureAlgorithm", 400),
    ("no-nonce", lambda h: new_account(h, nonce=OMIT), "badNonce", 400),
    ("reused-nonce", reused_nonce, "badNonce", 400),
    ("url-mismatch", lambda h: new_account(h, url=h.directory["newOrder"]),
     "unauthorized", 403),
    ("unknown-kid", lambda h: h.signed(h.directory["newOrder"], {}, kid=h.directory[
        "newAccount"].replace("new-account", "acct/nobody")), "accountDoesNotExist", 400),
    ("bad-identifier", bad_identifier, "rejectedIdentifier", 400),
    ("get-order", lambda h: h.get(h.directory["newOrder"]), "malformed", 405),
]


def test_nesting_within_the_limit_is_read_in_a_server_thread(acme_server):
    h = Https(acme_server)
    payload = json.dumps({"termsOfServiceAgreed": True, "x": 1}).replace(
        "1", "[" * 511 + "]" * 511).encode()
    response = h.signed(h.directory["newAccount"], payload)
    assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize("send,type_,status", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_hostile_request_over_https(acme_server, send, type_, status):
    h = Https(acme_server)
    response = send(h)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM + type_
    if not expects_nonce(response):  # a GET's reply has none, as at Let's Encrypt
        assert "Replay-Nonce" not in response.headers
        return
    fresh = response.headers["Replay-Nonce"]
    # The nonce is live: a request carrying it gets past the nonce check.
    ok = h.signed(h.directory["newAccount"], {"termsOfServiceAgreed": True}, nonce=fresh)
    assert ok.status_code in (200, 201), ok.text
