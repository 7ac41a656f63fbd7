"""The OCSP responder (RFC 6960), answering as Let's Encrypt's did.

Requests arrive by POST (the DER request as the body, RFC 6960 Appendix A.1)
or by GET (``<responder URL>/<url-encoded base64 of the DER request>``).  Each
answer is a fresh ``application/ocsp-response`` signed by the issuing
intermediate itself (no delegated responder), with the responder named *by
name* as Boulder's responses did, ``thisUpdate`` the server clock and
``nextUpdate`` :data:`OCSP_LIFETIME` later.

What Boulder's ocsp-responder answered, and this one too:

- a certificate of this server, asked for with SHA-1 CertID hashes of its
  issuer: ``good``, or ``revoked`` with the revocation time and reason (the
  reason left out for 0, unspecified);
- a serial this server did not issue (or has forgotten), an issuer name or key
  hash of another CA, or a CertID hashed with SHA-256, SHA-384 or SHA-512:
  the ``unauthorized`` response status (RFC 5019 §2.2.3), never a
  ``good``/``unknown`` guess;
- a request that does not parse (bad base64, not DER, no request, a hash
  algorithm it does not know): ``malformedRequest`` with HTTP 400.

Nonces in requests are ignored and not echoed (RFC 5019 §2.2.1 allows it;
Boulder did the same).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from typing import TYPE_CHECKING, NamedTuple, Optional

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from ..ca import CRL_REASONS, CertificateAuthority, Issuer
from ..config import AcmeConfig
from ..protocol import problems
from ..protocol.resources import Certificate
from ..store import Store
from .exchange import Exchange, Reply, endpoint
from .routes import Urls

if TYPE_CHECKING:  # pragma: no cover
    from .app import AcmeApp

OCSP_REQUEST = "application/ocsp-request"
OCSP_RESPONSE = "application/ocsp-response"
#: thisUpdate to nextUpdate: Boulder's ``lifespanOCSP`` (96 hours).
OCSP_LIFETIME = dt.timedelta(hours=96)
#: Largest POST body read (Boulder's responder read at most 10,000 bytes).
MAX_REQUEST_BYTES = 10000
#: CertID hash algorithms Boulder's parser knew but its responder refused
#: (``unauthorized``); any other but SHA-1 did not parse (``malformedRequest``).
_REFUSED_HASHES = (hashes.SHA256, hashes.SHA384, hashes.SHA512)


class Answer(NamedTuple):
    """One OCSP answer: its DER, what it says, and what it was about."""

    der: bytes
    #: ``"good"``, ``"revoked"``, ``"unauthorized"`` or ``"malformedRequest"``.
    outcome: str
    #: Why, for the event log.
    detail: str
    serial: Optional[int] = None
    certificate: Optional[Certificate] = None

    @property
    def http_status(self) -> int:
        return 400 if self.outcome == "malformedRequest" else 200


def _unsuccessful(status: ocsp.OCSPResponseStatus, outcome: str, detail: str,
                  serial: Optional[int] = None) -> Answer:
    der = ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(Encoding.DER)
    return Answer(der, outcome, detail, serial)


def malformed(detail: str) -> Answer:
    return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST, "malformedRequest", detail)


def decode_get(text: str) -> bytes:
    """The DER request in a GET path: standard base64 (RFC 6960 Appendix A.1),
    already URL-decoded.  A ``+`` that arrived as a space (form decoding) is
    restored, as Boulder did.

    Raises:
        ValueError: the text is not padded standard base64.
    """
    try:
        return base64.b64decode(text.replace(" ", "+"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the GET path is not the base64 of a DER OCSP request") from None


def _issuer_hashes(issuer: Issuer) -> "tuple[bytes, bytes]":
    """SHA-1 of the issuer's DER subject name and of its public key bits
    (RFC 6960 §4.1.1): the key hash is the RFC 5280 key identifier it already has."""
    name = hashlib.sha1(issuer.subject.public_bytes(), usedforsecurity=False).digest()
    return name, issuer.key_id


def respond(der: bytes, ca: CertificateAuthority, store: Store, now: dt.datetime) -> Answer:
    """The answer to DER OCSP request ``der`` at server time ``now``."""
    try:
        request = ocsp.load_der_ocsp_request(der)
        serial = request.serial_number
        name_hash, key_hash = request.issuer_name_hash, request.issuer_key_hash
    except Exception as e:  # noqa: BLE001 - cryptography raises ValueError and friends
        return malformed(f"not a DER OCSP request with one CertID: {e}")
    try:
        algorithm = request.hash_algorithm
    except Exception:  # noqa: BLE001 - UnsupportedAlgorithm
        algorithm = None
    if not isinstance(algorithm, hashes.SHA1):
        if isinstance(algorithm, _REFUSED_HASHES):
            return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED, "unauthorized",
                                 f"CertID hashed with {algorithm.name}; only SHA-1 is served",
                                 serial)
        return malformed("the CertID's hash algorithm is not SHA-1, SHA-256, SHA-384 "
                         "or SHA-512")
    issuer = next((i for i in ca.issuers if _issuer_hashes(i) == (name_hash, key_hash)), None)
    if issuer is None:
        return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED, "unauthorized",
                             f"issuer key hash {key_hash.hex()} is not this CA's", serial)
    with store.lock:
        cert = store.certificates_by_serial.get(serial)
        revoked_at, reason = (cert.revoked_at, cert.revocation_reason) if cert else (None, 0)
    if cert is None or cert.leaf.issuer != issuer.subject:
        return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED, "unauthorized",
                             f"serial {serial:x} was not issued by this server", serial)
    this_update = now.replace(microsecond=0)
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=cert.leaf, issuer=issuer.cert, algorithm=hashes.SHA1(),
        cert_status=ocsp.OCSPCertStatus.GOOD if revoked_at is None
        else ocsp.OCSPCertStatus.REVOKED,
        this_update=this_update, next_update=this_update + OCSP_LIFETIME,
        revocation_time=revoked_at,
        revocation_reason=CRL_REASONS.get(reason or 0) if revoked_at is not None else None,
    ).responder_id(ocsp.OCSPResponderEncoding.NAME, issuer.cert)
    response = builder.sign(issuer.key, hashes.SHA256())
    outcome = "good" if revoked_at is None else "revoked"
    return Answer(response.public_bytes(Encoding.DER), outcome,
                  f"serial {serial:x}: {outcome}", serial, cert)


def ocsp_url(urls: Urls) -> str:
    """The URL of the server's OCSP responder on ``urls``' host."""
    return urls.build("ocsp")


def leaf_ocsp_url(config: AcmeConfig, urls: Optional[Urls]) -> Optional[str]:
    """The responder URL a new leaf names: ``ocsp_responder_url`` when set, else the
    server's own when ``ocsp`` is on (on the host of the finalize request), else none."""
    if config.ocsp_responder_url:
        return config.ocsp_responder_url
    return ocsp_url(urls) if config.ocsp and urls is not None else None


