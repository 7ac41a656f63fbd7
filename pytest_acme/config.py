"""Server configuration: one frozen object, passed explicitly.

Nothing in pytest-acme reads the environment except the command line
(:mod:`pytest_acme.cli`); everything else receives an :class:`AcmeConfig`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from .protocol.profiles import parse_profiles

FINALIZE_MODES = ("sync", "async")
VALIDATION_MODES = ("real", "always_valid")
KEY_TYPES = ("ecdsa", "rsa")
#: JWS algorithms accepted for account keys (RFC 8555 §6.2; RFC 7518).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")

DAY = 86400.0
HOUR = 3600.0
#: Challenge types the server can check, in the order offered (Pebble's set).
CHALLENGE_TYPES = ("http-01", "dns-01", "tls-alpn-01", "dns-account-01", "dns-persist-01")


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
    #: Connections served at once (one thread each); more are closed as soon as they
    #: are accepted.  512 leaves half of the common 1024 file descriptor limit to
    #: the rest of the process.
    max_connections: int = 512
    #: How many unused nonces are remembered; the oldest are forgotten first.
    nonce_pool_size: int = 10000
    #: Server-clock seconds a nonce stays usable (older ones get ``badNonce``);
    #: None: nonces never expire.
    nonce_lifetime: Optional[float] = 3600.0
    #: Entries kept in the event timeline and in the request log; the oldest are
    #: dropped first, and the logs count what they dropped.
    event_log_size: int = 10000
    request_log_size: int = 2000
    #: Orders kept: past this many, the oldest finished ones (valid, invalid or
    #: expired) are forgotten with their authorizations and unrevoked
    #: certificates, so a long-running ``serve`` stays within bounded memory.
    #: None: keep everything until :meth:`~pytest_acme.AcmeServer.reset`.
    max_orders: Optional[int] = 2000
    #: Extra ``meta`` members for the directory (``website``, ``caaIdentities``...).
    meta: Mapping[str, Any] = field(default_factory=dict)
    #: Certificate profiles (draft-ietf-acme-profiles) in ``meta.profiles``: None offers
    #: "classic" and "shortlived", ``{}`` none; see :mod:`pytest_acme.protocol.profiles`.
    profiles: Optional[Mapping[str, Any]] = None
    #: The profile of orders that name none; None: the first profile.
    default_profile: Optional[str] = None
    #: Intermediates between a leaf and its root (Pebble's ``PEBBLE_CHAIN_LENGTH``).
    chain_length: int = 1
    #: Extra roots, each with its own chain to the same issuing key, offered as
    #: ``Link: rel="alternate"`` chains (Pebble's ``PEBBLE_ALTERNATE_ROOTS``).
    alternate_roots: int = 0
    #: ``Retry-After`` seconds on renewalInfo (RFC 9773) answers (Boulder: 6 hours).
    renewal_info_retry_after: int = 6 * 3600
    #: Behave as Let's Encrypt's Boulder where it differs from RFC 8555: every part
    #: below that is left at None follows this switch (see :data:`BOULDER_PARTS`).
    boulder: bool = False
    #: Behave as Pebble where its users can see it and it differs from Let's
    #: Encrypt: what ``pytest-acme pebble`` (and ``serve`` with Pebble's flags or
    #: config) sets.  The in-process default keeps Let's Encrypt's behaviour.
    pebble: bool = False
    #: Offer pre-authorization (``newAuthz``, RFC 8555 §7.4.1).  None: yes, unless
    #: ``boulder`` (Boulder has no newAuthz).
    new_authz: Optional[bool] = None
    #: How often a newOrder reuses the account's *valid* authorization for an
    #: identifier instead of making a new one: ``"never"`` (0.0), ``"always"`` (1.0)
    #: or a rate drawn from the seeded generator.  None: never, unless ``boulder``.
    authz_reuse_valid: Union[None, float, str] = None
    #: The same for the account's *pending* authorizations.
    authz_reuse_pending: Union[None, float, str] = None
    #: Accept plain GET (not only POST-as-GET) for orders, authorizations,
    #: challenges and certificates.  None: no, unless ``boulder``.
    plain_get: Optional[bool] = None
    #: A newOrder for the same identifiers as one of the account's pending or ready
    #: orders returns that order.  None: no, unless ``boulder``.
    reuse_identical_orders: Optional[bool] = None
    #: Put the ``orders`` URL in account objects.  None: yes, unless ``boulder``.
    account_orders_field: Optional[bool] = None
    #: Honour ``notBefore``/``notAfter`` in newOrder (False refuses them with
    #: ``malformed``).  None: yes, unless ``boulder``.
    order_validity_fields: Optional[bool] = None
    #: Refuse newAccount without an external account binding (RFC 8555 §7.3.4).
    eab_required: bool = False
    #: External account key ids and their MAC keys (base64url, RFC 8555 §7.3.4).
    eab_keys: Mapping[str, str] = field(default_factory=dict)
    #: Challenge types offered, in this order, where they can prove the identifier
    #: (wildcards: the DNS ones; IP addresses: http-01 and tls-alpn-01).
    challenge_types: Tuple[str, ...] = CHALLENGE_TYPES
    #: Check CAA records (RFC 8659, RFC 8657) after a successful challenge and at
    #: finalization (with ``validation="real"``).
    caa: bool = True
    #: The issuer domain names that mean this CA in CAA records and dns-persist-01
    #: records; advertised as ``meta.caaIdentities``.
    caa_identities: Tuple[str, ...] = ("pytest-acme.test",)
    #: Finalization checks CAA again for authorizations validated longer ago than
    #: this many seconds (Let's Encrypt: 7 hours); 0 rechecks every time.
    caa_recheck_after: float = 7 * HOUR

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
            _check_dns_server(host.strip("[]"), networks)
        if (self.tls_certificate is None) != (self.tls_private_key is None):
            raise ValueError("tls_certificate and tls_private_key go together")
        if self.max_orders is not None and self.max_orders < 1:
            raise ValueError(f"max_orders must be at least 1 or None, got {self.max_orders}")
        for name in ("event_log_size", "request_log_size", "max_connections"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.nonce_lifetime is not None and not self.nonce_lifetime > 0:
            raise ValueError(f"nonce_lifetime must be > 0 seconds or None, got "
                             f"{self.nonce_lifetime!r}")
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
        profiles = parse_profiles(self.profiles)
        object.__setattr__(self, "profiles", profiles)
        if self.default_profile is not None and self.default_profile not in profiles:
            raise ValueError(f"default_profile {self.default_profile!r} is not one of the "
                             f"profiles ({', '.join(profiles) or 'none'})")
        if not 1 <= self.chain_length <= 10:
            raise ValueError(f"chain_length must be 1..10 intermediates, got {self.chain_length}")
        if not 0 <= self.alternate_roots <= 10:
            raise ValueError(f"alternate_roots must be 0..10, got {self.alternate_roots}")
        if self.renewal_info_retry_after < 0:
            raise ValueError("renewal_info_retry_after must be >= 0")
        for name in ("authz_reuse_valid", "authz_reuse_pending"):
            object.__setattr__(self, name, _rate(name, getattr(self, name)))
        keys = dict(self.eab_keys)
        for kid, key in keys.items():
            if not isinstance(kid, str) or not kid or not isinstance(key, str):
                raise ValueError(f"eab_keys maps key ids to base64url MAC keys; got {kid!r}")
            if not _B64_KEY.match(key) or len(key.rstrip("=")) % 4 == 1 or not key.rstrip("="):
                raise ValueError(f"eab_keys[{kid!r}] is not a base64url MAC key: {key[:40]!r}")
        object.__setattr__(self, "eab_keys", keys)
        types = tuple(self.challenge_types)
        unknown = [t for t in types if t not in CHALLENGE_TYPES]
        if unknown or not types or len(set(types)) != len(types):
            raise ValueError(
                f"challenge_types must be distinct names from {', '.join(CHALLENGE_TYPES)}; "
                f"got {', '.join(map(repr, types)) or 'nothing'}")
        object.__setattr__(self, "challenge_types", types)
        if isinstance(self.caa_identities, str) or not self.caa_identities or not all(
                isinstance(i, str) and i and i == i.strip() for i in self.caa_identities):
            raise ValueError("caa_identities must be a non-empty list of domain names, "
                             f"got {self.caa_identities!r}")
        object.__setattr__(self, "caa_identities", tuple(i.lower() for i in self.caa_identities))
        if self.caa_recheck_after < 0:
            raise ValueError(f"caa_recheck_after must be >= 0 seconds, got {self.caa_recheck_after}")

    @property
    def profile_default(self) -> Optional[str]:
        """The profile an order that names none gets (None when none is offered)."""
        return self.default_profile or next(iter(self.profiles or {}), None)

    def effective(self, name: str) -> Any:
        """The value of a Boulder-dependent setting: its own, or the mode's default."""
        value = getattr(self, name)
        if value is not None:
            return value
        return BOULDER_PARTS[name] if self.boulder else RFC_DEFAULTS[name]

    def replace(self, **changes: Any) -> "AcmeConfig":
        """A copy with ``changes`` applied; unknown names raise ``TypeError``."""
        check_names(changes)
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_kwargs(cls, base: Optional["AcmeConfig"] = None, **kwargs: Any) -> "AcmeConfig":
        return (base or cls()).replace(**kwargs)


