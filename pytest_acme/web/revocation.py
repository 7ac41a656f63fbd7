"""Revocation (RFC 8555 §7.6): by the issuing account, by an account holding valid
authorizations for every identifier of the certificate, or by the certificate's
own key."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ..protocol import problems
from ..protocol.csr import spki
from ..protocol.resources import rfc3339
from ..protocol.states import Status
from .exchange import Exchange, Reply, endpoint, require_payload
from .jws import EITHER, b64url_decode

if TYPE_CHECKING:
    from .app import AcmeApp


#: RFC 5280 §5.3.1 reason codes; 7 is unused, and nothing above 10 exists.
REVOCATION_REASONS = {0, 1, 2, 3, 4, 5, 6, 8, 9, 10}
#: The reasons a subscriber may give at Let's Encrypt (Boulder's UserAllowedReasons).
LETSENCRYPT_REASONS = {0: "unspecified", 1: "keyCompromise", 4: "superseded",
                       5: "cessationOfOperation"}
KEY_COMPROMISE, CESSATION_OF_OPERATION = 1, 5


def _requested_reason(payload: Any, rules: str) -> int:
    reason = payload.get("reason", 0)
    if isinstance(reason, bool) or not isinstance(reason, int) or reason not in REVOCATION_REASONS:
        raise problems.BadRevocationReason(
            f"reason {reason!r} is not allowed; use an RFC 5280 reason code: "
            + ", ".join(map(str, sorted(REVOCATION_REASONS))) + " (7 is unused)")
    if rules == "letsencrypt" and reason not in LETSENCRYPT_REASONS:
        raise problems.BadRevocationReason(
            f"reason {reason} is not one Let's Encrypt takes from subscribers; use "
            + ", ".join(f"{code} ({name})" for code, name in LETSENCRYPT_REASONS.items()))
    return reason


@endpoint("revoke_cert", auth=EITHER)
def revoke_cert(app: "AcmeApp", ex: Exchange) -> Reply:
    """Revoke by the issuing account, by an account holding valid authorizations
    for every identifier of the certificate, or by the certificate's own key."""
    payload = require_payload(ex, "revokeCert")
    der = b64url_decode(payload.get("certificate"), "'certificate'")
    rules = app.config.effective("revocation_rules")
    reason = _requested_reason(payload, rules)
    try:
        leaf = x509.load_der_x509_certificate(der)
        serial = leaf.serial_number
    except Exception:
        raise problems.Malformed("'certificate' is not a DER X.509 certificate") from None
    assert ex.signed is not None
    now = app.clock.now()
    with app.store.lock:
        cert = app.store.certificates_by_serial.get(serial)
        if cert is None or cert.leaf.public_bytes(Encoding.DER) != der:
            raise problems.Malformed(
                f"certificate serial {serial:x} was not issued by this server", status=404)
        method = _may_revoke(app, ex, cert, now)
        if rules == "letsencrypt" and method != "subscriber":
            # Boulder: the certificate key proves keyCompromise whatever was asked;
            # another account holding the names can only say cessationOfOperation.
            reason = KEY_COMPROMISE if method == "key" else CESSATION_OF_OPERATION
        if cert.revoked_at is not None:
            if not (rules == "letsencrypt" and method == "key"
                    and cert.revocation_reason != KEY_COMPROMISE):
                raise problems.AlreadyRevoked(f"certificate serial {serial:x} was already "
                                              f"revoked at {rfc3339(cert.revoked_at)}")
            # Boulder re-revokes for keyCompromise when the key itself asks.
            cert.revocation_reason = KEY_COMPROMISE
            why = "reason changed to keyCompromise (signed with the certificate key)"
        else:
            cert.revoked_at, cert.revocation_reason = now, reason
            why = f"reason {reason}"
        if rules == "letsencrypt" and method == "key":
            # Boulder blocks a key that proved its own compromise: no account or
            # CSR may use it again.
            app.store.blocked_keys.add(spki(cert.leaf.public_key()))
        order = app.store.orders.get(cert.order_id)
        if order is not None:
            app.record(order, "CertificateRevoked",
                       f"certificate serial {serial:x} revoked by {method}, {why}")
    return Reply(None)


def _may_revoke(app: "AcmeApp", ex: Exchange, cert: Any, now: dt.datetime) -> str:
    """Who may revoke ``cert`` with this request: ``"key"`` (signed with its key),
    ``"subscriber"`` (the issuing account) or ``"control"`` (an account holding
    valid authorizations for every identifier); else Unauthorized."""
    assert ex.signed is not None
    account = ex.signed.account
    if account is None:
        # Signed with a jwk: it must be the certificate's own key.
        if spki(ex.signed.jwk.key) != spki(cert.leaf.public_key()):
            raise problems.Unauthorized(
                "the JWS 'jwk' is not the certificate's key; sign with the certificate key, "
                "or with an account that may revoke it ('kid')")
        return "key"
    if account.id == cert.account_id:
        return "subscriber"
    missing = sorted(
        str(ident) for ident in set(cert.identifiers)
        if not any(a.status_at(now) is Status.VALID
                   for a in app.store.authzs_for(account.id, ident)))
    if missing:
        raise problems.Unauthorized(
            "this account did not issue the certificate and holds no valid authorization "
            "for " + ", ".join(missing))
    return "control"


#: The handlers of this module, for :mod:`.endpoints`.
HANDLERS = (revoke_cert,)
