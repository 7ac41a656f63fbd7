"""Name resolution for the validation authority.

Two resolvers with one interface: :class:`ZoneResolver` reads the in-process
:class:`~pytest_acme.va.zone.Zone` (the default), :class:`DnsResolver` asks a
DNS server (``dns_server="127.0.0.1:8053"``, e.g. a pebble-challtestsrv) with
dnslib.  Both raise :class:`~pytest_acme.protocol.problems.DNS` problems whose
detail says what was asked and what came back.
"""

from __future__ import annotations

import socket
from typing import List, Protocol, Sequence, Tuple

from dnslib import QTYPE, RCODE, DNSRecord

from ..protocol import problems
from .guard import check_address
from .zone import CaaRecord, Zone, ZoneError, normalise


class Resolver(Protocol):
    def lookup(self, name: str, rtype: str) -> List[str]:
        """The ``rtype`` ("A", "AAAA", "TXT") records of ``name``; [] if none.

        Raises:
            problems.DNS: the lookup failed (SERVFAIL, NXDOMAIN, timeout).
        """

    def caa(self, name: str) -> Tuple[str, List[CaaRecord]]:
        """The CAA records at ``name`` (CNAMEs followed) and the name they belong to.

        Raises:
            problems.DNS: the lookup failed.
        """


class ZoneResolver:
    """Answers from the in-process zone."""

    def __init__(self, zone: Zone) -> None:
        self.zone = zone

    def lookup(self, name: str, rtype: str) -> List[str]:
        try:
            return [str(r) for r in self.zone.lookup(name, rtype).records]
        except ZoneError as e:
            raise problems.DNS(f"DNS problem looking up {rtype} for {name}: {e}") from None

    def caa(self, name: str) -> Tuple[str, List[CaaRecord]]:
        try:
            answer = self.zone.lookup(name, "CAA")
        except ZoneError as e:
            raise problems.DNS(f"DNS problem looking up CAA for {name}: {e}") from None
        return answer.owner, list(answer.records)

    def __str__(self) -> str:
        return "the in-process zone"


class DnsResolver:
    """Asks the DNS server at ``host:port`` (UDP, then TCP when truncated)."""

    def __init__(self, address: str, timeout: float, allowed: Sequence[str] = ()) -> None:
        host, _, port = address.rpartition(":")
        self.host, self.port, self.timeout = host.strip("[]"), int(port), timeout
        if self.host == "localhost":
            self.host = "127.0.0.1"
        self.allowed = tuple(allowed)

    def lookup(self, name: str, rtype: str) -> List[str]:
        reply = self._ask(name, rtype)
        wanted = getattr(QTYPE, rtype)
        out = []
        for rr in reply.rr:
            if rr.rtype != wanted:
                continue
            if rtype == "TXT":
                out.append(b"".join(rr.rdata.data).decode("utf-8", "replace"))
            else:
                out.append(str(rr.rdata))
        return out

    def caa(self, name: str) -> Tuple[str, List[CaaRecord]]:
        # RFC 8659 §3: a name that does not exist has an empty CAA RRset.
        reply = self._ask(name, "CAA", nxdomain_is_empty=True)
        owner, records = normalise(name), []
        for rr in reply.rr:
            if rr.rtype == QTYPE.CAA:
                owner = normalise(str(rr.rname))
                rd = rr.rdata
                records.append(CaaRecord(rd.flags, str(rd.tag).lower(), str(rd.value)))
        return owner, records

    def _ask(self, name: str, rtype: str, nxdomain_is_empty: bool = False) -> DNSRecord:
        # The guard again, before any packet leaves (AcmeConfig checks it too).
        try:
            check_address(self.host, self.allowed, f"DNS queries to {self}")
        except ValueError:
            raise problems.Connection(f"refusing to query {self}: not an IP address") from None
        question = DNSRecord.question(name, rtype)
        try:
            reply = DNSRecord.parse(question.send(self.host, self.port, timeout=self.timeout))
            if reply.header.tc:
                reply = DNSRecord.parse(
                    question.send(self.host, self.port, tcp=True, timeout=self.timeout))
        except (socket.timeout, OSError) as e:
            raise problems.DNS(
                f"DNS problem: query for {rtype} {name} to {self} failed: {e or 'timeout'}"
            ) from None
        except Exception as e:  # dnslib raises its own parse errors
            raise problems.DNS(
                f"DNS problem: unreadable answer to {rtype} {name} from {self}: {e}"
            ) from None
        rcode = reply.header.rcode
        if rcode == RCODE.NXDOMAIN and nxdomain_is_empty:
            return reply
        if rcode == RCODE.NXDOMAIN:
            raise problems.DNS(f"DNS problem: NXDOMAIN looking up {rtype} for {name} at {self}")
        if rcode != RCODE.NOERROR:
            raise problems.DNS(
                f"DNS problem: {RCODE.get(rcode)} looking up {rtype} for {name} at {self}")
        return reply

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def first_of_each_family(resolved: Sequence[str]) -> List[str]:
    """The addresses Let's Encrypt connects to: the first IPv6 one, then the first IPv4 one.

    Boulder tries no others (``availableAddresses`` and its IPv6-to-IPv4
    fallback in ``va/http.go`` and ``va/tlsalpn.go``), so a name whose first
    IPv4 address does not answer fails there even if its second would::

        first_of_each_family(["127.0.0.2", "::1", "127.0.0.1", "::2"])  # ['::1', '127.0.0.2']
    """
    v6 = [a for a in resolved if ":" in a]
    v4 = [a for a in resolved if ":" not in a]
    return v6[:1] + v4[:1]


def addresses(resolver: Resolver, name: str) -> List[str]:
    """IPv6 then IPv4 addresses of ``name`` (Let's Encrypt tries IPv6 first).

    As at Let's Encrypt (Boulder's ``LookupHost``), one of the two lookups may
    fail (a SERVFAIL for AAAA, say) if the other finds an address.

    Raises:
        problems.DNS: both lookups failed, or found no address at all.
    """
    found: List[str] = []
    failures: List[str] = []
    for rtype in ("AAAA", "A"):
        try:
            found += resolver.lookup(name, rtype)
        except problems.DNS as p:
            failures.append(p.detail)
    if found:
        return found
    if failures:
        raise problems.DNS("; ".join(failures))
    raise problems.DNS(f"DNS problem: no A or AAAA record for {name} in {resolver}")
