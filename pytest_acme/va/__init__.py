"""The validation authority: decides whether a challenge response is right.

A :class:`Validator` gets everything a check needs and returns ``None``
(valid) or the problem that explains the failure.  It runs on a worker thread,
never holding the store lock, so it may do network I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol

from ..protocol.identifiers import Identifier
from ..protocol.problems import Problem


@dataclass(frozen=True)
class ValidationRequest:
    """One challenge to check.

    Attributes:
        challenge_type: ``"http-01"``, ``"dns-01"`` or ``"tls-alpn-01"``.
        identifier: the authorization's identifier (the base name for wildcards).
        token: the challenge token.
        key_authorization: ``token + "." + base64url(JWK thumbprint)`` (RFC 8555 §8.1).
    """

    challenge_type: str
    identifier: Identifier
    token: str
    key_authorization: str


class Validator(Protocol):
    def validate(self, request: ValidationRequest) -> Optional[Problem]:
        """None if the challenge was met, else the problem to record."""


class AlwaysValid:
    """Every challenge passes (``validation="always_valid"``), like Pebble's
    ``PEBBLE_VA_ALWAYS_VALID=1``: for testing everything but challenge solving."""

    def validate(self, request: ValidationRequest) -> Optional[Problem]:
        return None


def make_validator(mode: str) -> Validator:
    if mode == "always_valid":
        return AlwaysValid()
    raise ValueError(f"unknown validation mode {mode!r}")
