"""Authenticating a request: RFC 8555 §6.2-6.5, once, before any handler runs.

:func:`authenticate` takes the raw request and returns a
:class:`SignedRequest` (verified key, account, payload, URL), or raises the
problem the client must see.  Handlers never look at raw JWS.

josepy does the cryptography; this module decides *which* key, algorithm,
nonce and URL are acceptable.  ``nonce``, ``url``, ``kid`` and ``jwk`` are
read from the protected header only (josepy's ``combined`` header would merge
an unprotected header in, which RFC 8555 §6.2 forbids).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Sequence, Tuple, cast

import josepy
from josepy import jwa

from .. import strictjson
from ..protocol import problems
from ..protocol.keys import ec_key_problem, rsa_key_problem
from ..protocol.resources import Account
from ..protocol.states import Status
from .nonces import EXPIRED, OK, NoncePool
from .routes import Urls

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

JOSE_JSON = "application/jose+json"

_B64URL = re.compile(r"^[A-Za-z0-9_-]*\Z")
_CURVE_FOR_ALG = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
_OPENSSL_CURVE = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
_FLATTENED = {"protected", "payload", "signature"}

#: Which key form each endpoint requires (RFC 8555 §6.2).
JWK, KID, EITHER = "jwk", "kid", "either"


@dataclass(frozen=True)
class SignedRequest:
    """A request whose JWS verified.

    Attributes:
        url: the protected ``url``, equal to the request URL.
        jwk: the public key that signed it.
        account: the account named by ``kid`` (None when signed with ``jwk``).
        payload: the decoded JSON object, or None for POST-as-GET (empty payload).
        protected: the protected header as sent.
        raw: the whole flattened JWS object, for nested JWS (key change, EAB).
    """

    url: str
    jwk: josepy.JWK
    account: Optional[Account]
    payload: Optional[Dict[str, Any]]
    protected: Dict[str, Any]
    raw: Dict[str, Any]

    @property
    def is_post_as_get(self) -> bool:
        return self.payload is None


def b64url_decode(value: Any, what: str) -> bytes:
    """Strict base64url (RFC 7515 §2): URL-safe alphabet, no padding."""
    if not isinstance(value, str):
        raise problems.Malformed(f"{what} must be a base64url string, got {type(value).__name__}")
    if not _B64URL.match(value) or len(value) % 4 == 1:
        hint = " (remove the '=' padding)" if value.rstrip("=") != value else ""
        raise problems.Malformed(f"{what} is not valid unpadded base64url{hint}")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def parse_json(data: bytes, what: str) -> Any:
    """The JSON in ``data``, read by :func:`pytest_acme.strictjson.loads`: UTF-8 only
    (RFC 8259 §8.1), every member name once in its object (as go-jose, Pebble's and
    Boulder's JWS parser, requires), no deeper than it allows; ``malformed`` if not."""
    try:
        return strictjson.loads(data)
    except strictjson.JsonError as e:
        raise problems.Malformed(f"{what} is not valid JSON: {e}") from None


def authenticate(
    body: bytes,
    content_type: str,
    request_url: str,
    *,
    key_mode: str,
    urls: Urls,
    nonces: NoncePool,
    algorithms: Sequence[str],
    find_account: Callable[[str], Optional[Account]],
    rsa_keys: str = "letsencrypt",
) -> SignedRequest:
    """Verify a flattened-JSON JWS request and return what it says.  ``rsa_keys``
    names the RSA key rules of :mod:`pytest_acme.protocol.keys`."""
    # §6.2: "application/jose+json"; Boulder and Pebble answer 415 otherwise.
    if content_type != JOSE_JSON and content_type.split(";")[0].strip().lower() != JOSE_JSON:
        raise problems.Malformed(
            f"Content-Type must be {JOSE_JSON} (RFC 8555 §6.2), got {content_type or 'none'!r}",
            status=415,
        )
    try:
        jws = parse_json(body, "the request body")
        check_flattened(jws, "the JWS")
    except problems.Malformed as p:
        p.pebble = ("malformed", "Parse error reading JWS")
        raise
    protected_b64 = jws["protected"]
    protected, alg = _protected(jws, algorithms)
    nonce = protected.get("nonce")
    url = protected.get("url")
    if not isinstance(url, str):
        raise problems.Malformed("the protected header must carry the request URL in 'url' "
                                 "(RFC 8555 §6.4)")

    has_jwk, has_kid = "jwk" in protected, "kid" in protected
    if has_jwk == has_kid:
        raise problems.Malformed(
            "the protected header must have exactly one of 'jwk' and 'kid' (RFC 8555 §6.2); "
            + ("it has both" if has_jwk else "it has neither")
        )
    account: Optional[Account] = None
    if has_jwk:
        if key_mode == KID:
            raise problems.Malformed(
                "this request must be signed with the account key and name the account URL in "
                "'kid', not embed a 'jwk' (RFC 8555 §6.2)"
            )
        key = parse_jwk(protected["jwk"], rsa_keys)
    else:
        if key_mode == JWK:
            raise problems.Malformed(
                "newAccount requests must embed the public key as 'jwk', not 'kid' "
                "(RFC 8555 §6.2)"
            )
        account = _find_account(protected["kid"], urls, find_account)
        key = account.jwk
    _check_key_fits_alg(key, alg)

    signature = b64url_decode(jws["signature"], "the JWS signature")
    payload_b64 = jws["payload"]
    payload_bytes = b64url_decode(payload_b64, "the JWS payload")
    message = protected_b64.encode("ascii") + b"." + payload_b64.encode("ascii")
    if not _verify(alg, key, message, signature):
        raise problems.Malformed("the JWS signature does not verify with the "
                                 + ("account key" if account else "embedded 'jwk'"))

    # §6.5: the nonce, checked after the signature so a forged request cannot burn one.
    if not isinstance(nonce, str) or not nonce:
        raise problems.BadNonce("the protected header has no 'nonce'; get one from newNonce "
                                "or any response's Replay-Nonce header",
                                pebble=("badNonce", "JWS has no anti-replay nonce"))
    found = nonces.take(nonce)
    # Pebble's wording, which suites match: "JWS has an invalid anti-replay nonce".
    pebble = ("badNonce", f"JWS has an invalid anti-replay nonce: {nonce[:100]}")
    if found == EXPIRED:
        raise problems.BadNonce(
            f"nonce {nonce[:40]!r} has expired; retry with the Replay-Nonce of this response",
            pebble=pebble)
    if found != OK:
        raise problems.BadNonce(
            f"nonce {nonce[:40]!r} is unknown or already used; retry with the Replay-Nonce "
            "of this response", pebble=pebble)
    # §6.4: the URL the client signed is the URL it requested.
    if url != request_url:
        raise problems.Unauthorized(
            f"the JWS 'url' {url[:200]!r} does not match the request URL {request_url!r} "
            "(RFC 8555 §6.4)"
        )
    payload: Optional[Dict[str, Any]] = None
    if payload_bytes:
        parsed = parse_json(payload_bytes, "the JWS payload")
        if not isinstance(parsed, dict):
            raise problems.Malformed(
                f"the JWS payload must be a JSON object, got {type(parsed).__name__}"
            )
        payload = parsed
    return SignedRequest(url=url, jwk=key, account=account, payload=payload,
                         protected=protected, raw=jws)


def _check_alg(alg: Any, algorithms: Sequence[str]) -> jwa.JWASignature:
    if isinstance(alg, str) and alg in algorithms:
        return jwa.JWASignature.from_json(alg)
    if alg in ("HS256", "HS384", "HS512"):
        why = "MAC algorithms are only for the inner JWS of external account binding"
    elif alg in (None, ""):
        why = "the protected header has no 'alg'"
    elif str(alg).lower() == "none":
        why = "unsigned requests ('none') are never accepted"
    else:
        why = f"algorithm {str(alg)[:40]!r} is not supported"
    raise problems.BadSignatureAlgorithm(
        f"{why}; use one of {', '.join(algorithms)}",
        extra={"algorithms": list(algorithms)},
    )


def parse_jwk(obj: Any, rsa_keys: str = "letsencrypt") -> josepy.JWK:
    """A public account key from a ``jwk`` header (RSA or EC only), its size and
    exponent checked by the ``rsa_keys`` rules before any signature is verified."""
    if not isinstance(obj, dict):
        raise problems.Malformed("'jwk' must be a JSON object (RFC 7517)")
    if "d" in obj or "p" in obj:
        raise problems.Malformed("'jwk' contains private key material; send the public key only")
    kty = obj.get("kty")
    if kty not in ("RSA", "EC"):
        raise problems.BadPublicKey(
            f"key type {str(kty)[:20]!r} is not supported; use RSA or EC (P-256 or P-384)"
        )
    try:
        key = josepy.JWK.from_json(obj)
    except Exception as e:  # josepy raises DeserializationError, ValueError, ...
        raise problems.Malformed(f"'jwk' is not a valid {kty} key: {e}") from None
    # josepy wraps the cryptography key in a ComparableKey, which hands every
    # attribute on to the key it wraps: hence the casts.
    if isinstance(key, josepy.JWKRSA):
        why = rsa_key_problem(cast("rsa.RSAPublicKey", key.key), rsa_keys)
        if why:
            raise problems.BadPublicKey(f"the RSA account key {why}")
        return key
    if isinstance(key, josepy.JWKEC):
        why = ec_key_problem(cast("ec.EllipticCurvePublicKey", key.key), rsa_keys)
        if why:
            raise problems.BadPublicKey(f"the EC account key {why}")
        return key
    raise problems.BadPublicKey(f"key type {str(kty)[:20]!r} is not supported; use RSA or EC")


def _check_key_fits_alg(key: josepy.JWK, alg: jwa.JWASignature) -> None:
    name = alg.name
    if name.startswith(("RS", "PS")):
        ok = isinstance(key, josepy.JWKRSA)
    else:
        ok = isinstance(key, josepy.JWKEC) and key.key.curve.name == _OPENSSL_CURVE[name]
    if not ok:
        raise problems.BadSignatureAlgorithm(
            f"algorithm {name} does not fit the {_describe(key)}; "
            + ("use an RSA key" if name.startswith(("RS", "PS"))
               else f"{name} needs an EC {_CURVE_FOR_ALG[name]} key"),
            extra={"algorithms": [name]},
        )


def _describe(key: josepy.JWK) -> str:
    if isinstance(key, josepy.JWKEC):
        return f"EC key on {key.key.curve.name}"
    return f"{type(key).__name__[3:]} key"


def _find_account(
    kid: Any, urls: Urls, find_account: Callable[[str], Optional[Account]]
) -> Account:
    if not isinstance(kid, str):
        raise problems.Malformed("'kid' must be the account URL (a string)")
    account_id = urls.account_id_from_kid(kid)
    account = find_account(account_id) if account_id else None
    if account is None:
        raise problems.AccountDoesNotExist(
            f"no account at {kid[:200]!r}; create one with newAccount first",
            pebble=("accountDoesNotExist", f"Account {kid[:200]} not found.") if account_id
            else ("malformed", "Key ID (kid) in JWS header missing expected URL prefix"))
    if account.status is not Status.VALID:
        raise problems.Unauthorized(
            f"the account {kid} is {account.status.value} and can no longer be used"
        )
    return account


def _verify(alg: jwa.JWASignature, key: josepy.JWK, message: bytes, signature: bytes) -> bool:
    try:
        # josepy's verify *returns* False for a bad signature; it must be checked.
        return alg.verify(key.key, message, signature) is True
    except Exception:
        return False


def check_flattened(jws: Any, what: str) -> None:
    """RFC 8555 §6.2: flattened JSON serialization, one signature, no unprotected header."""
    if type(jws) is dict and jws.keys() == _FLATTENED:
        return
    if not isinstance(jws, dict):
        raise problems.Malformed(f"{what} must be a JWS object in flattened JSON form")
    if "signatures" in jws:
        raise problems.Malformed(
            f"{what} uses the general JSON serialization; RFC 8555 §6.2 requires the "
            "flattened form ({protected, payload, signature}) with one signature"
        )
    if "header" in jws:
        raise problems.Malformed(f"{what} has an unprotected header; RFC 8555 §6.2 forbids it")
    missing = [k for k in ("protected", "payload", "signature") if k not in jws]
    if missing:
        raise problems.Malformed(f"{what} lacks {', '.join(missing)}")
    extra = sorted(set(jws) - {"protected", "payload", "signature"})
    if extra:
        raise problems.Malformed(f"{what} has unexpected members: {', '.join(extra)}")


def _protected(jws: Dict[str, Any], algorithms: Sequence[str]) -> Tuple[Dict[str, Any],
                                                                        jwa.JWASignature]:
    """The decoded protected header and its checked algorithm."""
    protected = parse_json(b64url_decode(jws["protected"], "the protected header"),
                           "the protected header")
    if not isinstance(protected, dict):
        raise problems.Malformed("the protected header must be a JSON object")
    alg = _check_alg(protected.get("alg"), algorithms)
    for forbidden, why in (("crit", "no JWS extensions are supported"),
                           ("b64", "the unencoded payload option is forbidden (RFC 8555 §6.2)")):
        if forbidden in protected:
            raise problems.Malformed(f"the protected header has '{forbidden}': {why}")
    return protected, alg


def verify_inner(jws: Any, outer_url: str, algorithms: Sequence[str],
                 rsa_keys: str = "letsencrypt") -> Tuple[josepy.JWK, Dict[str, Any]]:
    """The inner JWS of a key change (RFC 8555 §7.3.5): signed by the new key, given
    as ``jwk``, with the outer JWS's ``url`` and no ``nonce``.  Returns the new key
    and the key-change object."""
    check_flattened(jws, "the inner JWS (the keyChange payload)")
    protected, alg = _protected(jws, algorithms)
    if "nonce" in protected:
        raise problems.Malformed("the inner JWS must not carry a 'nonce' (RFC 8555 §7.3.5)")
    if "jwk" not in protected or "kid" in protected:
        raise problems.Malformed("the inner JWS must carry the new key as 'jwk', and no 'kid'")
    if protected.get("url") != outer_url:
        raise problems.Malformed(
            f"the inner JWS 'url' {str(protected.get('url'))[:200]!r} must equal the outer "
            f"one, {outer_url!r}")
    key = parse_jwk(protected["jwk"], rsa_keys)
    _check_key_fits_alg(key, alg)
    signature = b64url_decode(jws["signature"], "the inner JWS signature")
    payload_bytes = b64url_decode(jws["payload"], "the inner JWS payload")
    message = jws["protected"].encode("ascii") + b"." + jws["payload"].encode("ascii")
    if not _verify(alg, key, message, signature):
        raise problems.Malformed("the inner JWS signature does not verify with its 'jwk' "
                                 "(the new key)")
    payload = parse_json(payload_bytes, "the inner JWS payload")
    if not isinstance(payload, dict):
        raise problems.Malformed("the key-change object must be a JSON object")
    return key, payload
