"""External account binding (RFC 8555 §7.3.4): the inner JWS of a newAccount.

The binding is a flattened JWS whose payload is the account's public key (the
outer ``jwk``), MACed (HS256/384/512) with a key the CA gave out of band under a
key id (``kid``), with the newAccount URL as ``url`` and no ``nonce``.  josepy's
HMAC algorithms compute the MAC; this module decides what is acceptable and, when
a MAC does not verify, tries the usual base64 mix-ups so the ``detail`` can name
the one the client made.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING, Any, List, Mapping, Optional

import josepy
from josepy import jwa

from ..protocol import problems
from .jws import b64url_decode, check_flattened, parse_json, parse_jwk

if TYPE_CHECKING:
    from .app import AcmeApp
    from .exchange import Exchange

#: The MAC algorithms RFC 8555 §7.3.4 allows.
MAC_ALGORITHMS = ("HS256", "HS384", "HS512")
_STANDARD_ONLY = re.compile(r"[+/=]")


def decode_mac_key(key: str) -> bytes:
    """The bytes of a configured MAC key: base64url (RFC 8555 §7.3.4), or, for a key
    written in standard base64 (``+``, ``/``, ``=``), its standard decoding."""
    if _STANDARD_ONLY.search(key):
        return base64.b64decode(key.rstrip("=") + "=" * (-len(key.rstrip("=")) % 4))
    return josepy.b64.b64decode(key)


def encode_mac_key(raw: bytes) -> str:
    return josepy.b64.b64encode(raw).decode("ascii")


def verify_binding(binding: Any, account_key: josepy.JWK, new_account_url: str,
                   keys: Mapping[str, str], rsa_keys: str = "letsencrypt") -> str:
    """Check ``binding`` against the outer key and URL; return its key id.

    Raises:
        Malformed: the binding is not a flattened JWS with a MAC algorithm.
        Unauthorized: unknown key id, wrong MAC, wrong key or url, or a nonce.
    """
    check_flattened(binding, "the externalAccountBinding")
    protected = parse_json(b64url_decode(binding["protected"], "the binding's protected header"),
                           "the binding's protected header")
    if not isinstance(protected, dict):
        raise problems.Malformed("the binding's protected header must be a JSON object")
    alg = protected.get("alg")
    if alg not in MAC_ALGORITHMS:
        raise problems.Malformed(
            f"the externalAccountBinding 'alg' must be a MAC algorithm "
            f"({', '.join(MAC_ALGORITHMS)}), not {str(alg)[:20]!r} (RFC 8555 §7.3.4)")
    kid = protected.get("kid")
    if not isinstance(kid, str) or kid not in keys:
        raise problems.Unauthorized(
            f"the external account key id {str(kid)[:80]!r} is not known to this server; "
            "use a key id the CA gave you (AcmeServer.add_eab_key, eab_keys, or Pebble's "
            "externalAccountMACKeys)")
    # §7.3.4: "The 'nonce' field MUST NOT be present"; "url" is the newAccount URL.
    if "nonce" in protected:
        raise problems.Unauthorized("the externalAccountBinding must not carry a 'nonce' "
                                    "(RFC 8555 §7.3.4)")
    if protected.get("url") != new_account_url:
        raise problems.Unauthorized(
            f"the externalAccountBinding 'url' {str(protected.get('url'))[:200]!r} must be "
            f"the newAccount URL, {new_account_url!r}")
    signature = b64url_decode(binding["signature"], "the binding's signature")
    # Decoded (so checked to be a base64url string) before it goes into the MAC input.
    payload = b64url_decode(binding["payload"], "the binding's payload")
    message = binding["protected"].encode("ascii") + b"." + binding["payload"].encode("ascii")
    configured = keys[kid]
    algorithm = jwa.JWASignature.from_json(alg)
    if not _mac_ok(algorithm, decode_mac_key(configured), message, signature):
        raise problems.Unauthorized(_mac_failure(algorithm, kid, configured, message, signature))
    try:
        bound = parse_jwk(parse_json(payload, "the binding's payload"), rsa_keys)
    except problems.Problem as p:
        raise problems.Malformed(f"the externalAccountBinding payload is not a JWK: {p.detail}") \
            from None
    if bound.thumbprint() != account_key.thumbprint():
        raise problems.Unauthorized(
            "the externalAccountBinding payload is not the account key: it must be the same "
            "JWK as the outer 'jwk' (RFC 8555 §7.3.4)")
    return kid


def _mac_ok(alg: jwa.JWASignature, key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        return alg.verify(key, message, signature) is True
    except Exception:
        return False


def _mac_failure(alg: jwa.JWASignature, kid: str, configured: str, message: bytes,
                 signature: bytes) -> str:
    """Why the MAC did not verify, as precisely as the usual mistakes allow."""
    base = f"the externalAccountBinding MAC ({alg.name}) does not verify with the key of {kid!r}"
    for raw, why in _mix_ups(configured):
        if _mac_ok(alg, raw, message, signature):
            return f"{base}: {why}"
    if _STANDARD_ONLY.search(configured):
        return (f"{base}. The key configured for {kid!r} looks like standard base64 (it has "
                "'+', '/' or '=' padding), but RFC 8555 §7.3.4 MAC keys are base64url; a "
                "client may decode it differently. Configure it as base64url: "
                f"{encode_mac_key(decode_mac_key(configured))}")
    return base + "; check the key id and the MAC key (base64url, RFC 8555 §7.3.4)"


def _mix_ups(configured: str) -> List[Any]:
    out = []
    standard = _lenient_standard(configured)
    if standard is not None and standard != decode_mac_key(configured):
        out.append((standard, "the client decoded the MAC key as standard base64, which "
                    "drops the '-' and '_' characters; the key is base64url (RFC 8555 §7.3.4): "
                    "decode it with the URL-safe alphabet"))
    out.append((configured.encode("ascii"), "the client used the key's base64url text as the "
                "MAC key; decode it from base64url first (RFC 8555 §7.3.4)"))
    return out


def _lenient_standard(text: str) -> Optional[bytes]:
    """What a non-validating standard-base64 decoder makes of ``text``."""
    kept = re.sub(r"[^A-Za-z0-9+/]", "", text)
    try:
        return base64.b64decode(kept + "=" * (-len(kept) % 4))
    except (binascii.Error, ValueError):
        return None


def external_account(app: "AcmeApp", ex: "Exchange", payload: Mapping[str, Any]) -> Optional[str]:
    """The key id a newAccount binds, after checking its binding; None without one.

    Raises:
        ExternalAccountRequired: the server requires a binding and there is none.
    """
    binding = payload.get("externalAccountBinding")
    if binding is None:
        if app.config.eab_required:
            raise problems.ExternalAccountRequired(
                "this server requires an external account binding: send "
                "'externalAccountBinding' (RFC 8555 §7.3.4) with a key id and MAC key the CA "
                "gave you")
        return None
    assert ex.signed is not None
    return verify_binding(binding, ex.signed.jwk, ex.signed.url, app.config.eab_keys,
                          app.config.effective("rsa_keys"))
