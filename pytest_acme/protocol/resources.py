"""The ACME objects (RFC 8555 §7.1) as records, and their JSON views.

Records hold facts; statuses change only through :mod:`.states`.  The JSON
views take the instant to render at, so expiry is applied on read without
changing anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Protocol, Tuple

import josepy
from cryptography import x509

from .identifiers import Identifier, identifiers_from_names
from .problems import Problem
from .states import Status, derive_order_status, effective_status

HTTP_01 = "http-01"
DNS_01 = "dns-01"
TLS_ALPN_01 = "tls-alpn-01"
#: draft-ietf-acme-dns-account-label
DNS_ACCOUNT_01 = "dns-account-01"
#: draft-ietf-acme-dns-persist
DNS_PERSIST_01 = "dns-persist-01"
#: Every challenge type the server can check, in the order it offers them.
CHALLENGE_TYPES = (HTTP_01, DNS_01, TLS_ALPN_01, DNS_ACCOUNT_01, DNS_PERSIST_01)
#: What is offered unless a test asks for more: RFC 8555's and RFC 8737's three,
#: as Let's Encrypt offers them.  The drafts are one setting away, because
#: offering them by default breaks clients: certbot's ``acme`` library reads them
#: as unrecognized challenges, and a dns-persist-01 challenge has no ``token``.
DEFAULT_CHALLENGE_TYPES = (HTTP_01, DNS_01, TLS_ALPN_01)


_UTC = dt.timezone.utc


def rfc3339(when: dt.datetime) -> str:
    """``2026-04-11T12:00:00Z`` (RFC 3339, UTC, whole seconds)."""
    if when.tzinfo is not _UTC:
        when = when.astimezone(_UTC)
    if when.year < 1000:
        # strftime writes such years without leading zeros (on glibc): keep its text.
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Formatted directly: strftime costs three times as much.
    return (f"{when.year:04d}-{when.month:02d}-{when.day:02d}"
            f"T{when.hour:02d}:{when.minute:02d}:{when.second:02d}Z")


class Urls(Protocol):
    """Builds the external URL of each object (see :mod:`pytest_acme.web.routes`)."""

    def account(self, id: str) -> str: ...
    def account_orders(self, id: str) -> str: ...
    def order(self, id: str) -> str: ...
    def finalize(self, id: str) -> str: ...
    def authz(self, id: str) -> str: ...
    def challenge(self, id: str) -> str: ...
    def certificate(self, id: str) -> str: ...


# Clients poll orders and authorizations many times, and only the status in
# their JSON changes: the rest, made from the host's URLs and ``expires``, is
# kept on the object with the ``urls`` and ``expires`` it was made from, and
# made again when either is another object (a request by another host name,
# an expire_order fault), or, for an order, when its certificate id is set.
# Ids and the lists of authorizations and challenges never change once an
# object is made.  Each order and authorization keeps one
# record, which holds strings besides ``urls`` and ``expires``: the garbage
# collector gets one more object to visit per order or authorization, not one
# per URL.


class _OrderTexts(NamedTuple):
    urls: Any
    expires: dt.datetime
    certificate_id: Optional[str]
    expires_text: str
    authorizations: Tuple[str, ...]
    finalize: str
    url: str
    certificate: Optional[str]


class _AuthzTexts(NamedTuple):
    urls: Any
    expires: dt.datetime
    expires_text: str
    #: Each challenge's URL and accounturi (dns-persist-01), in order.
    challenges: Tuple[Tuple[str, Optional[str]], ...]


#: Validation-record members kept for inspection (``describe()``) only, never sent
#: to clients: Boulder's records carry no HTTP response code.
INSPECTION_ONLY_RECORD_FIELDS = ("responseCode",)


@dataclass(eq=False)
class Account:
    id: str
    jwk: josepy.JWK
    thumbprint: str
    created: dt.datetime
    contact: List[str] = field(default_factory=list)
    terms_agreed: bool = False
    status: Status = Status.VALID
    order_ids: List[str] = field(default_factory=list)
    #: The external account key id bound at creation (RFC 8555 §7.3.4), if any.
    eab_kid: Optional[str] = None
    kind = "account"

    def to_json(self, urls: Urls) -> Dict[str, Any]:
        doc: Dict[str, Any] = {
            "status": self.status.value,
            "contact": list(self.contact),
            "orders": urls.account_orders(self.id),
            "key": self.jwk.to_partial_json(),
            "createdAt": rfc3339(self.created),
        }
        if self.terms_agreed:
            doc["termsOfServiceAgreed"] = True
        return doc


@dataclass(eq=False)
class Challenge:
    id: str
    type: str
    token: str
    authz_id: str
    status: Status = Status.PENDING
    validated: Optional[dt.datetime] = None
    #: When the client answered it (validation_delay counts from then).
    answered: Optional[dt.datetime] = None
    error: Optional[Problem] = None
    validation_record: List[Dict[str, Any]] = field(default_factory=list)
    #: dns-persist-01 only: the CA names a record may use.
    issuer_domain_names: Tuple[str, ...] = ()
    #: dns-persist-01 only: the account the record must name (its ``accounturi``).
    account_id: Optional[str] = None
    kind = "challenge"

    def view_urls(self, urls: Urls) -> Tuple[str, Optional[str]]:
        """The URLs the JSON view names: the challenge's and (dns-persist-01) the
        account's."""
        return (urls.challenge(self.id),
                urls.account(self.account_id) if self.account_id is not None else None)

    def to_json(self, urls: Urls) -> Dict[str, Any]:
        return self.json_with(*self.view_urls(urls))

    def json_with(self, url: str, accounturi: Optional[str]) -> Dict[str, Any]:
        """The JSON view, given what :meth:`view_urls` returns."""
        doc: Dict[str, Any] = {
            "type": self.type,
            "url": url,
            "status": self.status.value,
        }
        if self.type == DNS_PERSIST_01:
            # The draft's challenge has no token: the record names CA and account.
            doc["issuer-domain-names"] = list(self.issuer_domain_names)
            if self.account_id is not None:
                # draft-ietf-acme-dns-persist-01 §3.1: the value for accounturi=.
                doc["accounturi"] = accounturi
        else:
            doc["token"] = self.token
        if self.validated is not None:
            doc["validated"] = rfc3339(self.validated)
        if self.error is not None:
            doc["error"] = self.error.to_json()
        if self.validation_record:
            doc["validationRecord"] = [{k: v for k, v in r.items()
                                        if k not in INSPECTION_ONLY_RECORD_FIELDS}
                                       for r in self.validation_record]
        return doc


