"""The DNS data a test edits: what the validation authority's resolver sees.

This follows pebble-challtestsrv's mock DNS: *every* name resolves, to a
default IPv4 address (``127.0.0.1``) and, if one is set, a default IPv6
address, so an HTTP-01 or TLS-ALPN-01 check of any name reaches the test's own
listener without setting anything up.  Explicit records override the default::

    zone = Zone()
    zone.resolve_a("anything.example")        # ['127.0.0.1'] (the default)
    zone.add_a("web.example", "10.0.0.7")
    zone.resolve_a("web.example")             # ['10.0.0.7'] (replaces the default)
    zone.set_cname("www.example", "web.example")
    zone.resolve_a("www.example")             # ['10.0.0.7'] (follows the CNAME)
    zone.set_txt("_acme-challenge.web.example", "<key authorization digest>")
    zone.set_servfail("broken.example")       # lookups raise ZoneServfail

Names are case-insensitive and a trailing dot is ignored: ``"WEB.example."``
and ``"web.example"`` are the same name.

A :class:`Zone` has its own small lock, so a test thread may edit it while the
validator (on a worker thread) or the :class:`~pytest_acme.va.dnsserver.DnsServer`
reads it; every lookup sees the zone as it is at that moment.
"""

from __future__ import annotations

import ipaddress
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ..config import TsigKey
from ..store import BoundedList

#: The longest CNAME chain a lookup follows before giving up.
MAX_CNAME_HOPS = 8

#: Record types :meth:`Zone.lookup` knows (CNAME is followed, not looked up).
RECORD_TYPES = ("A", "AAAA", "TXT", "CAA")
#: Record types a name can hold explicitly (what :meth:`Zone.rrset` reads and
#: :meth:`Zone.delete` removes; what a DNS UPDATE may add).
STORED_TYPES = ("A", "AAAA", "CNAME", "TXT", "CAA")
#: Queries the log keeps for ``/dns-request-history`` (the newest).
QUERY_LOG_SIZE = 1000


class ZoneError(Exception):
    """A lookup that cannot be answered; a DNS server would say SERVFAIL."""


class ZoneServfail(ZoneError):
    """The name (or a name on its CNAME chain) was set to fail with :meth:`Zone.set_servfail`.

    Attributes:
        name: the normalised name that fails.
    """

    def __init__(self, name: str) -> None:
        super().__init__(f"{name}: SERVFAIL (set with Zone.set_servfail)")
        self.name = name


class CnameLoop(ZoneError):
    """Following CNAMEs came back to a name already seen, or took too many hops.

    Attributes:
        chain: the names visited, in order, starting with the name looked up.
    """

    def __init__(self, chain: List[str], why: str) -> None:
        super().__init__(f"{why}: {' -> '.join(chain)}")
        self.chain = chain


@dataclass(frozen=True)
class CaaRecord:
    """One CAA record (RFC 8659 §4.1), e.g. ``CaaRecord(0, "issue", "pytest-acme.test")``.

    Attributes:
        flags: 0..255; 128 is the *issuer critical* flag.
        tag: ``"issue"``, ``"issuewild"``, ``"iodef"``, ... (stored in lower case).
        value: the tag's value, as written in a zone file without the quotes.
    """

    flags: int
    tag: str
    value: str


@dataclass(frozen=True)
class Answer:
    """What :meth:`Zone.lookup` found.

    Attributes:
        cnames: the CNAMEs followed, as ``(owner, target)`` pairs in order (empty
            if the name has no CNAME).  A DNS server puts these in the answer
            section before the records.
        owner: the name the records belong to (the end of the chain).
        records: IP address strings for A and AAAA, strings for TXT,
            :class:`CaaRecord` for CAA.  Empty means "no such records" (NOERROR,
            no data), never an error.
    """

    cnames: Tuple[Tuple[str, str], ...]
    owner: str
    records: tuple


def normalise(name: str) -> str:
    """``"WWW.Example.COM."`` -> ``"www.example.com"``."""
    name = name.strip().lower()
    if name.endswith("."):
        name = name[:-1]
    if not name:
        raise ValueError("empty DNS name")
    return name


def _txt(value: str) -> str:
    if len(value.encode("utf-8")) > 255:
        raise ValueError("a TXT value may be at most 255 bytes")
    return value


