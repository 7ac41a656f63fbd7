"""The validation authority: decides whether a challenge response is right.

A :class:`Validator` gets everything a check needs (:class:`ValidationRequest`)
and returns ``None`` (valid) or the problem that explains the failure.  It runs
on a worker thread, never holding the store lock, so it may do network I/O.

* :class:`RealValidator` (``validation="real"``, the default) checks http-01,
  dns-01 and tls-alpn-01 against the client's own responders, resolving names
  in the server's zone (or an external DNS server), through the network guard.
* :class:`AlwaysValid` (``validation="always_valid"``) passes everything.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional

from ..config import AcmeConfig
from ..protocol.problems import Problem
from ..protocol.resources import DNS_01, HTTP_01, TLS_ALPN_01
from . import dns01, http01, tlsalpn01
from .base import Network, ValidationRequest, Validator
from .resolver import DnsResolver, ZoneResolver
from .zone import Zone

__all__ = ["AlwaysValid", "RealValidator", "ValidationRequest", "Validator", "make_validator"]


class AlwaysValid:
    """Every challenge passes, like Pebble's ``PEBBLE_VA_ALWAYS_VALID=1``: for
    testing everything but challenge solving."""

    def validate(self, request: ValidationRequest) -> Optional[Problem]:
        return None


_CHECKS: Dict[str, Callable[[Network, ValidationRequest], None]] = {
    HTTP_01: http01.validate,
    DNS_01: dns01.validate,
    TLS_ALPN_01: tlsalpn01.validate,
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


def make_validator(config: AcmeConfig, zone: Zone) -> Validator:
    if config.validation == "always_valid":
        return AlwaysValid()
    resolver = (DnsResolver(config.dns_server, config.validation_timeout,
                            config.validation_allow)
                if config.dns_server else ZoneResolver(zone))
    return RealValidator(Network(
        resolver=resolver,
        http01_port=config.http01_port,
        tlsalpn01_port=config.tlsalpn01_port,
        timeout=config.validation_timeout,
        allowed=config.validation_allow,
    ))
