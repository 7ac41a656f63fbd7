"""What every challenge check gets, and what it must return."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Protocol, Sequence, Tuple

from ..protocol.identifiers import Identifier
from ..protocol.problems import Problem
from .resolver import Resolver


@dataclass(frozen=True)
class ValidationRequest:
    """One challenge to check.

    Attributes:
        challenge_type: ``"http-01"``, ``"dns-01"``, ``"tls-alpn-01"``,
            ``"dns-account-01"`` or ``"dns-persist-01"``.
        identifier: the authorization's identifier (the base name for wildcards).
        token: the challenge token.
        key_authorization: ``token + "." + base64url(JWK thumbprint)`` (RFC 8555 §8.1).
        account_url: the URL of the account whose challenge it is (dns-account-01
            derives its record name from it; dns-persist-01 records name it).
        wildcard: the authorization is for ``*.<identifier>``.
        issuer_domain_names: the names a dns-persist-01 record may name this CA by.
        now: the server-clock instant of the check (dns-persist-01's ``persistUntil``).
        records: filled by the check: the challenge's ``validationRecord`` entries.
    """

    challenge_type: str
    identifier: Identifier
    token: str
    key_authorization: str
    records: List[Dict[str, Any]] = field(default_factory=list, compare=False)
    account_url: str = ""
    wildcard: bool = False
    issuer_domain_names: Tuple[str, ...] = ()
    now: Optional[dt.datetime] = None


class Validator(Protocol):
    def validate(self, request: ValidationRequest) -> Optional[Problem]:
        """None if the challenge was met, else the problem to record."""


@dataclass(frozen=True)
class Network:
    """How the checks reach the client: resolver, ports, timeout, guard."""

    resolver: Resolver
    http01_port: int
    tlsalpn01_port: int
    timeout: float
    allowed: Sequence[str] = ()
