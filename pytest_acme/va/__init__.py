"""The validation authority: decides whether a challenge response is right.

A :class:`Validator` gets everything a check needs (:class:`ValidationRequest`)
and returns ``None`` (valid) or the problem that explains the failure.  It runs
on a worker thread, never holding the store lock, so it may do network I/O.

* :class:`RealValidator` (``validation="real"``, the default) checks http-01,
  dns-01, tls-alpn-01, dns-account-01 and dns-persist-01 against the client's
  own responders and DNS records, resolving names in the server's zone (or an
  external DNS server), through the network guard.
* :class:`AlwaysValid` (``validation="always_valid"``) passes everything.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional

from ..config import AcmeConfig
from ..protocol.problems import Problem
from ..protocol.resources import DNS_01, DNS_ACCOUNT_01, DNS_PERSIST_01, HTTP_01, TLS_ALPN_01
from . import dns01, dnsaccount01, dnspersist01, http01, tlsalpn01
from .base import Network, ValidationRequest, Validator
from .caa import CaaPolicy
from .resolver import DnsResolver, Resolver, ZoneResolver
from .zone import Zone

__all__ = ["AlwaysValid", "CaaPolicy", "RealValidator", "ValidationRequest", "Validator",
           "make_caa_policy", "make_validator"]


class AlwaysValid:
    """Every challenge passes, like Pebble's ``PEBBLE_VA_ALWAYS_VALID=1``: for
    testing everything but challenge solving."""

    def validate(self, request: ValidationRequest) -> Optional[Problem]:
        return None


_CHECKS: Dict[str, Callable[[Network, ValidationRequest], None]] = {
    HTTP_01: http01.validate,
    DNS_01: dns01.validate,
    TLS_ALPN_01: tlsalpn01.validate,
    DNS_ACCOUNT_01: dnsaccount01.validate,
    DNS_PERSIST_01: dnspersist01.validate,
}


class RealValidator:
    """Checks challenges for real over the network described by ``network``."""

    def __init__(self, network: Network) -> None:
        self.network = network

    def validate(self, request: ValidationRequest) -> Optional[Problem]:
        check = _CHECKS.get(request.challenge_type)
        if check is None:
            raise ValueError(f"no check for challenge type {request.challenge_type!r}")
        try:
            check(self.network, request)
        except Problem as p:
            return p
        return None


def _resolver(config: AcmeConfig, zone: Zone) -> Resolver:
    if config.dns_server:
        return DnsResolver(config.dns_server, config.validation_timeout,
                           config.validation_allow)
    return ZoneResolver(zone)


def make_caa_policy(config: AcmeConfig, zone: Zone) -> Optional[CaaPolicy]:
    """The CAA check, or None when ``caa=False`` or ``validation="always_valid"``
    (which, like Pebble's, makes no network lookups at all)."""
    if not config.caa or config.validation == "always_valid":
        return None
    return CaaPolicy(config.caa_identities, _resolver(config, zone))


def make_validator(config: AcmeConfig, zone: Zone) -> Validator:
    if config.validation == "always_valid":
        return AlwaysValid()
    resolver = _resolver(config, zone)
    return RealValidator(Network(
        resolver=resolver,
        http01_port=config.http01_port,
        tlsalpn01_port=config.tlsalpn01_port,
        timeout=config.validation_timeout,
        allowed=config.validation_allow,
    ))
