"""Server configuration: one frozen object, passed explicitly.

Nothing in pytest-acme reads the environment except the command line
(:mod:`pytest_acme.cli`); everything else receives an :class:`AcmeConfig`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

FINALIZE_MODES = ("sync", "async")
VALIDATION_MODES = ("real", "always_valid")
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
    #: PEM files of the HTTPS certificate (chain) and key to serve instead of a
    #: trustme one (Pebble's ``certificate`` / ``privateKey``).
    tls_certificate: Optional[str] = None
    tls_private_key: Optional[str] = None
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
    #: ``"real"``: challenges are checked against the client's responders (RFC 8555 §8,
    #: RFC 8737); ``"always_valid"``: every challenge the client answers passes.
    validation: str = "real"
    #: Port the validator connects to for http-01 (Pebble's default).
    http01_port: int = 5002
    #: Port the validator connects to for tls-alpn-01 (Pebble's default).
    tlsalpn01_port: int = 5001
    #: Seconds each validation connection (and DNS query) may take.
    validation_timeout: float = 5.0
    #: Server-clock seconds a challenge stays ``processing`` before it is checked.
    validation_delay: float = 0.0
    #: Networks (CIDR) the validator may connect to besides loopback.
    validation_allow: Tuple[str, ...] = ()
    #: ``host:port`` of a DNS server the validator asks instead of the in-process zone.
    dns_server: Optional[str] = None
    #: Port of the in-process DNS server (UDP and TCP) serving the zone; 0 picks a
    #: free one; None serves no DNS.
    dns_port: Optional[int] = 0
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
    #: Seconds a kept-alive connection may wait for, and take to send, its next whole
    #: request before it is closed (idle clients, slowloris).
    idle_timeout: float = 30.0
    #: Seconds a TLS handshake may take.
    handshake_timeout: float = 10.0
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
        for name in ("http01_port", "tlsalpn01_port"):
            if not 1 <= getattr(self, name) <= 65535:
                raise ValueError(f"{name} must be 1..65535, got {getattr(self, name)}")
        if self.dns_port is not None and not 0 <= self.dns_port <= 65535:
            raise ValueError(f"dns_port must be 0..65535 or None, got {self.dns_port}")
        if self.validation_timeout <= 0 or self.validation_delay < 0:
            raise ValueError("validation_timeout must be > 0 and validation_delay >= 0")
        networks = []
        for net in self.validation_allow:
            try:
                networks.append(str(ipaddress.ip_network(net, strict=False)))
            except ValueError:
                raise ValueError(f"validation_allow: {net!r} is not a network like "
                                 "'192.0.2.0/24' or an address") from None
        object.__setattr__(self, "validation_allow", tuple(networks))
        if self.dns_server is not None:
            host, sep, port = self.dns_server.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"dns_server must be 'host:port', got {self.dns_server!r}")
        if (self.tls_certificate is None) != (self.tls_private_key is None):
            raise ValueError("tls_certificate and tls_private_key go together")
        for name in ("idle_timeout", "handshake_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
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
