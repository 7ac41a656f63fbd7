"""RFC 8555 §6.7 problem documents, one class per error type.

Handlers *raise* these; exactly one place (:mod:`pytest_acme.web.app`) renders
them as ``application/problem+json``, with a fresh ``Replay-Nonce`` on the answer to
a POST (RFC 8555 §6.5).

Example::

    raise BadCSR("the CSR names extra.example, which the order does not")
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List, Mapping, Optional, Sequence, Tuple, Type

URN_PREFIX = "urn:ietf:params:acme:error:"


class Problem(Exception):
    """An ACME error.  ``type`` and ``status`` are class attributes.

    Args:
        detail: what went wrong, written for a person who has to fix it.
        subproblems: RFC 8555 §6.7.1 per-identifier problems.
        headers: extra response headers (``Retry-After``, ``Location``, ...).
        extra: extra JSON members (``algorithms`` for badSignatureAlgorithm).
        pebble: Pebble's short type and detail for the same refusal, where its users
            are known to read them; rendered instead of ``type`` and ``detail`` when
            ``AcmeConfig.problem_details`` is ``"pebble"`` (see :meth:`as_pebble`).
    """

    type: ClassVar[str] = "serverInternal"
    status: ClassVar[int] = 500

    def __init__(
        self,
        detail: str,
        *,
        identifier: Optional[Mapping[str, str]] = None,
        subproblems: Sequence["Problem"] = (),
        headers: Optional[Mapping[str, str]] = None,
        extra: Optional[Mapping[str, Any]] = None,
        status: Optional[int] = None,
        pebble: Optional[Tuple[str, str]] = None,
    ) -> None:
        super().__init__(detail)
        self.pebble = pebble
        self.detail = detail
        self.identifier = dict(identifier) if identifier else None
        self.subproblems: List[Problem] = list(subproblems)
        self.headers: Dict[str, str] = dict(headers or {})
        self.extra: Dict[str, Any] = dict(extra or {})
        if status is not None:
            self.status = status  # type: ignore[misc]

    @property
    def urn(self) -> str:
        """The full type: ``urn:ietf:params:acme:error:`` and :attr:`type`."""
        return URN_PREFIX + self.type

    def to_json(self) -> Dict[str, Any]:
        """The problem document (RFC 7807; RFC 8555 §6.7) a client receives."""
        doc: Dict[str, Any] = {"type": self.urn, "detail": self.detail, "status": self.status}
        if self.identifier:
            doc["identifier"] = self.identifier
        if self.subproblems:
            doc["subproblems"] = [p.to_json() for p in self.subproblems]
        doc.update(self.extra)
        return doc

    def as_pebble(self) -> "Problem":
        """This refusal as Pebble words it: its type (and that type's HTTP status) and
        its detail, keeping headers and extra members; ``self`` when no Pebble
        wording was given.

        Example::

            BadNonce("nonce 'x' is unknown", pebble=("badNonce",
                     "JWS has an invalid anti-replay nonce: x")).as_pebble().detail
        """
        if self.pebble is None:
            return self
        type_, detail = self.pebble
        # ``instance`` belongs to userActionRequired, which Pebble does not send.
        extra = {k: v for k, v in self.extra.items() if k != "instance"}
        return from_type(type_, detail, identifier=self.identifier, headers=self.headers,
                         extra=extra)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.detail!r})"


def _problem(name: str, type_: str, status: int, doc: str) -> Type[Problem]:
    cls = type(name, (Problem,), {"type": type_, "status": status, "__doc__": doc})
    return cls


# The table of RFC 8555 §6.7 (plus the IETF drafts' additions), with the HTTP
# status Boulder and Pebble use for each.
AccountDoesNotExist = _problem("AccountDoesNotExist", "accountDoesNotExist", 400,
                               "The request specified an account that does not exist.")
AgreementRequired = _problem("AgreementRequired", "agreementRequired", 403,
                              "The client must agree to the terms of service (Pebble's "
                              "type, from the ACME drafts; RFC 8555 uses userActionRequired).")
AlreadyReplaced = _problem("AlreadyReplaced", "alreadyReplaced", 409,
                           "The certificate named in ``replaces`` was already replaced.")
AlreadyRevoked = _problem("AlreadyRevoked", "alreadyRevoked", 400,
                          "The certificate was already revoked.")
BadCSR = _problem("BadCSR", "badCSR", 400, "The CSR is unacceptable.")
BadNonce = _problem("BadNonce", "badNonce", 400, "The JWS carried an unacceptable nonce.")
BadPublicKey = _problem("BadPublicKey", "badPublicKey", 400,
                        "The JWS was signed by a key the server does not support.")
BadRevocationReason = _problem("BadRevocationReason", "badRevocationReason", 400,
                               "The revocation reason is not allowed.")
BadSignatureAlgorithm = _problem("BadSignatureAlgorithm", "badSignatureAlgorithm", 400,
                                 "The JWS was signed with an algorithm the server does not support.")
CAA = _problem("CAA", "caa", 403, "CAA records forbid the CA from issuing.")
Compound = _problem("Compound", "compound", 400, "Several errors; see subproblems.")
Connection = _problem("Connection", "connection", 400,
                      "The server could not connect to the validation target.")
DNS = _problem("DNS", "dns", 400, "There was a problem with a DNS query during validation.")
ExternalAccountRequired = _problem("ExternalAccountRequired", "externalAccountRequired", 400,
                                   "The server requires external account binding.")
IncorrectResponse = _problem("IncorrectResponse", "incorrectResponse", 400,
                             "The response received did not match the challenge.")
InvalidContact = _problem("InvalidContact", "invalidContact", 400,
                          "A contact URL for an account was invalid.")
InvalidProfile = _problem("InvalidProfile", "invalidProfile", 400,
                          "The requested profile is not offered by this server.")
Malformed = _problem("Malformed", "malformed", 400, "The request message was malformed.")
OrderNotReady = _problem("OrderNotReady", "orderNotReady", 403,
                         "The order is not in a state that allows finalization.")
RateLimited = _problem("RateLimited", "rateLimited", 429, "The request exceeds a rate limit.")
RejectedIdentifier = _problem("RejectedIdentifier", "rejectedIdentifier", 400,
                              "The server will not issue certificates for the identifier.")
ServerInternal = _problem("ServerInternal", "serverInternal", 500,
                          "The server experienced an internal error.")
TLS = _problem("TLS", "tls", 400, "The server saw a TLS error during validation.")
Unauthorized = _problem("Unauthorized", "unauthorized", 403,
                        "The client lacks sufficient authorization.")
UnsupportedContact = _problem("UnsupportedContact", "unsupportedContact", 400,
                              "A contact URL for an account used an unsupported protocol scheme.")
UnsupportedIdentifier = _problem("UnsupportedIdentifier", "unsupportedIdentifier", 400,
                                 "The identifier is of an unsupported type.")
UserActionRequired = _problem("UserActionRequired", "userActionRequired", 403,
                              "Visit the ``instance`` URL and take the actions specified there.")

#: Every problem class by its short type name (``"badNonce"`` -> :class:`BadNonce`).
BY_TYPE: Dict[str, Type[Problem]] = {
    cls.type: cls for cls in Problem.__subclasses__()
}


def from_type(type_: str, detail: str, **kwargs: Any) -> Problem:
    """Build a problem from its short (``"dns"``) or full URN type name."""
    short = type_[len(URN_PREFIX):] if type_.startswith(URN_PREFIX) else type_
    try:
        cls = BY_TYPE[short]
    except KeyError:
        raise ValueError(
            f"unknown ACME problem type {type_!r}; known: {', '.join(sorted(BY_TYPE))}"
        ) from None
    return cls(detail, **kwargs)
