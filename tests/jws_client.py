"""A bare JWS client for tests that need to send what real clients never would.

It signs with josepy and lets a test choose every protected header member, the
payload bytes and the body, over werkzeug's test client or over real HTTP.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Union

import josepy
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from werkzeug.test import Client, TestResponse, run_wsgi_app

from pytest_acme.web.app import AcmeApp

_OMIT = object()


def b64(data: Union[bytes, str]) -> str:
    if isinstance(data, str):
        data = data.encode()
    return josepy.b64.b64encode(data).decode("ascii")


def jwk_for(key: Any) -> josepy.JWK:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return josepy.JWKEC(key=key)
    if isinstance(key, rsa.RSAPrivateKey):
        return josepy.JWKRSA(key=key)
    raise TypeError(key)


def default_alg(key: Any) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}[key.curve.name]
    return "RS256"


def sign(
    key: Any,
    url: str,
    payload: Union[bytes, Dict[str, Any], None],
    *,
    nonce: Any,
    kid: Optional[str] = None,
    alg: Optional[str] = None,
    protected: Optional[Dict[str, Any]] = None,
    signing_alg: Optional[str] = None,
) -> Dict[str, Any]:
    """A flattened JWS.  ``protected`` overrides or adds header members
    (use ``_OMIT`` values to drop one); ``payload=None`` is POST-as-GET."""
    header: Dict[str, Any] = {"alg": alg or default_alg(key), "nonce": nonce, "url": url}
    if kid is not None:
        header["kid"] = kid
    else:
        header["jwk"] = jwk_for(key).public_key().to_partial_json()
    for name, value in (protected or {}).items():
        if value is _OMIT:
            header.pop(name, None)
        else:
            header[name] = value
    if payload is None:
        payload_b64 = ""
    elif isinstance(payload, bytes):
        payload_b64 = b64(payload)
    else:
        payload_b64 = b64(json.dumps(payload))
    protected_b64 = b64(json.dumps(header))
    algorithm = josepy.JWASignature.from_json(signing_alg or alg or default_alg(key))
    signature = algorithm.sign(key, f"{protected_b64}.{payload_b64}".encode())
    return {"protected": protected_b64, "payload": payload_b64, "signature": b64(signature)}


OMIT = _OMIT


def with_members(jws: Dict[str, Any], members: Dict[str, Any]) -> Dict[str, Any]:
    """``jws`` with top-level members set, or removed where the value is OMIT."""
    for name, value in members.items():
        if value is OMIT:
            jws.pop(name)
        else:
            jws[name] = value
    return jws
PROBLEM = "urn:ietf:params:acme:error:"


def expects_nonce(response) -> bool:
    """Whether ``response`` (werkzeug's or requests') must carry a ``Replay-Nonce``:
    as Boulder, every reply but a GET's, and newNonce's (RFC 8555 §6.5, §7.2)."""
    request = response.request
    path = getattr(request, "path", None) or getattr(request, "path_url", "")
    return request.method != "GET" or path.split("?")[0].endswith("/new-nonce")


def assert_problem(response, type_, status, *detail_words):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    if expects_nonce(response):
        assert response.headers.get("Replay-Nonce"), "problem without a fresh nonce"
    else:
        assert "Replay-Nonce" not in response.headers, "a GET's reply with a nonce"
    doc = response.get_json()
    assert doc["type"] == PROBLEM + type_, doc
    assert doc["status"] == status
    for word in detail_words:
        assert word.lower() in doc["detail"].lower(), doc["detail"]
    return doc


class RawClient(Client):
    """Werkzeug's test client without its cookie jar.  The jar reads the request's
    URL from its ``Host`` after the app has answered, and Werkzeug 2.3 raises
    there on a ``Host`` such as ``[`` (one the server must answer with a 400),
    before the test can see the answer."""

    def run_wsgi_app(self, environ: Any, buffered: bool = False) -> Any:
        return run_wsgi_app(self.application, environ, buffered=buffered)


class WsgiAcme:
    """Drive an :class:`AcmeApp` through werkzeug's test client (no sockets)."""

    base = "http://localhost"

    def __init__(self, app: AcmeApp) -> None:
        self.app = app
        self.http = RawClient(app)
        self.directory = self.http.get("/directory").get_json()

    def nonce(self) -> str:
        return self.http.head(self.directory["newNonce"]).headers["Replay-Nonce"]

    def post_raw(self, url: str, body: Union[bytes, str], content_type: str = "application/jose+json"
                 ) -> TestResponse:
        return self.http.post(url, data=body, headers={"Content-Type": content_type})

    def post(self, url: str, payload: Union[bytes, Dict[str, Any], None], key: Any,
             kid: Optional[str] = None, **kw: Any) -> TestResponse:
        nonce = kw.pop("nonce", None) or self.nonce()
        jws = sign(key, url, payload, nonce=nonce, kid=kid, **kw)
        return self.post_raw(url, json.dumps(jws))

    def new_account(self, key: Any, **payload: Any) -> str:
        payload.setdefault("termsOfServiceAgreed", True)
        response = self.post(self.directory["newAccount"], payload, key)
        assert response.status_code in (200, 201), response.get_json()
        return response.headers["Location"]
