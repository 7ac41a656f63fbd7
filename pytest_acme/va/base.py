"""What every challenge check gets, and what it must return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Protocol, Sequence

from ..protocol.identifiers import Identifier
from ..protocol.problems import Problem
from .resolver import Resolver


@dataclass(frozen=True)
class ValidationRequest:
    """One challenge to check.

    Attributes:
        challenge_type: ``"http-01"``, ``"dns-01"`` or ``"tls-alpn-01"``.
        identifier: the authorization's identifier (the base name for wildcards).
        token: the challenge token.
        key_authorization: ``token + "." + base64url(JWK thumbprint)`` (RFC 8555 §8.1).
        records: filled by the check: the challenge's ``validationRecord`` entries.
    """

    challenge_type: str
    identifier: Identifier
    token: str
    key_authorization: str
    records: List[Dict[str, Any]] = field(default_factory=list, compare=False)


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