#: What ``boulder=True`` sets, for every part left at None.
BOULDER_PARTS: Dict[str, Any] = {
    "new_authz": False,
    "authz_reuse_valid": 1.0,
    "authz_reuse_pending": 1.0,
    "plain_get": True,
    "reuse_identical_orders": True,
    "account_orders_field": False,
    "order_validity_fields": False,
}
#: The same parts without ``boulder``: RFC 8555 as written, no reuse.
RFC_DEFAULTS: Dict[str, Any] = {
    "new_authz": True,
    "authz_reuse_valid": 0.0,
    "authz_reuse_pending": 0.0,
    "plain_get": False,
    "reuse_identical_orders": False,
    "account_orders_field": True,
    "order_validity_fields": True,
}
_B64_KEY = re.compile(r"^[A-Za-z0-9+/_-]+=*$")


def _rate(name: str, value: Any) -> Optional[float]:
    """``"never"``, ``"always"`` or a probability, as a float (None stays None)."""
    if value is None:
        return None
    words = {"never": 0.0, "always": 1.0}
    if isinstance(value, str) and value in words:
        return words[value]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be 'never', 'always' or a rate from 0 to 1; "
                         f"got {value!r}")
    return float(value)


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(AcmeConfig))


def check_names(changes: Mapping[str, Any]) -> None:
    unknown = sorted(set(changes) - set(FIELD_NAMES))
    if unknown:
        raise TypeError(
            f"unknown pytest-acme setting(s) {', '.join(unknown)}; "
            f"known: {', '.join(FIELD_NAMES)}"
        )


def _check_dns_server(host: str, allowed: "list[str]") -> None:
    """The validator's DNS server is an address it may reach: loopback, or in
    ``validation_allow`` (a host name would need the system's resolver, which
    could send queries anywhere)."""
    try:
        ip = ipaddress.ip_address("127.0.0.1" if host == "localhost" else host)
    except ValueError:
        raise ValueError(f"dns_server must be an IP address and port like '127.0.0.1:8053', "
                         f"not the host name {host!r}") from None
    if not ip.is_loopback and not any(ip in ipaddress.ip_network(n) for n in allowed):
        raise ValueError(f"dns_server {host} is not a loopback address; the validator only "
                         f"reaches loopback unless validation_allow includes it "
                         f"(e.g. validation_allow=['{ip}/{ip.max_prefixlen}'])")


def _choice(name: str, value: Any, allowed: Tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


def as_dict(config: AcmeConfig) -> Dict[str, Any]:
    return dataclasses.asdict(config)