@dataclass(eq=False)
class Authorization:
    id: str
    account_id: str
    identifier: Identifier
    expires: dt.datetime
    challenges: List[Challenge]
    status: Status = Status.PENDING
    order_ids: List[str] = field(default_factory=list)
    #: Created through newAuthz (RFC 8555 §7.4.1) rather than by an order.
    preauthorized: bool = False
    #: The texts of the JSON view that its status does not change, as last made
    #: (see the note above :class:`_OrderTexts`).
    _made: Optional[_AuthzTexts] = field(default=None, init=False, repr=False)
    kind = "authorization"

    @property
    def wildcard(self) -> bool:
        return self.identifier.wildcard

    def status_at(self, now: dt.datetime) -> Status:
        return effective_status(self.kind, self.status, self.expires, now)

    @property
    def decided_by(self) -> Optional[Challenge]:
        """The challenge whose validation ended (valid or invalid), if one has.

        Only one challenge of an authorization may be attempted, so at most one
        ends.  RFC 8555 §7.1.4: a valid authorization lists the challenge that
        was validated, an invalid one the challenge that failed; the others are
        gone.  Boulder lists only that one from then on (``sa/model.go``,
        ``modelToAuthzPB``), whatever the status becomes (deactivated,
        expired); until then, a processing validation included, all are listed.
        """
        for challenge in self.challenges:
            if challenge.status is Status.VALID or challenge.status is Status.INVALID:
                return challenge
        return None

    def to_json(self, urls: Urls, now: dt.datetime) -> Dict[str, Any]:
        status = self.status_at(now)
        made = self._made
        if made is None or made.urls is not urls or made.expires is not self.expires:
            made = self._made = _AuthzTexts(urls, self.expires, rfc3339(self.expires),
                                            tuple(c.view_urls(urls) for c in self.challenges))
        listed: Iterable[Tuple[Challenge, Tuple[str, Optional[str]]]] = zip(
            self.challenges, made.challenges)
        decided = self.decided_by
        if decided is not None:  # RFC 8555 §7.1.4: only the challenge that decided it
            listed = [(c, texts) for c, texts in listed if c is decided]
        identifier = self.identifier
        wildcard = identifier.wildcard
        # RFC 8555 §7.1.4: the identifier is the base name; "wildcard": true says why.
        doc: Dict[str, Any] = {
            "identifier": {"type": identifier.type, "value": identifier.base},
            "status": status.value,
            "expires": made.expires_text,
            "challenges": [c.json_with(*texts) for c, texts in listed],
        }
        if wildcard:
            doc["wildcard"] = True
        return doc


