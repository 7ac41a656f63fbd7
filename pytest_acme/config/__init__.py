"""Server configuration: the settings, one frozen object passed explicitly.

Nothing in pytest-acme reads the environment except the command line
(:mod:`pytest_acme.cli`); everything else receives an :class:`AcmeConfig`.
This module holds the settings (:class:`AcmeConfig`, its field names, which of
them need a new server); :mod:`.values` checks single values, :mod:`.modes`
holds what ``boulder`` and ``pebble`` switch, :mod:`.tsig` parses TSIG keys.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple, Union, cast

from ..protocol.profiles import parse_profiles
from ..protocol.resources import CHALLENGE_TYPES, DEFAULT_CHALLENGE_TYPES
from .modes import BOULDER_PARTS, PART_CHOICES, PEBBLE_PARTS, PEBBLE_TERMS, RFC_DEFAULTS
from .tsig import TSIG_ALGORITHMS, TsigKey, parse_tsig_key, parse_tsig_spec, tsig_keys_of
from .values import OCSP_URL, as_instant, as_rate, check_choice, check_dns_server, is_mac_key

__all__ = [
    "ALGORITHMS", "BOULDER_PARTS", "FIELD_NAMES", "FINALIZE_MODES", "KEY_TYPES", "PEBBLE_PARTS",
    "PEBBLE_TERMS", "RESTART_SETTINGS", "RFC_DEFAULTS", "TSIG_ALGORITHMS", "VALIDATION_MODES",
    "AcmeConfig", "TsigKey", "as_dict", "check_names", "parse_tsig_key", "parse_tsig_spec",
    "tsig_keys_of",
]

FINALIZE_MODES = ("sync", "async")
VALIDATION_MODES = ("real", "always_valid")
KEY_TYPES = ("ecdsa", "rsa")
#: JWS algorithms accepted for account keys (RFC 8555 §6.2; RFC 7518).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")

DAY = 86400.0
HOUR = 3600.0


@dataclass(frozen=True)
class AcmeConfig:
    """Everything an :class:`~pytest_acme.AcmeServer` can be told.

    Every field is also a keyword argument of ``AcmeServer`` and of the
    ``@pytest.mark.acme(...)`` marker, e.g. ``AcmeServer(order_expiry=60)``.
    Durations are in seconds.  The settings in :data:`RESTART_SETTINGS` take
    effect only in a new server.
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
    #: The PEM key of ``tls_certificate`` (the two go together).
    tls_private_key: Optional[str] = None
    #: Seconds from creation until an order expires (seed 003: ``order_expiry_secs``).
    order_expiry: float = DAY
    #: Seconds from creation until an authorization expires.
    authorization_lifetime: float = 7 * DAY
    #: Lifetime of issued certificates, in seconds.
    certificate_validity: float = 90 * DAY
    #: Key type of the issuing root and intermediate: ``"ecdsa"`` (P-256) or ``"rsa"``
    #: (2048).  None: ``"ecdsa"``, unless ``pebble`` (Pebble's issuers are RSA).
    ca_key_type: Optional[str] = None
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
    #: Seconds a read of an authorization, challenge or order may wait for the
    #: validation its client started to end, so that a client that polls finds
    #: it done instead of sleeping; work that stays unfinished by design
    #: (``validation_delay``, ``finalize="async"``, ``hold_processing``) is not
    #: waited for.  0: answer at once, as Pebble and Let's Encrypt do.
    poll_wait: float = 0.25
    #: Networks (CIDR) the validator may connect to besides loopback.
    validation_allow: Tuple[str, ...] = ()
    #: ``host:port`` of a DNS server the validator asks instead of the in-process zone.
    dns_server: Optional[str] = None
    #: Port of the in-process DNS server (UDP and TCP) serving the zone; 0 picks a
    #: free one; None serves no DNS.
    dns_port: Optional[int] = 0
    #: TSIG keys (RFC 8945) whose signed DNS UPDATEs (RFC 2136) the DNS server
    #: applies to the zone: key name -> base64 secret, or ``"ALG:SECRET"`` with
    #: ALG one of :data:`TSIG_ALGORITHMS` (default hmac-sha256).  None: one key
    #: made from the seed, ``AcmeServer.tsig_key``; ``{}``: no updates (answered
    #: NOTIMP, as pebble-challtestsrv answers them).
    tsig_keys: Optional[Mapping[str, str]] = None
    #: Terms-of-service URL for the directory's ``meta``; None serves the server's own
    #: ``/terms`` page (with ``pebble``: Pebble's :data:`PEBBLE_TERMS`); "" advertises none.
    terms_of_service: Optional[str] = None
    #: Refuse newAccount without ``termsOfServiceAgreed: true``.  None: no, unless
    #: ``pebble`` (Pebble always refuses).
    require_terms_agreement: Optional[bool] = None
    #: Orders per page of an account's ``orders`` list (Pebble's default is 3).
    orders_per_page: int = 3
    #: ``Retry-After`` seconds on pending and processing objects.
    retry_after: int = 1
    #: ``Retry-After`` seconds on authorizations and challenges, and on orders
    #: (Pebble's ``retryAfter.authz`` and ``retryAfter.order``); None: ``retry_after``.
    retry_after_authz: Optional[int] = None
    #: ``Retry-After`` seconds on orders; None: ``retry_after``.
    retry_after_order: Optional[int] = None
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
    #: The instant the server clock reads when the server starts and after every
    #: reset (each test): an RFC 3339 text (``"2030-01-01T00:00:00Z"``) or a
    #: timezone-aware datetime.  None: real time.
    clock_start: Optional[Union[str, dt.datetime]] = None
    #: Start frozen: the clock reads one instant until the test moves it
    #: (``clock.advance``, ``clock.set``) or calls ``clock.resume()``.
    clock_frozen: bool = False
    #: Entries kept in the event timeline and in the request log; the oldest are
    #: dropped first, and the logs count what they dropped.
    event_log_size: int = 10000
    #: Entries kept in the request log (``server.requests``), likewise.
    request_log_size: int = 2000
    #: Orders kept: past this many, the oldest finished ones (valid, invalid or
    #: expired) are forgotten with their authorizations and unrevoked
    #: certificates, so a long-running ``serve`` stays within bounded memory.
    #: None: keep everything until :meth:`~pytest_acme.AcmeServer.reset`.
    max_orders: Optional[int] = 2000
    #: Unfinished (pending, ready or processing) orders one account may have;
    #: newOrder past it is refused with ``rateLimited`` (429, ``Retry-After``), as
    #: Let's Encrypt's "too many currently pending orders" (Boulder's
    #: ``PendingOrdersPerAccount``, 1000 at Let's Encrypt).  None: no limit.
    max_pending_orders_per_account: Optional[int] = 1000
    #: Unfinished orders of all accounts together, refused the same way: with
    #: ``max_orders`` it bounds what the store keeps.  None: no limit.
    max_pending_orders: Optional[int] = 2000
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
    #: Name the server's own OCSP responder (``AcmeServer.ocsp_url``, RFC 6960) in
    #: every leaf's Authority Information Access.  The responder answers whether or
    #: not certificates name it.
    ocsp: bool = False
    #: An external OCSP responder URL to name there instead (Pebble's
    #: ``ocspResponderURL``); when set it is the URL leaves carry, with or without
    #: ``ocsp``.  None (or ""): none, unless ``ocsp``.
    ocsp_responder_url: Optional[str] = None
    #: Behave as Let's Encrypt's Boulder where it differs from RFC 8555: every part
    #: below that is left at None follows this switch (see :data:`BOULDER_PARTS`).
    boulder: bool = False
    #: Behave as Pebble where its users can see it and it differs from Let's
    #: Encrypt: what ``pytest-acme pebble`` (and ``serve`` with Pebble's flags or
    #: config) sets.  The in-process default keeps Let's Encrypt's behaviour.  Every
    #: part left at None follows this switch (see :data:`PEBBLE_PARTS`), and
    #: ``terms_of_service`` left at None becomes Pebble's.
    pebble: bool = False
    #: Leaves carry the first DNS name as subject CN where their profile says so.
    #: None: yes, unless ``pebble`` (Pebble's leaves have an empty subject).
    leaf_common_name: Optional[bool] = None
    #: Root and intermediate names: ``"pytest-acme"`` (``pytest-acme root 0f3d1a``) or
    #: ``"pebble"`` (``Pebble Root CA 0f3d1a``, ``Pebble Intermediate CA 5e2b07``).
    #: None: ``"pytest-acme"``, unless ``pebble``.
    ca_names: Optional[str] = None
    #: Account and CSR keys taken: ``"letsencrypt"`` (RSA of 2048 to 4096 bits in
    #: whole bytes with exponent 65537, ECDSA P-256 or P-384, as Boulder's goodkey)
    #: or ``"pebble"`` (RSA of 1024 to 8192 bits with any odd exponent from 3 to
    #: 2**31-1, and P-521 too, as Go's crypto takes).  None: ``"letsencrypt"``,
    #: unless ``pebble``.  Every key is checked before its signature is verified.
    rsa_keys: Optional[str] = None
    #: Which DNS names newOrder and newAuthz take, beyond RFC 8555's syntax (which
    #: both follow, a trailing dot refused as Boulder and Pebble refuse it), and
    #: which names a finalize CSR asks for: ``"letsencrypt"`` (at most 10 labels, a
    #: wildcard's ``*`` counted; a CSR's subject CN is one of its names, so a CSR
    #: with a CN and no subjectAltName is taken, as Boulder's policy and CSR
    #: reading) or ``"pebble"`` (any number of labels; only subjectAltName names
    #: count).  None: ``"letsencrypt"``, unless ``pebble``.
    name_rules: Optional[str] = None
    #: Refuse a finalize CSR that asks for OCSP Must-Staple with ``badCSR``, as Let's
    #: Encrypt does since it ended OCSP in 2025, unless the server names an OCSP
    #: responder in its leaves (``ocsp`` or ``ocsp_responder_url``): then the
    #: extension is copied into the leaf, as Boulder did.  None: yes, unless
    #: ``pebble`` (Pebble 2.4.0 takes the CSR and leaves the extension out).
    refuse_must_staple: Optional[bool] = None
    #: The algorithms a finalize CSR may be signed with: ``"letsencrypt"`` (SHA-256,
    #: SHA-384 or SHA-512 with RSA PKCS#1 v1.5 or ECDSA, as Boulder; RSA-PSS,
    #: SHA-224 and SHA-1 get ``badCSR``) or ``"pebble"`` (any the key verifies, as
    #: Pebble 2.4.0).  None: ``"letsencrypt"``, unless ``pebble``.
    csr_signatures: Optional[str] = None
    #: Which lists come in an order of their own (seeded: ``seed`` replays them):
    #: ``"challenges"`` (each authorization's, as Let's Encrypt shuffles them),
    #: ``"all"`` (also an order's identifiers and authorizations, as Pebble) or
    #: ``"none"``.  None: ``"challenges"``, unless ``pebble``.
    shuffle: Optional[str] = None
    #: How newAccount and account updates treat ``contact``: ``"rfc"`` (mailto URLs
    #: of one address each, kept and shown in the account) or ``"letsencrypt"`` (as
    #: Boulder since 2025: the same checks, plus addresses at example.com, .net
    #: and .org or under a reserved top-level domain such as .test refused with
    #: ``invalidContact``; accepted ones are not kept, so the account object has
    #: no ``contact``).  None: ``"rfc"``, unless ``boulder``.
    contact_rules: Optional[str] = None
    #: Revocation reasons: ``"letsencrypt"`` (a subscriber may give 0, 1, 4 or 5,
    #: others get ``badRevocationReason``; a request signed with the certificate
    #: key is recorded as keyCompromise, and re-revokes for it, and one from another
    #: account holding the names as cessationOfOperation, as Boulder) or ``"rfc"``
    #: (any RFC 5280 code, recorded as given).  None: ``"letsencrypt"``, unless
    #: ``pebble``.
    revocation_rules: Optional[str] = None
    #: Type and wording of common refusals: ``"pytest-acme"`` (RFC 8555 types, details
    #: that say what to do) or ``"pebble"`` (Pebble's type and detail for the same
    #: refusal, e.g. ``JWS has an invalid anti-replay nonce: ...``).  None:
    #: ``"pytest-acme"``, unless ``pebble``.
    problem_details: Optional[str] = None
    #: A refused finalize CSR makes the order invalid (processing → invalid, the
    #: order's error says why).  None: yes, unless ``boulder`` or ``pebble``: Boulder
    #: checks the CSR before it marks the order processing, and Pebble checks it
    #: while the order is ready, so both leave it ready for another CSR.
    refused_csr_fails_order: Optional[bool] = None
    #: Domain names refused in newOrder with ``rejectedIdentifier``, each with every
    #: name below it (Pebble's ``domainBlocklist``).
    domain_blocklist: Tuple[str, ...] = ()
    #: Offer pre-authorization (``newAuthz``, RFC 8555 §7.4.1).  None: yes, unless
    #: ``boulder`` or ``pebble`` (neither has newAuthz).
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
    #: (wildcards: the DNS ones; IP addresses: http-01 and tls-alpn-01).  By
    #: default Let's Encrypt's three: http-01, dns-01, tls-alpn-01, so a wildcard
    #: gets dns-01 only; the drafts dns-account-01 and dns-persist-01 are offered
    #: when named here (any of :data:`CHALLENGE_TYPES`).
    challenge_types: Tuple[str, ...] = DEFAULT_CHALLENGE_TYPES
    #: Refuse a CSR whose ``version`` is not 0 (v1, RFC 2986 §4.1) with ``badCSR``.
    #: False accepts it, as Let's Encrypt and Pebble do, with a warning in the
    #: order's timeline.
    strict_csr: bool = False
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
        check_choice("finalize", self.finalize, FINALIZE_MODES)
        check_choice("validation", self.validation, VALIDATION_MODES)
        if self.ca_key_type is not None:
            check_choice("ca_key_type", self.ca_key_type, KEY_TYPES)
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
        if not 0 <= self.poll_wait <= 10:
            raise ValueError(f"poll_wait must be 0 to 10 seconds, got {self.poll_wait}")
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
            check_dns_server(host.strip("[]"), networks)
        if self.tsig_keys is not None:
            keys = [parse_tsig_key(name, value) for name, value in dict(self.tsig_keys).items()]
            object.__setattr__(self, "tsig_keys",
                               {k.name: f"{k.algorithm}:{k.secret}" for k in keys})
        if (self.tls_certificate is None) != (self.tls_private_key is None):
            raise ValueError("tls_certificate and tls_private_key go together")
        for name in ("max_orders", "max_pending_orders_per_account", "max_pending_orders"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ValueError(f"{name} must be a whole number of at least 1 or None, "
                                 f"got {value!r}")
        for name in ("event_log_size", "request_log_size", "max_connections"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        object.__setattr__(self, "clock_start", as_instant("clock_start", self.clock_start))
        if not isinstance(self.clock_frozen, bool):
            raise ValueError(f"clock_frozen must be true or false, got {self.clock_frozen!r}")
        if self.nonce_lifetime is not None and not self.nonce_lifetime > 0:
            raise ValueError(f"nonce_lifetime must be > 0 seconds or None, got "
                             f"{self.nonce_lifetime!r}")
        for name in ("idle_timeout", "handshake_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        for name in ("retry_after", "retry_after_authz", "retry_after_order"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 0):
                raise ValueError(f"{name} must be a whole number of seconds >= 0, got {value!r}")
        for name, allowed in PART_CHOICES.items():
            if getattr(self, name) is not None:
                check_choice(name, getattr(self, name), allowed)
        if isinstance(self.domain_blocklist, str):
            raise ValueError("domain_blocklist must be a list of domain names, not one string")
        blocked = []
        for name in self.domain_blocklist:
            if not isinstance(name, str) or not name.strip(". "):
                raise ValueError(f"domain_blocklist: {name!r} is not a domain name")
            blocked.append(name.strip().rstrip(".").lower())
        object.__setattr__(self, "domain_blocklist", tuple(blocked))
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
        url = self.ocsp_responder_url or None
        if url is not None and not (isinstance(url, str) and OCSP_URL.fullmatch(url)):
            raise ValueError(f"ocsp_responder_url must be an http:// or https:// URL, "
                             f"got {url!r}")
        object.__setattr__(self, "ocsp_responder_url", url)
        for name in ("authz_reuse_valid", "authz_reuse_pending"):
            object.__setattr__(self, name, as_rate(name, getattr(self, name)))
        eab_keys = dict(self.eab_keys)
        for kid, key in eab_keys.items():
            if not isinstance(kid, str) or not kid or not isinstance(key, str):
                raise ValueError(f"eab_keys maps key ids to base64url MAC keys; got {kid!r}")
            if not is_mac_key(key):
                raise ValueError(f"eab_keys[{kid!r}] is not a base64url MAC key: {key[:40]!r}")
        object.__setattr__(self, "eab_keys", eab_keys)
        types = tuple(self.challenge_types)
        if (any(t not in CHALLENGE_TYPES for t in types) or not types
                or len(set(types)) != len(types)):
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
            raise ValueError(f"caa_recheck_after must be >= 0 seconds, "
                             f"got {self.caa_recheck_after}")

    @property
    def start_time(self) -> Optional[dt.datetime]:
        """``clock_start`` as read: an aware UTC datetime, or None for real time.
        (The field also takes RFC 3339 text, which ``__post_init__`` turns into the
        datetime, so only the datetime can be read back.)"""
        return cast(Optional[dt.datetime], self.clock_start)

    @property
    def profile_default(self) -> Optional[str]:
        """The profile an order that names none gets (None when none is offered)."""
        return self.default_profile or next(iter(self.profiles or {}), None)

    def effective(self, name: str) -> Any:
        """The value of a mode-dependent setting: its own, else what ``pebble`` or
        ``boulder`` gives it (see :data:`PEBBLE_PARTS`, :data:`BOULDER_PARTS`), else
        the default of :data:`RFC_DEFAULTS`."""
        value = getattr(self, name)
        if value is not None:
            return value
        if self.pebble and name in PEBBLE_PARTS:
            return PEBBLE_PARTS[name]
        if self.boulder and name in BOULDER_PARTS:
            return BOULDER_PARTS[name]
        return RFC_DEFAULTS[name]

    @property
    def authz_retry_after(self) -> int:
        """``Retry-After`` seconds for authorizations and challenges."""
        return self.retry_after if self.retry_after_authz is None else self.retry_after_authz

    @property
    def order_retry_after(self) -> int:
        """``Retry-After`` seconds for orders."""
        return self.retry_after if self.retry_after_order is None else self.retry_after_order

    def replace(self, **changes: Any) -> "AcmeConfig":
        """A copy with ``changes`` applied; unknown names raise ``TypeError``."""
        check_names(changes)
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_kwargs(cls, base: Optional["AcmeConfig"] = None, **kwargs: Any) -> "AcmeConfig":
        """``base`` (the defaults when None) with ``kwargs`` applied: how
        ``AcmeServer(config, **settings)`` combines its arguments."""
        return (base or cls()).replace(**kwargs)


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(AcmeConfig))

#: The settings that take effect only in a new server, since they shape its
#: listening socket, its DNS server or its CA: ``AcmeServer.reconfigure`` refuses
#: to change them, and a test whose ``acme`` marker changes one gets a server of
#: its own.  The one list of them; the documentation is generated from it.
RESTART_SETTINGS = frozenset(
    {"host", "port", "tls", "ca_key_type", "seed", "nonce_pool_size", "dns_port",
     "tls_certificate", "tls_private_key", "chain_length", "alternate_roots", "ca_names",
     "pebble"}
)


def check_names(changes: Mapping[str, Any]) -> None:
    """Refuse (``TypeError``) names in ``changes`` that are no setting."""
    unknown = sorted(set(changes) - set(FIELD_NAMES))
    if unknown:
        raise TypeError(
            f"unknown pytest-acme setting(s) {', '.join(unknown)}; "
            f"known: {', '.join(FIELD_NAMES)}"
        )


def as_dict(config: AcmeConfig) -> Dict[str, Any]:
    """Every setting of ``config`` by name."""
    return dataclasses.asdict(config)
