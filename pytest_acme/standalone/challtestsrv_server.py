"""Every listener of ``pytest-acme challtestsrv``, started and stopped together.

pebble-challtestsrv is one program with up to five kinds of listeners, each
given as a comma-separated list of Go addresses (``":8053"`` is every
interface, ``"127.0.0.1:8053"`` one address, ``""`` none):

==============  =========  ===============================================
flag            default    what listens there
==============  =========  ===============================================
``-management``  ``:8055``  the management API (:class:`.StandaloneChalltestsrvApp`)
``-dns01``       ``:8053``  DNS over UDP and TCP, from one :class:`~pytest_acme.va.zone.Zone`
``-http01``      ``:5002``  HTTP-01 (:class:`.challenge_http.ChallengeHttp`)
``-https01``     ``:5003``  the same answers over HTTPS, with a self-signed certificate
``-tlsalpn01``   ``:5001``  TLS-ALPN-01 (:class:`~pytest_acme.responders.TlsAlpn01Responder`)
==============  =========  ===============================================

:class:`ChalltestsrvServer` owns them all::

    server = ChalltestsrvServer(management=[("127.0.0.1", 0)], dns01=[("127.0.0.1", 0)])
    server.start()
    server.listening    # [("management API", "127.0.0.1", 40123), ("DNS", "127.0.0.1", 40124)]
    server.stop()
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import os
import ssl
import tempfile
from typing import Any, Callable, List, Optional, Sequence, Tuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from dnslib import QTYPE, RCODE, RR, SOA, DNSRecord

from ..httpd import HttpLimits, ServerStartError, WsgiThread
from ..responders import TlsAlpn01Responder
from ..va.dnsserver import DnsServer, ZoneResolver
from ..va.zone import Zone
from .challenge_http import ChallengeHttp
from .challtestsrv_standalone import StandaloneChalltestsrvApp

Address = Tuple[str, int]


def go_addresses(value: str, flag: str) -> List[Address]:
    """A Go flag's comma-separated ``host:port`` list as ``(host, port)`` pairs.

    As pebble-challtestsrv does, blank items are dropped (so ``""`` is no
    listener); an empty host (``":8053"``) is every IPv4 interface,
    ``0.0.0.0``; ``[::1]:8053`` is an IPv6 address.

    Raises:
        ValueError: an item is not ``host:port`` with a port 0..65535.
    """
    out = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not port.isdigit() or int(port) > 65535 or ("]" in host) != host.startswith("["):
            raise ValueError(f"-{flag}: {item!r} is not an address like '127.0.0.1:8053' or ':8053'")
        out.append((host.strip("[]") or "0.0.0.0", int(port)))
    return out


def beyond_loopback(host: str) -> bool:
    """Whether a listener on ``host`` can be reached from other machines."""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a name: whatever it resolves to


def self_signed_context() -> ssl.SSLContext:
    """A TLS server context with a fresh self-signed certificate, like the one
    pebble-challtestsrv makes at start-up for its HTTPS HTTP-01 server (CN
    "challenge test server"): validators follow redirects to HTTPS without
    checking the certificate (RFC 8555 §8.3 leaves that to them; Boulder and
    Pebble do not check it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "challenge test server")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                              ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # SSLContext loads certificates from files only: write them, load them, delete them.
    with tempfile.TemporaryDirectory(prefix="pytest-acme-https01-") as tmp:
        cert_file, key_file = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        with open(cert_file, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_file, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        context.load_cert_chain(cert_file, key_file)
    return context


class ChalltestsrvDnsResolver(ZoneResolver):
    """Answers as pebble-challtestsrv's DNS server does, from the same zone:

    * only A, AAAA, TXT, CAA and CNAME queries are answered; any other type
      (SOA, MX, NS...) gets NOTIMP;
    * every answer has TTL 0, and every reply (SERVFAIL and NOTIMP too) carries
      the same made-up SOA record of ``challtestsrv.invalid.`` in its authority
      section.
    """

    #: The query types pebble-challtestsrv answers.
    TYPES = frozenset({"A", "AAAA", "TXT", "CAA", "CNAME"})
    #: The SOA record of every reply.
    SOA = RR("challtestsrv.invalid.", QTYPE.SOA, ttl=0, rdata=SOA(
        "ns.challtestsrv.invalid.", "master.challtestsrv.invalid.", (1, 1, 1, 1, 1)))

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        qtype = QTYPE.get(request.q.qtype)
        if qtype in self.TYPES:
            reply = super().resolve(request, handler)
        else:
            self.zone.record_query(str(request.q.qname), str(qtype))
            reply = request.reply()
            reply.header.rcode = RCODE.NOTIMP
        for record in reply.rr:
            record.ttl = 0
        reply.auth = [self.SOA]
        return reply


class ChalltestsrvServer:
    """pebble-challtestsrv's listeners over one zone and one HTTP-01 state.

    Args:
        management, dns01, http01, https01, tlsalpn01: where each kind listens
            (see :func:`go_addresses`); an empty list is none.  TLS-ALPN-01
            takes at most one address here.
        default_ipv4, default_ipv6: the A and AAAA answer of names without
            records of their own; ``None`` for none (``-defaultIPv4 ""``).

    Raises:
        ValueError: more than one TLS-ALPN-01 address.
    """

    def __init__(self, *, management: Sequence[Address] = (), dns01: Sequence[Address] = (),
                 http01: Sequence[Address] = (), https01: Sequence[Address] = (),
                 tlsalpn01: Sequence[Address] = (), default_ipv4: Optional[str] = "127.0.0.1",
                 default_ipv6: Optional[str] = "::1") -> None:
        if len(tlsalpn01) > 1:
            raise ValueError("-tlsalpn01: pytest-acme serves TLS-ALPN-01 on one address; "
                             f"got {len(tlsalpn01)}")
        self.addresses = {"management API": list(management), "DNS": list(dns01),
                          "HTTP-01": list(http01), "HTTPS HTTP-01": list(https01),
                          "TLS-ALPN-01": list(tlsalpn01)}
        self.zone = Zone(default_ipv4, default_ipv6)
        self.http01 = ChallengeHttp() if http01 or https01 else None
        self.tlsalpn01: Optional[TlsAlpn01Responder] = None
        self.app = StandaloneChalltestsrvApp(self.zone, http01=self.http01, dns=bool(dns01))
        #: ``(what, host, port)`` of every listener, once started.
        self.listening: List[Tuple[str, str, int]] = []
        self._running: List[Any] = []

    def start(self) -> "ChalltestsrvServer":
        """Listen everywhere, or stop what started and raise.

        Raises:
            ServerStartError, OSError: an address cannot be listened on.
        """
        try:
            for host, port in self.addresses["DNS"]:
                self._start("DNS", host, port, self._dns_server)
            for what, tls in (("HTTP-01", False), ("HTTPS HTTP-01", True)):
                for host, port in self.addresses[what]:
                    self._start(what, host, port, functools.partial(self._http01_server, what, tls))
            for host, port in self.addresses["TLS-ALPN-01"]:
                self.tlsalpn01 = self._start("TLS-ALPN-01", host, port, self._tlsalpn01_server)
                self.app.tlsalpn01 = self.tlsalpn01
            for host, port in self.addresses["management API"]:
                self._start("management API", host, port, self._management_server)
        except BaseException:
            self.stop()
            raise
        return self

    def _dns_server(self, host: str, port: int) -> DnsServer:
        return DnsServer(self.zone, host, port, resolver=ChalltestsrvDnsResolver(self.zone)).start()

    def _http01_server(self, what: str, tls: bool, host: str, port: int) -> WsgiThread:
        assert self.http01 is not None  # made whenever an HTTP-01 address is given
        return WsgiThread(self.http01, host, port, self_signed_context() if tls else None,
                          f"{what} challenge server", limits=HttpLimits()).start()

    def _tlsalpn01_server(self, host: str, port: int) -> TlsAlpn01Responder:
        # Go's TLS stack answers a failed certificate lookup with internal_error.
        return TlsAlpn01Responder(host, port, unknown_alert=ssl.ALERT_DESCRIPTION_INTERNAL_ERROR).start()

    def _management_server(self, host: str, port: int) -> WsgiThread:
        return WsgiThread(self.app, host, port, None, "challtestsrv management API",
                          limits=HttpLimits()).start()

    def _start(self, what: str, host: str, port: int, start: Callable[[str, int], Any]) -> Any:
        """Start one listener with ``start(host, port)``, or raise :class:`ServerStartError`
        naming it and its address."""
        try:
            server = start(host, port)
        except ServerStartError:
            raise
        except OSError as e:
            raise ServerStartError(
                f"the {what} server cannot listen on {host}:{port}: {e.strerror or e}"
                + (" (another program uses the port: stop it, or pass another address)"
                   if port else "")) from e
        self._running.append(server)
        self.listening.append((what, host, int(server.port)))
        return server

    def stop(self) -> None:
        """Stop every listener (in the reverse order of starting)."""
        running, self._running = self._running, []
        for server in reversed(running):
            server.stop()
        self.listening = []

    def __enter__(self) -> "ChalltestsrvServer":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