@endpoint("ocsp", auth=None)
def ocsp_responder(app: "AcmeApp", ex: Exchange, request: Optional[str] = None) -> Reply:
    """RFC 6960 over HTTP: POST the DER request, or GET ``/ocsp/<base64>``."""
    if ex.method == "POST":
        try:
            der = ex.read_body(MAX_REQUEST_BYTES)
        except problems.Problem as p:
            answer = malformed(f"the request is larger than {MAX_REQUEST_BYTES} bytes"
                               if p.status == 413 else p.detail)
        else:
            answer = respond(der, app.ca, app.store, app.clock.now())
    elif not request:
        answer = malformed("no request: POST it, or GET <responder URL>/<base64 of it>")
    else:
        try:
            der = decode_get(request)
        except ValueError as e:
            answer = malformed(str(e))
        else:
            answer = respond(der, app.ca, app.store, app.clock.now())
    cert = answer.certificate
    if cert is not None:
        app.note("certificate", cert.id, "OCSPResponse", f"OCSP answered {answer.detail}",
                 (cert.order_id,))
    else:
        app.note("ocsp", "-" if answer.serial is None else f"{answer.serial:x}",
                 "OCSPRefused", f"OCSP answered {answer.outcome}: {answer.detail}")
    return Reply(answer.der, status=answer.http_status, content_type=OCSP_RESPONSE)


#: The handlers of this module, for :mod:`.endpoints`.
HANDLERS = (ocsp_responder,)
