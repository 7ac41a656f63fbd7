"""CAA (RFC 8659) with the RFC 8657 ``accounturi`` and ``validationmethods`` parameters.

A domain's CAA records say which CAs may issue for it.  Like Let's Encrypt,
the server checks them once a challenge has succeeded, before the
authorization becomes valid, and checks again at finalization when that
authorization was validated longer ago than ``caa_recheck_after`` (Boulder:
7 hours, inside the Baseline Requirements' 8).

The check, for a DNS identifier (IP identifiers have no CAA):

1. Find the *relevant RRset* (RFC 8659 §3): the CAA records of the name
   itself, else of its parent, and so on up to the top-level label.  Each
   lookup follows CNAMEs the way a resolver does; the target's parents are
   not climbed (RFC 8659 dropped RFC 6844's rule).
2. A critical record (flag 128) with a tag this server does not know forbids
   issuance (§4.1).
3. For a wildcard, ``issuewild`` records are used if there are any; otherwise
   (and for other names) ``issue`` records.  No such record: issuance is allowed.
4. Some record must name one of the server's ``caaIdentities``, and its
   parameters must fit: ``accounturi`` equal to the account URL (RFC 8657 §3),
   ``validationmethods`` listing the challenge type used (RFC 8657 §4).
   A value that does not parse authorizes no one.

Values are read as Let's Encrypt reads them (Boulder's ``va/caa.go``): the
issuer domain name and the parameter tags are compared exactly, case included
(``LetsEncrypt.org`` is not ``letsencrypt.org`` there, and ``AccountURI=`` is
an unknown parameter, so ignored); a tag is letters and digits only; every
entry of ``validationmethods`` must be letters, digits and hyphens, or the
record authorizes no one.

The failure is a ``caa`` problem naming the record and where it was found; a
failed lookup is a ``dns`` problem, as Let's Encrypt reports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from ..protocol import problems
from ..protocol.identifiers import DNS, Identifier
from .resolver import Resolver
from .zone import CaaRecord

#: Property tags whose meaning the server knows (RFC 8659 §4.2-4.4).
KNOWN_TAGS = frozenset({"issue", "issuewild", "iodef"})

#: The issuer critical flag (RFC 8659 §4.1).
CRITICAL = 128

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_ISSUER = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
#: A parameter tag as Boulder accepts it: RFC 8659 §4.2 allows inner hyphens, Boulder does not.
_TAG = re.compile(r"^[A-Za-z0-9]+$")
#: One entry of ``validationmethods`` (RFC 8657 §4: ``1*(ALPHA / DIGIT / "-")``).
_METHOD = re.compile(r"^[A-Za-z0-9-]+$")
#: An issue-value parameter's value: printable ASCII but ';' (RFC 8659 §4.2).
PARAMETER_VALUE = re.compile(r"^[\x21-\x3a\x3c-\x7e]*$")


class CaaSyntaxError(ValueError):
    """An ``issue`` / ``issuewild`` value that is not RFC 8659 §4.2 syntax."""


@dataclass(frozen=True)
class IssueValue:
    """A parsed ``issue`` value: ``"ca.example; accounturi=https://...; validationmethods=dns-01"``.

    Attributes:
        issuer: the issuer domain name as written; "" means "no CA" (``";"``).
        parameters: tag (as written) -> value.
    """

    issuer: str
    parameters: Dict[str, str]


def parse_issue_value(text: str) -> IssueValue:
    """Parse an ``issue`` or ``issuewild`` property value (RFC 8659 §4.2).

    Raises:
        CaaSyntaxError: the value does not follow the grammar.
    """
    issuer, sep, rest = text.partition(";")
    issuer = issuer.strip(" \t")
    if issuer and not _ISSUER.match(issuer):
        raise CaaSyntaxError(f"{issuer!r} is not an issuer domain name")
    parameters: Dict[str, str] = {}
    if sep and rest.strip(" \t"):
        for part in rest.split(";"):
            tag, eq, value = part.partition("=")
            tag, value = tag.strip(" \t"), value.strip(" \t")
            if not eq or not _TAG.match(tag) or not PARAMETER_VALUE.match(value):
                raise CaaSyntaxError(f"{part.strip()!r} is not a tag=value parameter")
            parameters[tag] = value
    return IssueValue(issuer, parameters)


@dataclass(frozen=True)
class RelevantSet:
    """The records that decide (RFC 8659 §3), and where they were found.

    Attributes:
        name: the name in the climb whose lookup returned records.
        owner: the name they belong to (differs from ``name`` after a CNAME).
        records: the CAA records; empty when no name up to the top had any.
    """

    name: str
    owner: str
    records: Tuple[CaaRecord, ...]

    def where(self) -> str:
        return self.name if self.owner == self.name else f"{self.name} (alias of {self.owner})"


def relevant_set(resolver: Resolver, name: str) -> RelevantSet:
    """Climb from ``name`` towards the root until a name has CAA records.

    Raises:
        problems.DNS: a lookup failed (SERVFAIL, timeout, CNAME loop).
    """
    labels = name.split(".")
    for i in range(len(labels)):
        candidate = ".".join(labels[i:])
        owner, records = resolver.caa(candidate)
        if records:
            return RelevantSet(candidate, owner, tuple(records))
    return RelevantSet(name, name, ())


@dataclass(frozen=True)
class CaaPolicy:
    """What the server is: its CAA identities.

    Args:
        identities: issuer domain names that mean this server (``caaIdentities``).
        resolver: where CAA records are looked up.
    """

    identities: Sequence[str]
    resolver: Resolver

    def check(self, identifier: Identifier, account_url: str, method: str) -> Optional[problems.Problem]:
        """None if CAA lets this server issue for ``identifier``, else the problem.

        Args:
            identifier: the order's identifier (``*.example.com`` for a wildcard).
            account_url: the URL of the account asking (RFC 8657 ``accounturi``).
            method: the challenge type that validated it (``validationmethods``).
        """
        if identifier.type != DNS:
            return None  # RFC 8659 defines CAA for domain names only.
        name = identifier.base
        try:
            found = relevant_set(self.resolver, name)
        except problems.DNS as p:
            return problems.DNS(f"While processing CAA for {identifier.value}: {p.detail}")
        return self._decide(identifier, found, account_url, method)

    def _decide(self, identifier: Identifier, found: RelevantSet, account_url: str,
                method: str) -> Optional[problems.Problem]:
        # Let's Encrypt's wording: the identifier, then the name the records are at.
        refusal = (f"While processing CAA for {identifier.value}: CAA record for "
                   f"{found.where()} prevents issuance: ")
        for record in found.records:
            if record.flags & CRITICAL and record.tag not in KNOWN_TAGS:
                return problems.CAA(
                    f"{refusal}{_show(record)} is critical and its tag {record.tag!r} is "
                    "unknown to this CA (RFC 8659 §4.1)")
        tag = "issue"
        if identifier.wildcard and any(r.tag == "issuewild" for r in found.records):
            tag = "issuewild"
        candidates = [r for r in found.records if r.tag == tag]
        if not candidates:
            return None  # no issue/issuewild property: any CA may issue
        reasons: List[str] = []
        for record in candidates:
            why = self._refusal(record, account_url, method)
            if why is None:
                return None
            reasons.append(f"{_show(record)}: {why}")
        return problems.CAA(
            refusal + "; ".join(reasons)
            + f" (this CA is {', '.join(self.identities)}; account {account_url}; "
            f"validated by {method})")

    def _refusal(self, record: CaaRecord, account_url: str, method: str) -> Optional[str]:
        """Why ``record`` does not authorize this issuance; None if it does."""
        try:
            value = parse_issue_value(record.value)
        except CaaSyntaxError as e:
            return f"malformed value ({e})"
        if not value.issuer:
            return "names no CA"
        if value.issuer not in self.identities:
            if value.issuer.lower() in {i.lower() for i in self.identities}:
                return (f"names {value.issuer}, which differs from this CA's name only in "
                        "case; Let's Encrypt compares issuer domain names exactly")
            return f"names another CA, {value.issuer}"
        uri = value.parameters.get("accounturi")
        if uri is not None and uri != account_url:
            return f"accounturi is {uri}, not this account"
        methods = value.parameters.get("validationmethods")
        if methods is not None:
            listed = methods.split(",")
            if not all(_METHOD.match(m) for m in listed):
                return (f"validationmethods {methods} is malformed (comma-separated "
                        "method names, nothing else)")
            if method not in listed:
                return f"validationmethods {methods} does not include {method}"
        return None


def _show(record: CaaRecord) -> str:
    return f'{record.flags} {record.tag} "{record.value}"'
