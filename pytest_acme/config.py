"""Server configuration: one frozen object, passed explicitly.

Nothing in pytest-acme reads the environment except the command line
(:mod:`pytest_acme.cli`); everything else receives an :class:`AcmeConfig`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

FINALIZE_MODES = ("sync", "async")
VALIDATION_MODES = ("always_valid",)
KEY_TYPES = ("ecdsa", "rsa")
#: JWS algorithms accepted for account keys (RFC 8555 §6.2; RFC 7518).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")

DAY = 86400.0


@dataclass(frozen=True)
class AcmeConfig:
    """Everything an :class:`~pytest_acme.AcmeServer` can be told.

    Every field is also a keyword argument of ``AcmeServer`` and of the
    ``@pytest.mark.acme(...)`` marker, e.g. ``AcmeServer(order_expiry=60)``.
    Durations are in seconds.
    """

    #: Address to listen on.  Loopback by default.
    host: str = "127.0.0.1"
    #: Port to listen on; 0 picks a free one.
    port: int = 0
    #: Serve HTTPS (with a certificate from a private trustme CA) or plain HTTP.
    tls: bool = True
    #: Seconds from creation until an order expires (seed 003: ``order_expiry_secs``).
    order_expiry: float = DAY
    #: Seconds from creation until an authorization expires.
    authorization_lifetime: float = 7 * DAY
    #: Lifetime of issued certificates, in seconds.
    certificate_validity: float = 90 * DAY
    #: Key type of the issuing root and intermediate: ``"ecdsa"`` (P-256) or ``"rsa"`` (2048).
    ca_key_type: str = "ecdsa"
    #: ``"sync"``: finalize answers ``valid`` with the certificate; ``"async"``:
    #: it answers ``processing`` with ``Retry-After`` and issues in the background.
    finalize: str = "sync"
    #: ``"always_valid"``: every challenge the client answers passes.
    validation: str = "always_valid"
    #: Terms-of-service URL for the directory's ``meta``; None serves the server's own
    #: ``/terms`` page; "" advertises none.
    terms_of_service: Optional[str] = None
    #: Refuse newAccount without ``termsOfServiceAgreed: true`` (``userActionRequired``).
    require_terms_agreement: bool = False
    #: Orders per page of an account's ``orders`` list (Pebble's default is 3).
    orders_per_page: int = 3
    #: ``Retry-After`` seconds on pending and processing objects.
    retry_after: int = 1
    #: Seed for every random choice (ids, tokens, seeded faults); None picks one.
    seed: Optional[int] = None
    #: Accepted JWS algorithms.
    algorithms: Tuple[str, ...] = ALGORITHMS
    #: Largest request body accepted, in bytes.
    max_body_bytes: int = 64 * 1024
    #: How many unused nonces are remembered; the oldest are forgotten first.
    nonce_pool_size: int = 10000
    #: Extra ``meta`` members for the directory (``website``, ``caaIdentities``...).
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _choice("finalize", self.finalize, FINALIZE_MODES)
        _choice("validation", self.validation, VALIDATION_MODES)
        _choice("ca_key_type", self.ca_key_type, KEY_TYPES)
        for name in ("order_expiry", "authorization_lifetime", "certificate_validity"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, got {self.port}")
        if self.orders_per_page < 1:
            raise ValueError(f"orders_per_page must be at least 1, got {self.orders_per_page}")
        if self.retry_after < 0:
            raise ValueError(f"retry_after must be >= 0, got {self.retry_after}")
        unknown = set(self.algorithms) - set(ALGORITHMS)
        if unknown or not self.algorithms:
            raise ValueError(
                f"algorithms must be a non-empty subset of {', '.join(ALGORITHMS)}; "
                f"got {', '.join(sorted(unknown)) or 'nothing'}"
            )
        object.__setattr__(self, "algorithms", tuple(self.algorithms))
        object.__setattr__(self, "meta", dict(self.meta))

    def replace(self, **changes: Any) -> "AcmeConfig":
        """A copy with ``changes`` applied; unknown names raise ``TypeError``."""
        check_names(changes)
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_kwargs(cls, base: Optional["AcmeConfig"] = None, **kwargs: Any) -> "AcmeConfig":
        return (base or cls()).replace(**kwargs)


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(AcmeConfig))


def check_names(changes: Mapping[str, Any]) -> None:
    unknown = sorted(set(changes) - set(FIELD_NAMES))
    if unknown:
        raise TypeError(
            f"unknown pytest-acme setting(s) {', '.join(unknown)}; "
            f"known: {', '.join(FIELD_NAMES)}"
        )


def _choice(name: str, value: Any, allowed: Tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


def as_dict(config: AcmeConfig) -> Dict[str, Any]:
    return dataclasses.asdict(config)
