"""A real DNS server for a :class:`~pytest_acme.va.zone.Zone`, over UDP and TCP.

The validation authority reads its :class:`Zone` directly; this server is for
the *client under test*, when it wants to look names up itself (a dns-01
client checking that its TXT record has propagated, say)::

    zone = Zone()
    with DnsServer(zone) as dns:
        zone.set_txt("_acme-challenge.example.com", "digest")
        # ask 127.0.0.1, port dns.port, over UDP or TCP

Both transports listen on the same port number (picked by the OS when
``port=0``), as a DNS client expects.  Wire format is dnslib's job; this module
only maps zone lookups onto answers:

* A, AAAA, TXT and CAA queries follow CNAMEs: the answer holds the CNAME
  records and then the target's records (NOERROR and no records if it has none);
* a CNAME query answers the name's own CNAME, not followed;
* a name set to SERVFAIL, or a CNAME loop, answers SERVFAIL;
* any other type answers NOERROR with no records.

The zone is read afresh for every query, so edits are visible at once.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from types import TracebackType
from typing import Any, List, Optional, Tuple, Type

from dnslib import AAAA, CAA, CNAME, QTYPE, RCODE, RR, SOA, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSHandler

from .zone import CaaRecord, Zone, ZoneError

#: TTL of every answer; short, since tests change records all the time.
TTL = 1

#: How long a TCP connection may take to send its query before it is dropped.
TCP_TIMEOUT = 5.0

_RDATA = {"A": A, "AAAA": AAAA, "TXT": TXT}


class ZoneResolver(BaseResolver):
    """A dnslib resolver that answers from a :class:`Zone`."""

    def __init__(self, zone: Zone) -> None:
        self.zone = zone

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply()
        qname = request.q.qname
        qtype = QTYPE.get(request.q.qtype)
        if not str(qname).strip("."):
            reply.header.rcode = RCODE.REFUSED  # the root: not ours to answer
            return reply
        self.zone.record_query(str(qname), str(qtype))
        try:
            if qtype == "SOA":
                # Every name is served here, so every name is its own zone apex:
                # clients that look for the zone (lego's propagation check) find it.
                reply.add_answer(_soa(qname))
                return reply
            if qtype == "CNAME":
                target = self.zone.cname(str(qname))
                if target is not None:
                    reply.add_answer(RR(qname, QTYPE.CNAME, rdata=CNAME(target + "."), ttl=TTL))
            elif qtype in ("A", "AAAA", "TXT", "CAA"):
                answer = self.zone.lookup(str(qname), qtype)
                owner = qname
                for _, target in answer.cnames:
                    reply.add_answer(RR(owner, QTYPE.CNAME, rdata=CNAME(target + "."), ttl=TTL))
                    owner = target + "."
                for record in answer.records:
                    reply.add_answer(RR(owner, getattr(QTYPE, qtype), rdata=_rdata(qtype, record), ttl=TTL))
        except ZoneError:
            reply = request.reply()
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if not reply.rr:
            reply.add_auth(_soa(qname))  # NODATA: the SOA says who is authoritative
        return reply


def _soa(name: Any) -> RR:
    return RR(name, QTYPE.SOA, ttl=TTL, rdata=SOA(
        "ns.pytest-acme.test.", "hostmaster.pytest-acme.test.", (1, 3600, 600, 86400, TTL)))


def _rdata(qtype: str, record: Any) -> Any:
    if isinstance(record, CaaRecord):
        return CAA(record.flags, record.tag, record.value)
    return _RDATA[qtype](record)


class _QuietLogger:
    """dnslib's handler reports every packet to a logger that prints; this one
    drops everything (every ``log_*`` method is a no-op)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("log_"):
            return lambda *args, **kwargs: None
        raise AttributeError(name)


class _UDPServer(socketserver.ThreadingMixIn, socketserver.UDPServer):
    # Handler threads are not daemons, so server_close() joins them: stop()
    # returns with no thread of ours left running.
    daemon_threads = False
    block_on_close = True


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = False
    block_on_close = True
    # The server closes each connection first, leaving it in TIME_WAIT; without
    # SO_REUSEADDR a restart on the same port would fail for a minute.  (On
    # Linux this still refuses a port another socket is listening on.)
    allow_reuse_address = True

    def get_request(self) -> Tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        conn.settimeout(TCP_TIMEOUT)  # a silent client cannot hold up stop()
        return conn, addr


class DnsServer:
    """Serve ``zone`` over UDP and TCP on ``host``:``port``.

    Args:
        zone: the records to serve (read on every query).
        host: an IPv4 or IPv6 literal to listen on.
        port: the port for both transports; 0 lets the OS choose (see :attr:`port`).
        resolver: what turns a query into an answer; by default a
            :class:`ZoneResolver` of ``zone``.
    """

    #: How many OS-chosen UDP ports to try before giving up because TCP's
    #: same-numbered port was taken each time.
    BIND_ATTEMPTS = 10

    def __init__(self, zone: Zone, host: str = "127.0.0.1", port: int = 0,
                 resolver: Optional[BaseResolver] = None) -> None:
        self.zone = zone
        self.resolver = resolver or ZoneResolver(zone)
        self.host = host
        self._requested_port = port
        self._servers: List[socketserver.BaseServer] = []
        self._threads: List[threading.Thread] = []

    @property
    def port(self) -> int:
        """The port both transports listen on (only known once started)."""
        if not self._servers:
            raise RuntimeError("DnsServer is not running")
        return self._servers[0].server_address[1]

    @property
    def running(self) -> bool:
        return bool(self._servers)

    def start(self) -> "DnsServer":
        if self._servers:
            raise RuntimeError("DnsServer is already running")
        udp, tcp = self._bind()
        for server in (udp, tcp):
            server.resolver = self.resolver  # type: ignore[attr-defined]  # what DNSHandler reads
            server.logger = _QuietLogger()  # type: ignore[attr-defined]
        self._servers = [udp, tcp]
        for server, name in ((udp, "udp"), (tcp, "tcp")):
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"pytest-acme-dns-{name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def _bind(self) -> Tuple[socketserver.UDPServer, socketserver.TCPServer]:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        udp_cls = type("UDPServer", (_UDPServer,), {"address_family": family})
        tcp_cls = type("TCPServer", (_TCPServer,), {"address_family": family})
        attempts = self.BIND_ATTEMPTS if self._requested_port == 0 else 1
        for attempt in range(attempts):
            udp = udp_cls((self.host, self._requested_port), DNSHandler)
            try:
                tcp = tcp_cls((self.host, udp.server_address[1]), DNSHandler)
            except OSError:
                udp.server_close()
                if attempt == attempts - 1:
                    raise
                continue
            return udp, tcp
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Stop serving and close both sockets; waits for queries in progress."""
        servers, self._servers = self._servers, []
        threads, self._threads = self._threads, []
        for server in servers:
            server.shutdown()
        for server in servers:
            server.server_close()
        for thread in threads:
            thread.join()

    def __enter__(self) -> "DnsServer":
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()
