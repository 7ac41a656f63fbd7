"""Inspection: snapshots of the server's objects, as they read at the server clock,
and finding the stored object a URL, an id or a certificate names.

A snapshot states what an order, authorization, challenge, account or
certificate *reads as* now (an order past its expiry reads ``invalid`` whatever
its stored status), with its URLs and its events::

    info = acme_server.order(order_url)     # an OrderInfo snapshot
    assert info.status == "invalid"

Snapshots are frozen dataclasses taken under the store lock: they never change
afterwards, and holding one keeps nothing in the server alive.
:mod:`.describe` prints them as text.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

from cryptography import x509
from werkzeug.exceptions import HTTPException

from .protocol import ari, problems
from .protocol.identifiers import Identifier
from .protocol.resources import (
    Account,
    Authorization,
    Certificate,
    Challenge,
    Order,
)
from .protocol.states import Status
from .web.routes import RULES, Urls

if TYPE_CHECKING:  # pragma: no cover
    from .records import TimelineEvent
    from .store import Store
    from .web.app import AcmeApp

# -- snapshots -------------------------------------------------------------------


@dataclass(frozen=True)
class ChallengeInfo:
    """One challenge as it reads at the server clock.

    Attributes:
        id: the challenge's id (the last part of its URL).
        url: the challenge URL a client POSTs to.
        authz_url: the URL of its authorization.
        type: ``http-01``, ``dns-01``, ``tls-alpn-01``, ``dns-account-01`` or
            ``dns-persist-01``.
        status: ``pending``, ``processing``, ``valid`` or ``invalid``.
        token: the token (RFC 8555 §8.1); empty for dns-persist-01, which has none.
        error: the problem document of a failed validation, as the client reads it.
        validated: when it passed, on the server clock.
        validation_record: what the validator did: ``url``, ``hostname``,
            ``port``, ``addressesResolved``, ``addressUsed``, and
            ``responseCode`` (the HTTP status received; shown by ``describe()``,
            never sent to clients).
    """

    id: str
    url: str
    authz_url: str
    type: str
    status: Status
    token: str
    error: Optional[Dict[str, Any]] = None
    validated: Optional[dt.datetime] = None
    validation_record: List[Dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class AuthorizationInfo:
    """One authorization as it reads at the server clock.

    Attributes:
        id: the authorization's id.
        url: its URL.
        account_url: the URL of the account it belongs to.
        identifier: what it authorizes (``Identifier("dns", "*.example.test")``;
            ``str()`` gives ``dns:*.example.test``).
        wildcard: True for a wildcard name (validated on its base name).
        status: the effective status: ``expired`` once the clock passes
            ``expires``, whatever is stored.
        stored_status: the status recorded in the store.
        expires: when it expires.
        challenges: its challenges, in the order offered.
        order_urls: the orders that use it (several, when reused).
        preauthorized: made through newAuthz (pre-authorization, RFC 8555
            §7.4.1), not by an order.
    """

    id: str
    url: str
    account_url: str
    identifier: Identifier
    wildcard: bool
    status: Status
    stored_status: Status
    expires: dt.datetime
    challenges: List[ChallengeInfo]
    order_urls: List[str]
    preauthorized: bool = False


@dataclass(frozen=True)
class OrderInfo:
    """One order as it reads at the server clock (``server.order(url)``).

    Attributes:
        id: the order's id.
        url: the order URL (its ``Location``).
        account_url: the URL of the account that made it.
        status: the effective status at the server clock: ``invalid`` once it
            expired or an authorization went invalid, whatever is stored.
        stored_status: the status recorded in the store (a read never changes it).
        identifiers: what it asks a certificate for, in the order asked.
        created: when it was made, on the server clock.
        expires: when it expires (``order_expiry`` after creation).
        not_before: the ``notBefore`` the client asked for, if any.
        not_after: the ``notAfter`` the client asked for, if any.
        error: the problem document that made it invalid, as the client reads it.
        finalize_url: its finalize URL.
        certificate_url: the certificate URL, once issued.
        certificate: the issued leaf, once issued.
        authorizations: its authorizations, in the order of ``identifiers``.
        events: the timeline of the order, its authorizations and challenges, and
            the faults that fired on its requests, oldest first (see
            :class:`pytest_acme.TimelineEvent`); expiries the clock has passed
            are included.
        profile: the profile the certificate follows (draft-ietf-acme-profiles),
            if any.
        replaces: the certID of the certificate this order replaces (RFC 9773),
            if any.
    """

    id: str
    url: str
    account_url: str
    status: Status
    stored_status: Status
    identifiers: List[Identifier]
    created: dt.datetime
    expires: dt.datetime
    not_before: Optional[dt.datetime]
    not_after: Optional[dt.datetime]
    error: Optional[Dict[str, Any]]
    finalize_url: str
    certificate_url: Optional[str]
    certificate: Optional[x509.Certificate]
    authorizations: List[AuthorizationInfo]
    events: List["TimelineEvent"]
    profile: Optional[str] = None
    replaces: Optional[str] = None


@dataclass(frozen=True)
class AccountInfo:
    """One account (``server.lookup(account_url)``, ``server.accounts()``).

    Attributes:
        id: the account's id.
        url: the account URL (the ``kid`` of its requests).
        status: ``valid``, ``deactivated`` or ``revoked``.
        contact: its contact URLs (``mailto:...``).
        created: when it was made, on the server clock.
        order_urls: its orders, oldest first.
        events: its own events (created, key changed, deactivated) and the
            faults that fired on its requests.
        external_account: the external account key id bound at creation
            (RFC 8555 §7.3.4), if any.
    """

    id: str
    url: str
    status: Status
    contact: List[str]
    created: dt.datetime
    order_urls: List[str]
    events: List["TimelineEvent"] = field(default_factory=list)
    external_account: Optional[str] = None


@dataclass(frozen=True)
class CertificateInfo:
    """One issued certificate (``server.lookup(certificate_url)``).

    Attributes:
        id: the certificate's id.
        url: the certificate URL.
        account_url: the URL of the account that ordered it.
        order_url: the URL of the order it was issued for.
        serial: its serial number (``f"{serial:x}"`` as describe shows it).
        not_before: its notBefore.
        not_after: its notAfter.
        issued: when it was issued, on the server clock.
        certificate: the leaf.
        chain_pem: the PEM chain served at its URL (leaf first).
        expired: notAfter has passed on the server clock (move it with
            ``clock.advance``).
        revoked_at: when it was revoked, if it was.
        revocation_reason: the RFC 5280 reason code it was revoked with, if it was.
        cert_id: its RFC 9773 certID (for renewalInfo and ``replaces``).
        replaced_by: the orders (not invalid) that name it in ``replaces``.
    """

    id: str
    url: str
    account_url: str
    order_url: str
    serial: int
    not_before: dt.datetime
    not_after: dt.datetime
    issued: dt.datetime
    certificate: x509.Certificate
    chain_pem: bytes
    expired: bool = False
    revoked_at: Optional[dt.datetime] = None
    revocation_reason: Optional[int] = None
    cert_id: str = ""
    replaced_by: List[str] = field(default_factory=list)


Info = Union[OrderInfo, AuthorizationInfo, ChallengeInfo, AccountInfo, CertificateInfo]


def _challenge(c: Challenge, urls: Urls) -> ChallengeInfo:
    return ChallengeInfo(
        id=c.id,
        url=urls.challenge(c.id),
        authz_url=urls.authz(c.authz_id),
        type=c.type,
        status=c.status,
        token=c.token,
        error=c.error.to_json() if c.error is not None else None,
        validated=c.validated,
        validation_record=copy.deepcopy(list(c.validation_record)),
    )


def _authz(a: Authorization, urls: Urls, now: dt.datetime) -> AuthorizationInfo:
    return AuthorizationInfo(
        id=a.id,
        url=urls.authz(a.id),
        account_url=urls.account(a.account_id),
        identifier=a.identifier,
        wildcard=a.wildcard,
        status=a.status_at(now),
        stored_status=a.status,
        expires=a.expires,
        challenges=[_challenge(c, urls) for c in a.challenges],
        order_urls=[urls.order(o) for o in a.order_ids],
        preauthorized=a.preauthorized,
    )


def _order(app: "AcmeApp", o: Order, urls: Urls, now: dt.datetime) -> OrderInfo:
    store = app.store
    cert = store.certificates.get(o.certificate_id) if o.certificate_id else None
    return OrderInfo(
        id=o.id,
        url=urls.order(o.id),
        account_url=urls.account(o.account_id),
        status=o.status_at(now, store.authz),
        stored_status=o.status,
        identifiers=list(o.identifiers),
        created=o.created,
        expires=o.expires,
        not_before=o.not_before,
        not_after=o.not_after,
        error=o.error.to_json() if o.error is not None else None,
        finalize_url=urls.finalize(o.id),
        certificate_url=urls.certificate(o.certificate_id) if o.certificate_id else None,
        certificate=cert.leaf if cert is not None else None,
        authorizations=[_authz(a, urls, now) for a in store.authzs_of_order(o)],
        events=_with_expiry(app, o, [e for e in app.events if o.id in e.order_ids], now),
        profile=o.profile,
        replaces=o.replaces,
    )


def _with_expiry(app: "AcmeApp", o: Order, events: List["TimelineEvent"],
                 now: dt.datetime) -> List["TimelineEvent"]:
    """The stored events plus the expiries the clock has passed (derived at read
    time, as expiry itself is: nothing is stored by looking).  A derived expiry
    reads exactly as the stored one will once a request settles it."""
    from .records import TimelineEvent, expiry_message

    derived = []
    if o.status in (Status.PENDING, Status.READY) and now >= o.expires:
        derived.append(TimelineEvent(o.expires, "order", o.id, "OrderExpired",
                                     expiry_message(o, o.expires), (o.id,)))
    for a in app.store.authzs_of_order(o):
        if a.status in (Status.PENDING, Status.VALID) and now >= a.expires:
            derived.append(TimelineEvent(
                a.expires, "authorization", a.id, "AuthorizationExpired",
                expiry_message(a, a.expires), (o.id,), identifier=a.identifier.value))
    return sorted(events + derived, key=lambda e: e.time)


def _account(app: "AcmeApp", a: Account, urls: Urls) -> AccountInfo:
    return AccountInfo(
        id=a.id,
        url=urls.account(a.id),
        status=a.status,
        contact=list(a.contact),
        created=a.created,
        order_urls=[urls.order(o) for o in a.order_ids],
        events=[e for e in app.events if (e.kind == "account" and e.id == a.id)
                or (e.kind == "fault" and e.account_id == a.id)],
        external_account=a.eab_kid,
    )


def _certificate(app: "AcmeApp", c: Certificate, urls: Urls, now: dt.datetime
                 ) -> CertificateInfo:
    cert_id = ari.cert_id_of(c.leaf)
    not_before, not_after = ari.validity(c.leaf)
    store = app.store
    return CertificateInfo(
        id=c.id,
        url=urls.certificate(c.id),
        account_url=urls.account(c.account_id),
        order_url=urls.order(c.order_id),
        serial=c.serial,
        not_before=not_before,
        not_after=not_after,
        issued=c.issued,
        certificate=c.leaf,
        chain_pem=c.chain_pem,
        expired=now >= not_after,
        revoked_at=c.revoked_at,
        revocation_reason=c.revocation_reason,
        cert_id=cert_id,
        replaced_by=[urls.order(o.id) for o in store.orders.values() if o.replaces == cert_id
                     and o.status_at(now, store.authz) is not Status.INVALID],
    )


def orders(app: "AcmeApp", urls: Urls) -> List[OrderInfo]:
    """Every order on the server, in creation order."""
    with app.store.lock:
        now = app.clock.now()
        return [_order(app, o, urls, now) for o in app.store.orders.values()]


def accounts(app: "AcmeApp", urls: Urls) -> List[AccountInfo]:
    """Every account on the server, in creation order."""
    with app.store.lock:
        return [_account(app, a, urls) for a in app.store.accounts.values()]


#: URL endpoint -> the kind of object a match of it names.
_ENDPOINT_KIND = {
    "order": "order",
    "finalize": "order",
    "authz": "authorization",
    "challenge": "challenge",
    "account": "account",
    "account_orders": "account",
    "certificate": "certificate",
}

#: The kinds of object :func:`locate` finds, in the order a bare id is tried.
KINDS = ("order", "authorization", "challenge", "account", "certificate")


def locate(store: "Store", url_or_id: str,
           kinds: Sequence[str] = KINDS) -> Optional[Tuple[str, Any]]:
    """The stored object at an order, finalize, authorization, challenge, account
    (or account orders) or certificate URL, or with that id, if it is one of
    ``kinds``: ``(kind, record)``, or None.  The caller holds the store lock.

    A URL is matched against :data:`pytest_acme.web.routes.RULES`, the one route
    table; only its path is used, so ``localhost`` and ``127.0.0.1`` URLs both work.
    """
    text = str(url_or_id).strip()
    candidates: Sequence[str]
    if "/" in text:
        path = urlsplit(text).path if "://" in text else text
        try:
            endpoint, args = RULES.bind("localhost").match(path, method="POST")
        except HTTPException:
            return None
        kind = _ENDPOINT_KIND.get(endpoint)
        if kind is None or kind not in kinds:
            return None
        candidates, id = (kind,), args["id"]
    else:
        candidates, id = kinds, text
    tables: Dict[str, Dict[str, Any]] = {
        "order": store.orders, "authorization": store.authzs, "challenge": store.challenges,
        "account": store.accounts, "certificate": store.certificates}
    for kind in candidates:
        record = tables[kind].get(id)
        if record is not None:
            return kind, record
    return None


def stored_order(store: "Store", order: Any) -> Order:
    """The stored order an order (or finalize) URL, an id, a snapshot or a record
    names.  The caller holds the store lock.

    Raises:
        KeyError: no such order on this server.
    """
    found = locate(store, getattr(order, "id", order), ("order",))
    if found is None:
        raise KeyError(f"no order {order!r} on this server")
    return found[1]


def stored_certificate(store: "Store", certificate: Any) -> Certificate:
    """The stored certificate an ``x509.Certificate``, its PEM (text or bytes), its
    certID (RFC 9773), its serial number or its URL names.  The caller holds the
    store lock.

    Raises:
        KeyError: this server did not issue that certificate.
    """
    if isinstance(certificate, bytes):
        certificate = certificate.decode("ascii", "replace")
    if isinstance(certificate, str) and "BEGIN CERTIFICATE" in certificate:
        certificate = x509.load_pem_x509_certificate(certificate.encode())
    if isinstance(certificate, x509.Certificate):
        certificate = certificate.serial_number
    if isinstance(certificate, str) and "/" in certificate:
        found = locate(store, certificate, ("certificate",))
        if found is None:
            raise KeyError(f"no certificate at {certificate!r} on this server")
        return found[1]
    if isinstance(certificate, str):
        try:
            certificate = ari.parse_cert_id(certificate)[1]
        except problems.Problem as p:
            raise KeyError(p.detail) from None
    record = store.certificates_by_serial.get(certificate)
    if record is None:
        raise KeyError(f"no certificate {certificate!r} on this server")
    return record


def find(app: "AcmeApp", urls: Urls, url_or_id: str) -> Optional[Info]:
    """The snapshot of the object at an order, finalize, authorization, challenge,
    account (or account orders) or certificate URL, or with that id; None if none
    (see :func:`locate`)."""
    with app.store.lock:
        found = locate(app.store, url_or_id)
        if found is None:
            return None
        kind, record = found
        now = app.clock.now()
        if kind == "order":
            return _order(app, record, urls, now)
        if kind == "authorization":
            return _authz(record, urls, now)
        if kind == "challenge":
            return _challenge(record, urls)
        if kind == "account":
            return _account(app, record, urls)
        return _certificate(app, record, urls, now)
