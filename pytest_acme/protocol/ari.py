"""ACME Renewal Information (RFC 9773): certIDs and suggested windows.

Pure functions: no store, no clock of their own.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple

from cryptography import x509

from . import problems
from .inputs import timestamp
from .resources import rfc3339
from .states import Status

if TYPE_CHECKING:  # pragma: no cover
    from .identifiers import Identifier
    from .records import CertificateRecords
    from .resources import Certificate

_B64URL = re.compile(r"[A-Za-z0-9_-]+")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def serial_bytes(serial: int) -> bytes:
    """The content octets of the DER INTEGER ``serial`` (two's complement, minimal)."""
    return serial.to_bytes((serial.bit_length() + 8) // 8, "big", signed=True)


def cert_id(key_id: bytes, serial: int) -> str:
    """RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(DER serial octets)."""
    return f"{_b64(key_id)}.{_b64(serial_bytes(serial))}"


def cert_id_of(cert: x509.Certificate) -> str:
    """The certID of a certificate (it must carry an AKI with a keyIdentifier)."""
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    if aki.key_identifier is None:
        raise ValueError("the certificate's AKI has no keyIdentifier")
    return cert_id(aki.key_identifier, cert.serial_number)


def parse_cert_id(text: Any, what: str = "the certID") -> Tuple[bytes, int]:
    """(AKI keyIdentifier, serial) of a certID, or a ``malformed`` problem that says
    exactly what is wrong with it."""
    if not isinstance(text, str):
        raise problems.Malformed(f"{what} must be a string like <AKI>.<serial>, got {text!r}")
    parts = text.split(".")
    if len(parts) != 2 or not all(parts):
        raise problems.Malformed(
            f"{what} {text[:80]!r} is not two base64url parts joined by one '.': "
            "base64url(AKI keyIdentifier) '.' base64url(serial) (RFC 9773 §4.1)")
    decoded = []
    for part, name in zip(parts, ("AKI keyIdentifier", "serial")):
        if "=" in part:
            raise problems.Malformed(f"the {name} part of {what} has '=' padding; RFC 9773 "
                                     "§4.1 strips it (base64url without padding)")
        if not _B64URL.fullmatch(part) or len(part) % 4 == 1:
            raise problems.Malformed(f"the {name} part of {what} ({part[:40]!r}) is not "
                                     "base64url ('+' and '/' are '-' and '_' in base64url)")
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            raise problems.Malformed(f"the {name} part of {what} is not base64url") from None
        if _b64(raw) != part:
            raise problems.Malformed(f"the {name} part of {what} is not canonical base64url")
        decoded.append(raw)
    key_id, octets = decoded
    serial = int.from_bytes(octets, "big", signed=True)
    if serial <= 0:
        raise problems.Malformed(
            f"the serial in {what} decodes to {serial}: it is the DER INTEGER's octets, and a "
            "serial whose top bit is set needs a leading zero octet")
    if octets != serial_bytes(serial):
        raise problems.Malformed(
            f"the serial in {what} has a superfluous leading zero octet; DER integers are "
            "minimal (use the certificate's serial as encoded in its DER)")
    return key_id, serial


@dataclass(frozen=True)
class RenewalWindow:
    """A ``suggestedWindow`` (and optional ``explanationURL``) of a RenewalInfo object."""

    start: dt.datetime
    end: dt.datetime
    explanation_url: Optional[str] = None

    def __post_init__(self) -> None:
        # RFC 9773 §4.2: a window whose end comes before its start MUST NOT be served.
        # One whose end is its start is what suites give Pebble's /set-renewal-info/
        # to say "renew now", and Pebble serves it as given: so does this server, when
        # it comes that way (see :meth:`require_span` for the strict rule).
        if self.end < self.start:
            raise ValueError(f"the window's end ({rfc3339(self.end)}) must be after its "
                             f"start ({rfc3339(self.start)})")

    def require_span(self) -> "RenewalWindow":
        """``self`` if its end is after its start (RFC 9773 §4.2), else ValueError."""
        if self.end <= self.start:
            raise ValueError(f"the window's end ({rfc3339(self.end)}) must be after its "
                             f"start ({rfc3339(self.start)})")
        return self

    def to_json(self) -> Dict[str, Any]:
        doc: Dict[str, Any] = {"suggestedWindow": {"start": rfc3339(self.start),
                                                   "end": rfc3339(self.end)}}
        if self.explanation_url:
            doc["explanationURL"] = self.explanation_url
        return doc

    @classmethod
    def from_json(cls, doc: Any) -> "RenewalWindow":
        """From a RenewalInfo JSON object (Pebble's ``ARIResponse``); ValueError if ``doc``
        is not one (any JSON value is taken, and checked)."""
        window = doc.get("suggestedWindow") if isinstance(doc, Mapping) else None
        if not isinstance(window, Mapping):
            raise ValueError('a RenewalInfo object needs "suggestedWindow": {"start", "end"}')
        url = doc.get("explanationURL")
        if url is not None and not isinstance(url, str):
            raise ValueError('"explanationURL" must be a string')
        return cls(_time(window.get("start"), "start"), _time(window.get("end"), "end"), url)


def _time(value: Any, name: str) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError(f'suggestedWindow "{name}" must be an RFC 3339 timestamp string')
    return timestamp(value, f'suggestedWindow "{name}"')


def validity(cert: x509.Certificate) -> Tuple[dt.datetime, dt.datetime]:
    """(notBefore, notAfter) as aware UTC datetimes, on every cryptography version."""
    if hasattr(cert, "not_valid_before_utc"):
        return cert.not_valid_before_utc, cert.not_valid_after_utc
    utc = dt.timezone.utc
    return cert.not_valid_before.replace(tzinfo=utc), cert.not_valid_after.replace(tzinfo=utc)


def default_window(not_before: dt.datetime, not_after: dt.datetime) -> RenewalWindow:
    """Boulder's window: centred two thirds into the validity (half way for certificates
    under ten days), 1% of the validity wide on either side."""
    validity = not_after + dt.timedelta(seconds=1) - not_before
    offset = validity / 2 if validity < dt.timedelta(days=10) else validity / 3
    ideal = not_after - offset
    margin = validity / 100
    return RenewalWindow(ideal - margin, ideal + margin)


def revoked_window(now: dt.datetime) -> RenewalWindow:
    """A window already past (Boulder: an hour ago, 30 minutes long): renew now."""
    start = now - dt.timedelta(hours=1)
    return RenewalWindow(start, start + dt.timedelta(minutes=30))


def find_certificate(store: "CertificateRecords", key_ids: Sequence[bytes], text: Any,
                     what: str) -> "Certificate":
    """The certificate a certID names, or a problem: ``malformed`` for a bad certID,
    404 for an issuer or serial this server does not know."""
    key_id, serial = parse_cert_id(text, what)
    if key_id not in key_ids:
        raise problems.Malformed(
            f"the AKI keyIdentifier in {what} ({key_id.hex()[:80]}) is not the key of an issuer of "
            "this server", status=404)
    cert = store.certificates_by_serial.get(serial)
    if cert is None or _key_id(cert.leaf) != key_id:
        shown = f"{serial:x}" if serial.bit_length() <= 160 else f"{serial:x}"[:40] + "..."
        raise problems.Malformed(f"no certificate with serial {shown} was issued by this "
                                 "server", status=404)
    return cert


def _key_id(cert: x509.Certificate) -> Optional[bytes]:
    try:
        return cert.extensions.get_extension_for_class(
            x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        return None


def check_replacement(store: "CertificateRecords", key_ids: Sequence[bytes], account_id: str,
                      text: Any, identifiers: Iterable["Identifier"], now: dt.datetime) -> str:
    """RFC 9773 §5: the certificate a newOrder ``replaces`` must belong to the same account,
    share an identifier with the order, and not be replaced already by an order that is
    not invalid.  Returns the certID to echo; the caller holds the store lock."""
    cert = find_certificate(store, key_ids, text, "'replaces'")
    if cert.account_id != account_id:
        raise problems.Unauthorized(
            f"certificate serial {cert.serial:x} was issued to another account; an order can "
            "only replace this account's certificates")
    issued = {(i.type, i.value) for i in cert.identifiers}  # its order may be gone
    if not issued & {(i.type, i.value) for i in identifiers}:
        raise problems.Malformed(
            f"the order shares no identifier with certificate serial {cert.serial:x} "
            f"({', '.join(sorted(v for _, v in issued))}), which it says it replaces")
    for order in store.orders.values():
        if order.replaces == text and \
                order.status_at(now, store.authz) is not Status.INVALID:
            raise problems.AlreadyReplaced(
                f"certificate serial {cert.serial:x} is already replaced by order {order.id} "
                f"({order.status_at(now, store.authz).value}); only one order that is not "
                "invalid may replace a certificate")
    return text