@dataclass(eq=False)
class Order:
    id: str
    account_id: str
    identifiers: List[Identifier]
    authz_ids: List[str]
    created: dt.datetime
    expires: dt.datetime
    not_before: Optional[dt.datetime] = None
    not_after: Optional[dt.datetime] = None
    status: Status = Status.PENDING
    error: Optional[Problem] = None
    certificate_id: Optional[str] = None
    #: The profile the certificate follows (draft-ietf-acme-profiles), if any.
    profile: Optional[str] = None
    #: The certID of the certificate this order replaces (RFC 9773 §5), if any.
    replaces: Optional[str] = None
    #: The texts of the JSON view that its status does not change, as last made
    #: (see the note above :class:`_OrderTexts`).
    _made: Optional[_OrderTexts] = field(default=None, init=False, repr=False)
    kind = "order"

    def _texts(self, urls: Urls) -> _OrderTexts:
        made = self._made
        if made is None or made.urls is not urls or made.expires is not self.expires \
                or made.certificate_id is not self.certificate_id:
            made = self._made = _OrderTexts(
                urls, self.expires, self.certificate_id, rfc3339(self.expires),
                tuple(urls.authz(a) for a in self.authz_ids), urls.finalize(self.id),
                urls.order(self.id),
                urls.certificate(self.certificate_id) if self.certificate_id is not None
                else None)
        return made

    def url(self, urls: Urls) -> str:
        """The order's own URL (its ``Location``)."""
        return self._texts(urls).url

    def status_at(self, now: dt.datetime, authz: Callable[[str], Authorization]) -> Status:
        return derive_order_status(
            self.status, self.expires, (authz(a).status_at(now) for a in self.authz_ids), now
        )

    def to_json(
        self, urls: Urls, now: dt.datetime, authz: Callable[[str], Authorization]
    ) -> Dict[str, Any]:
        texts = self._texts(urls)
        doc: Dict[str, Any] = {
            "status": self.status_at(now, authz).value,
            "expires": texts.expires_text,
            "identifiers": [i.to_json() for i in self.identifiers],
            "authorizations": list(texts.authorizations),
            "finalize": texts.finalize,
        }
        if self.not_before is not None:
            doc["notBefore"] = rfc3339(self.not_before)
        if self.not_after is not None:
            doc["notAfter"] = rfc3339(self.not_after)
        if self.error is not None:
            doc["error"] = self.error.to_json()
        if texts.certificate is not None:
            doc["certificate"] = texts.certificate
        if self.profile is not None:
            doc["profile"] = self.profile
        if self.replaces is not None:
            doc["replaces"] = self.replaces
        return doc


@dataclass(eq=False)
class Certificate:
    id: str
    account_id: str
    order_id: str
    leaf: x509.Certificate
    chain_pem: bytes  # leaf first, then the intermediate(s)
    issued: dt.datetime
    revoked_at: Optional[dt.datetime] = None
    revocation_reason: Optional[int] = None
    #: A test's RenewalInfo answer for this certificate (an ``ari.RenewalWindow``).
    renewal_window: Optional[Any] = None
    kind = "certificate"

    @property
    def serial(self) -> int:
        return self.leaf.serial_number

    @property
    def identifiers(self) -> List[Identifier]:
        """What the certificate names (its SANs), read from the certificate itself:
        a revoked certificate outlives its order (``max_orders`` forgets finished
        orders, the CRL keeps listing the certificate), so its order may be gone."""
        try:
            san = self.leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        except x509.ExtensionNotFound:
            return []
        dns_names = san.value.get_values_for_type(x509.DNSName)
        ips = [str(ip) for ip in san.value.get_values_for_type(x509.IPAddress)]
        return identifiers_from_names(dns_names, ips)[0]