def _ip(ip: str, version: int) -> str:
    """The canonical text form of ``ip``; ValueError if it is not an IPv``version`` address."""
    addr = ipaddress.ip_address(ip)
    if addr.version != version:
        raise ValueError(f"{ip!r} is not an IPv{version} address")
    return str(addr)


class Zone:
    """In-memory DNS data: default addresses plus explicit records.

    Args:
        default_ipv4: the A record of every name without explicit A records or
            a CNAME; ``None``: such names have no A record (pebble-challtestsrv's
            ``-defaultIPv4 ""``).
        default_ipv6: likewise for AAAA; ``None`` (the default) means names
            have no AAAA record unless one is added.
    """

    def __init__(self, default_ipv4: Optional[str] = "127.0.0.1",
                 default_ipv6: Optional[str] = None) -> None:
        self._lock = threading.RLock()
        self._queries: BoundedList[Tuple[str, str]] = BoundedList(QUERY_LOG_SIZE)
        self._default_ipv4 = None if default_ipv4 is None else _ip(default_ipv4, 4)
        self._default_ipv6 = None if default_ipv6 is None else _ip(default_ipv6, 6)
        self._a: Dict[str, List[str]] = {}
        self._aaaa: Dict[str, List[str]] = {}
        self._cname: Dict[str, str] = {}
        self._txt: Dict[str, List[str]] = {}
        self._caa: Dict[str, List[CaaRecord]] = {}
        self._servfail: set = set()
        #: The TSIG key that signs DNS UPDATEs (RFC 2136) to this zone, when the
        #: server serving it takes them (set by that server): hand it to the
        #: client under test.  None when updates are not taken.
        self.tsig_key: Optional[TsigKey] = None

    # -- defaults ------------------------------------------------------------

    @property
    def default_ipv4(self) -> Optional[str]:
        """The A record of names without their own (None: they have none)."""
        return self._default_ipv4

    @property
    def default_ipv6(self) -> Optional[str]:
        """The AAAA record of names without their own (None: they have none)."""
        return self._default_ipv6

    def set_default_ipv4(self, ip: Optional[str]) -> None:
        """The address every name without explicit A records resolves to; ``None``
        for none."""
        ip = None if ip is None else _ip(ip, 4)
        with self._lock:
            self._default_ipv4 = ip

    def set_default_ipv6(self, ip: Optional[str]) -> None:
        """The AAAA of every name without explicit AAAA records; ``None`` for none."""
        ip = None if ip is None else _ip(ip, 6)
        with self._lock:
            self._default_ipv6 = ip

    # -- edits ---------------------------------------------------------------

    def add_a(self, name: str, ip: str) -> None:
        """Add an A record; the name's explicit records replace the default."""
        self._add(self._a, name, _ip(ip, 4))

    def clear_a(self, name: str) -> None:
        """Remove the name's explicit A records (it gets the default again)."""
        self._clear(self._a, name)

    def add_aaaa(self, name: str, ip: str) -> None:
        """Add an AAAA record; the name's explicit records replace the default."""
        self._add(self._aaaa, name, _ip(ip, 6))

    def clear_aaaa(self, name: str) -> None:
        """Remove the name's explicit AAAA records (it gets the default again)."""
        self._clear(self._aaaa, name)

    def set_cname(self, name: str, target: str) -> None:
        """Make ``name`` an alias of ``target`` (replacing any earlier CNAME).

        Lookups of ``name`` then follow to ``target``; records stored for
        ``name`` itself are ignored while the CNAME is set (a name with a CNAME
        has no other data, RFC 1034 §3.6.2).
        """
        name, target = normalise(name), normalise(target)
        with self._lock:
            self._cname[name] = target

    def clear_cname(self, name: str) -> None:
        """Remove the name's CNAME: its own records answer again."""
        with self._lock:
            self._cname.pop(normalise(name), None)

    def set_txt(self, name: str, value: str) -> None:
        """*Add* a TXT value: values set earlier stay (a name may have several, as
        during a dns-01 rollover; pebble-challtestsrv's ``/set-txt`` does the same).
        :meth:`replace_txt` keeps only the new one.

        Values are one DNS character-string, so at most 255 bytes of UTF-8
        (a dns-01 digest is 43).
        """
        self._add(self._txt, name, _txt(value))

    def replace_txt(self, name: str, value: str) -> None:
        """Make ``value`` the name's only TXT value, dropping those set before
        (at once: no lookup sees the name without TXT records in between)."""
        value = _txt(value)
        with self._lock:
            self._txt[normalise(name)] = [value]

    def clear_txt(self, name: str) -> None:
        """Remove every TXT value of ``name``."""
        self._clear(self._txt, name)

    def add_caa(self, name: str, flags: int, tag: str, value: str) -> None:
        """Add a CAA record, e.g. ``add_caa("example.com", 0, "issue", "pytest-acme.test")``."""
        if not 0 <= flags <= 255:
            raise ValueError(f"CAA flags must be 0..255, not {flags}")
        if not tag or not tag.isalnum():
            raise ValueError(f"CAA tag must be letters and digits, not {tag!r}")
        self._add(self._caa, name, CaaRecord(flags, tag.lower(), value))

    def clear_caa(self, name: str) -> None:
        """Remove the name's CAA records (its parents' apply again)."""
        self._clear(self._caa, name)

    def set_servfail(self, name: str) -> None:
        """Every lookup of ``name`` (or through it, by CNAME) fails with SERVFAIL."""
        with self._lock:
            self._servfail.add(normalise(name))

    def clear_servfail(self, name: str) -> None:
        """Lookups of ``name`` answer again."""
        with self._lock:
            self._servfail.discard(normalise(name))

    def records(self) -> List[Tuple[str, str, str]]:
        """The explicit records as ``(name, type, value)``, sorted by name then type:
        A, AAAA, CNAME, TXT, CAA (``"0 issue ca.test"``) and SERVFAIL (value ``""``).
        The default addresses are not listed."""
        with self._lock:
            rows = [(n, "A", v) for n, vs in self._a.items() for v in vs]
            rows += [(n, "AAAA", v) for n, vs in self._aaaa.items() for v in vs]
            rows += [(n, "CNAME", v) for n, v in self._cname.items()]
            rows += [(n, "TXT", v) for n, vs in self._txt.items() for v in vs]
            rows += [(n, "CAA", f"{c.flags} {c.tag} {c.value}")
                     for n, cs in self._caa.items() for c in cs]
            rows += [(n, "SERVFAIL", "") for n in self._servfail]
        return sorted(rows, key=lambda r: (r[0], r[1]))

    # -- what a name holds (DNS UPDATE, RFC 2136) ---------------------------------

    @contextmanager
    def transaction(self) -> Iterator["Zone"]:
        """Hold the zone's lock: the reads and edits inside see and make one
        consistent change, as an UPDATE's prerequisites and updates must (RFC 2136
        §3.2, §3.4: all or nothing).  The lock is re-entrant, so the zone's own
        methods work inside."""
        with self._lock:
            yield self

    def rrset(self, name: str, rtype: str) -> list:
        """The records of type ``rtype`` stored at ``name`` itself: no default
        address, no CNAME followed (a CNAME's is ``[target]``).  Values as in
        :class:`Answer`.  The default addresses answer like a wildcard, and are
        no records of the name's own."""
        name = normalise(name)
        with self._lock:
            if rtype == "CNAME":
                target = self._cname.get(name)
                return [] if target is None else [target]
            return list(self._table(rtype).get(name, []))

    def in_use(self, name: str) -> bool:
        """Whether ``name`` holds any record of its own (see :meth:`rrset`)."""
        return any(self.rrset(name, rtype) for rtype in STORED_TYPES)

    def delete(self, name: str, rtype: str, value: Any = None) -> None:
        """Remove one record (``value``), or every ``rtype`` record when ``value``
        is None, from ``name``; absent records are no error."""
        name = normalise(name)
        with self._lock:
            if rtype == "CNAME":
                if value is None or self._cname.get(name) == normalise(value):
                    self._cname.pop(name, None)
                return
            table = self._table(rtype)
            values = table.get(name, [])
            if value is None or value in values:
                remaining = [] if value is None else [v for v in values if v != value]
                if remaining:
                    table[name] = remaining
                else:
                    table.pop(name, None)

    def _table(self, rtype: str) -> Dict[str, list]:
        tables: Dict[str, Dict[str, list]] = {"A": self._a, "AAAA": self._aaaa, "TXT": self._txt,
                                              "CAA": self._caa}
        if rtype not in tables:
            raise ValueError(f"unknown record type {rtype!r}; expected one of {STORED_TYPES}")
        return tables[rtype]

    # -- the query log (what the DNS server was asked) -------------------------

    def record_query(self, name: str, rtype: str) -> None:
        """Note a query the DNS server received (the last :data:`QUERY_LOG_SIZE`
        are kept; :attr:`queries_dropped` counts the others)."""
        with self._lock:
            self._queries.append((normalise(name), rtype))

    @property
    def queries_dropped(self) -> int:
        """How many logged queries were dropped to keep the newest ones."""
        return self._queries.dropped

    def queries(self, name: str) -> List[str]:
        """The record types asked for ``name``, oldest first."""
        key = normalise(name)
        with self._lock:
            return [rtype for owner, rtype in self._queries if owner == key]

    def clear_queries(self, name: str) -> None:
        """Forget the logged queries for ``name``."""
        key = normalise(name)
        with self._lock:
            self._queries[:] = [q for q in self._queries if q[0] != key]

    def reset(self) -> None:
        """Forget every record, SERVFAIL and logged query, and restore the default
        addresses."""
        with self._lock:
            self._queries.clear()
            self._default_ipv4 = "127.0.0.1"
            self._default_ipv6 = None
            for table in (self._a, self._aaaa, self._cname, self._txt, self._caa):
                table.clear()
            self._servfail.clear()

    def _add(self, table: Dict[str, list], name: str, value: object) -> None:
        name = normalise(name)
        with self._lock:
            values = table.setdefault(name, [])
            if value not in values:
                values.append(value)

    def _clear(self, table: Dict[str, list], name: str) -> None:
        with self._lock:
            table.pop(normalise(name), None)

    # -- lookups -------------------------------------------------------------

    def cname(self, name: str) -> Optional[str]:
        """The name's own CNAME target, not followed (what a CNAME query answers).

        Raises:
            ZoneServfail: the name is set to SERVFAIL.
        """
        name = normalise(name)
        with self._lock:
            if name in self._servfail:
                raise ZoneServfail(name)
            return self._cname.get(name)

    def lookup(self, name: str, rtype: str) -> Answer:
        """Follow ``name``'s CNAME chain and return the ``rtype`` records at its end.

        Args:
            rtype: one of :data:`RECORD_TYPES`.

        Raises:
            ZoneServfail: a name on the chain is set to SERVFAIL.
            CnameLoop: the chain loops or is longer than :data:`MAX_CNAME_HOPS`.
        """
        if rtype not in RECORD_TYPES:
            raise ValueError(f"unknown record type {rtype!r}; expected one of {RECORD_TYPES}")
        owner = normalise(name)
        with self._lock:
            chain = [owner]
            cnames: List[Tuple[str, str]] = []
            while True:
                if owner in self._servfail:
                    raise ZoneServfail(owner)
                target = self._cname.get(owner)
                if target is None:
                    break
                cnames.append((owner, target))
                chain.append(target)
                if target in chain[:-1]:
                    raise CnameLoop(chain, "CNAME loop")
                if len(cnames) > MAX_CNAME_HOPS:
                    raise CnameLoop(chain, f"CNAME chain longer than {MAX_CNAME_HOPS} hops")
                owner = target
            return Answer(tuple(cnames), owner, tuple(self._records(owner, rtype)))

    def _records(self, owner: str, rtype: str) -> list:
        if rtype == "A":
            explicit = self._a.get(owner)
            if explicit:
                return explicit
            return [] if self._default_ipv4 is None else [self._default_ipv4]
        if rtype == "AAAA":
            explicit = self._aaaa.get(owner)
            if explicit:
                return explicit
            return [] if self._default_ipv6 is None else [self._default_ipv6]
        if rtype == "TXT":
            return self._txt.get(owner, [])
        return self._caa.get(owner, [])

    def resolve_a(self, name: str) -> List[str]:
        """The IPv4 addresses of ``name``, following CNAMEs (see :meth:`lookup`)."""
        return list(self.lookup(name, "A").records)

    def resolve_aaaa(self, name: str) -> List[str]:
        """The IPv6 addresses of ``name``, following CNAMEs; often empty."""
        return list(self.lookup(name, "AAAA").records)

    def txt(self, name: str) -> List[str]:
        """The TXT values of ``name``, following CNAMEs (dns-01 looks up
        ``_acme-challenge.<domain>``)."""
        return list(self.lookup(name, "TXT").records)

    def caa(self, name: str) -> List[CaaRecord]:
        """The CAA records at ``name`` itself, following CNAMEs.  Climbing to
        parent names (RFC 8659 §3) is the caller's job."""
        return list(self.lookup(name, "CAA").records)
