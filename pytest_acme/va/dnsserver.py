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

UPDATE messages (RFC 2136) go to the server's ``updater``, a
:class:`~pytest_acme.va.dnsupdate.ZoneUpdater` that applies TSIG-signed updates
to the zone; without one they get NOTIMP.  Everything else that is not a query
is answered as pebble-challtestsrv's DNS library answers it: responses are
ignored, other opcodes than QUERY and NOTIFY (IQUERY, STATUS, ...) get NOTIMP,
malformed messages get FORMERR and one line on the ``pytest_acme.dns`` logger.
A UDP answer too large for the client (512 bytes, or its EDNS size) is sent
truncated, with TC set.  A TCP client has :data:`TCP_TIMEOUT` seconds for its
whole query, and :meth:`DnsServer.stop` shuts every connection down at once.

The zone is read afresh for every query, so edits are visible at once.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import struct
import threading
import time
from types import TracebackType
from typing import Any, List, Optional, Set, Tuple, Type, Union

from dnslib import AAAA, CAA, CNAME, QTYPE, RCODE, RR, SOA, TXT, A, DNSError, DNSHeader, DNSRecord
from dnslib.label import DNSBuffer
from dnslib.server import BaseResolver

from .dnsupdate import ZoneUpdater  # light: dnspython loads on the first UPDATE
from .zone import CaaRecord, Zone, ZoneError

#: TTL of every answer; short, since tests change records all the time.
TTL = 1

#: Seconds a TCP connection may take to send its whole query (length and
#: message, however it is split) before it is dropped.
TCP_TIMEOUT = 5.0
#: TCP connections served at once; more are closed as soon as they are accepted.
MAX_TCP_CONNECTIONS = 64

_log = logging.getLogger("pytest_acme.dns")

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


#: Opcodes by number (RFC 1035 §4.1.1, RFC 1996 NOTIFY, RFC 2136 UPDATE); older
#: dnslib releases know only some of them by name.
_QUERY, _NOTIFY, _UPDATE = 0, 4, 5
_OPCODE_NAMES = {0: "QUERY", 1: "IQUERY", 2: "STATUS", 4: "NOTIFY", 5: "UPDATE", 6: "DSO"}

#: The answer to a message that is not a query this server reads: (what the log
#: line says, the RCODE to answer, or None to send nothing).
_Refusal = Tuple[str, Optional[int]]


def _screen(header: DNSHeader) -> Optional[_Refusal]:
    """Why a message with this header is not answered as a query, if it is not.

    As miekg/dns's default acceptance rules (which pebble-challtestsrv runs
    with): a response is never answered (RFC 1035 §4.1.1: QR=1 is a response;
    answering it lets two servers bounce a forged packet between them); an
    opcode other than QUERY and NOTIFY gets NOTIMP (RFC 1035 §4.1.1; RFC 2136
    §2.2 for UPDATE: when the server has no updater); and a message must ask
    one question, with at most one answer, one authority and two additional
    records, or it gets FORMERR.  A NOTIFY (RFC 1996) is answered as its
    question would be, as pebble-challtestsrv answers it.
    """
    if header.qr:
        return "a response, not a query: ignored", None
    if header.opcode not in (_QUERY, _NOTIFY):
        name = _OPCODE_NAMES.get(header.opcode, str(header.opcode))
        return f"opcode {name} is not supported: answered NOTIMP", RCODE.NOTIMP
    if header.q != 1 or header.a > 1 or header.auth > 1 or header.ar > 2:
        return (f"{header.q} questions, {header.a}/{header.auth}/{header.ar} records: "
                "answered FORMERR"), RCODE.FORMERR
    return None


def _refusal(header: DNSHeader, rcode: int) -> bytes:
    """A reply with only a header: the query's id (and opcode, for NOTIMP)."""
    opcode = header.opcode if rcode == RCODE.NOTIMP else _QUERY
    return DNSRecord(DNSHeader(id=header.id, qr=1, opcode=opcode, rcode=rcode)).pack()


def _udp_limit(request: DNSRecord) -> int:
    """The largest UDP reply the client takes: 512 bytes (RFC 1035 §4.2.1), or
    the size its EDNS OPT record offers, if larger (RFC 6891 §6.2.3)."""
    for rr in request.ar:
        if rr.rtype == QTYPE.OPT:
            return max(512, rr.rclass)
    return 512


def answer(packet: bytes, resolver: BaseResolver, peer: str, udp: bool,
           updater: Optional[ZoneUpdater] = None) -> Optional[bytes]:
    """The reply to one DNS message, or None when nothing is to be sent.

    An UPDATE (RFC 2136) is ``updater``'s to answer, when there is one and it
    has keys.

    A UDP reply larger than the client takes is sent with only its question and
    the TC flag, so the client asks again over TCP (RFC 1035 §4.2.1, RFC 7766
    §5).  A message that cannot be read gets FORMERR and one log line; one too
    short to hold a header gets nothing, since a reply could not carry its id.
    """
    try:
        header = DNSHeader.parse(DNSBuffer(packet))
    except (DNSError, struct.error, ValueError, IndexError):
        _log.warning("DNS: %d bytes from %s are not a DNS message: ignored", len(packet), peer)
        return None
    if updater is not None and updater.active and not header.qr and header.opcode == _UPDATE:
        return updater.answer(packet, peer)
    refused = _screen(header)
    if refused is not None:
        why, rcode = refused
        (_log.debug if rcode is None else _log.warning)("DNS: message from %s: %s", peer, why)
        return None if rcode is None else _refusal(header, rcode)
    try:
        request = DNSRecord.parse(packet)
    except (DNSError, struct.error, ValueError, IndexError, UnicodeError) as e:
        _log.warning("DNS: malformed query from %s (%s): answered FORMERR", peer,
                     str(e)[:200] or type(e).__name__)
        return _refusal(header, RCODE.FORMERR)
    reply = resolver.resolve(request, None)
    data = reply.pack()
    limit = _udp_limit(request) if udp else 65535
    if len(data) > limit:
        short = DNSRecord(DNSHeader(id=reply.header.id, bitmap=reply.header.bitmap, tc=1),
                          q=reply.q)
        data = short.pack()
    return data


class _UdpHandler(socketserver.BaseRequestHandler):
    """One datagram, answered in the serving thread: a zone lookup takes
    microseconds, and a thread per datagram would let a flood start thousands."""

    server: _UDPServer

    def handle(self) -> None:
        packet, sock = self.request
        reply = answer(packet, self.server.resolver, _peer(self.client_address), udp=True,
                       updater=self.server.updater)
        if reply is not None:
            try:
                sock.sendto(reply, self.client_address)
            except OSError:
                pass


class _TcpHandler(socketserver.BaseRequestHandler):
    """One query over TCP (RFC 1035 §4.2.2: a two-byte length, then the message),
    read within :data:`TCP_TIMEOUT` in all, then its reply."""

    server: _TCPServer

    def handle(self) -> None:
        server = self.server
        sock: socket.socket = self.request
        if not server.register(sock):
            return
        try:
            deadline = time.monotonic() + TCP_TIMEOUT
            prefix = _read(sock, 2, deadline)
            if prefix is None:
                return
            packet = _read(sock, struct.unpack("!H", prefix)[0], deadline)
            if packet is None:
                return
            reply = answer(packet, server.resolver, _peer(self.client_address), udp=False,
                           updater=server.updater)
            if reply is not None:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                sock.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            pass  # reset, timed out, or shut down by stop()
        finally:
            server.forget(sock)


def _read(sock: socket.socket, size: int, deadline: float) -> Optional[bytes]:
    """Exactly ``size`` bytes, or None if the client closes first or the deadline
    passes (the deadline bounds the whole message, not each read)."""
    data = bytearray()
    while len(data) < size:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            chunk = sock.recv(size - len(data))
        except socket.timeout:
            return None
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _peer(address: Any) -> str:
    return f"{address[0]}:{address[1]}" if address else "?"


class _UDPServer(socketserver.UDPServer):
    server_address: Tuple[Any, ...]  # (host, port) or, for IPv6, (host, port, flow, scope)
    resolver: BaseResolver
    updater: Optional[ZoneUpdater]


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """A thread per connection, at most :data:`MAX_TCP_CONNECTIONS` at once (more
    are closed when accepted); :meth:`close_connections` shuts them all down."""

    # Handler threads are not daemons, so server_close() joins them: stop()
    # returns with no thread of ours left running.
    daemon_threads = False
    block_on_close = True
    # The server closes each connection first, leaving it in TIME_WAIT; without
    # SO_REUSEADDR a restart on the same port would fail for a minute.  (On
    # Linux this still refuses a port another socket is listening on.)
    allow_reuse_address = True
    # socketserver's default backlog of 5 makes the sixth client that connects
    # at once wait for a SYN retry (a second or more).
    request_queue_size = 128
    resolver: BaseResolver
    updater: Optional[ZoneUpdater]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._lock = threading.Lock()
        self._open: Set[socket.socket] = set()
        self._starting = 0  # accepted, thread not registered yet
        self._closing = False
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            full = self._closing or len(self._open) + self._starting >= MAX_TCP_CONNECTIONS
            if not full:
                self._starting += 1
        if full:
            request.close()
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            with self._lock:
                self._starting -= 1
            request.close()
            raise

    def register(self, sock: socket.socket) -> bool:
        with self._lock:
            self._starting -= 1
            if self._closing:
                return False
            self._open.add(sock)
            return True

    def forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)

    def close_connections(self) -> None:
        """Shut every open connection down now, so its thread ends at once."""
        with self._lock:
            self._closing = True
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class DnsServer:
    """Serve ``zone`` over UDP and TCP on ``host``:``port``.

    Args:
        zone: the records to serve (read on every query).
        host: an IPv4 or IPv6 literal to listen on.
        port: the port for both transports; 0 lets the OS choose (see :attr:`port`).
        resolver: what turns a query into an answer; by default a
            :class:`ZoneResolver` of ``zone``.
        updater: what applies DNS UPDATEs (RFC 2136) to the zone; without one
            (or while it has no keys) they get NOTIMP, as pebble-challtestsrv answers.
    """

    #: How many OS-chosen UDP ports to try before giving up because TCP's
    #: same-numbered port was taken each time.
    BIND_ATTEMPTS = 10

    def __init__(self, zone: Zone, host: str = "127.0.0.1", port: int = 0,
                 resolver: Optional[BaseResolver] = None,
                 updater: Optional[ZoneUpdater] = None) -> None:
        self.zone = zone
        self.resolver = resolver or ZoneResolver(zone)
        self.updater = updater
        self.host = host
        self._requested_port = port
        self._servers: List[Union[_UDPServer, _TCPServer]] = []
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
        udp.resolver = tcp.resolver = self.resolver
        udp.updater = tcp.updater = self.updater
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

    def _bind(self) -> Tuple[_UDPServer, _TCPServer]:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        udp_cls = type("UDPServer", (_UDPServer,), {"address_family": family})
        tcp_cls = type("TCPServer", (_TCPServer,), {"address_family": family})
        attempts = self.BIND_ATTEMPTS if self._requested_port == 0 else 1
        for attempt in range(attempts):
            udp = udp_cls((self.host, self._requested_port), _UdpHandler)
            try:
                tcp = tcp_cls((self.host, udp.server_address[1]), _TcpHandler)
            except OSError:
                udp.server_close()
                if attempt == attempts - 1:
                    raise
                continue
            return udp, tcp
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Stop serving and close both sockets.  Open TCP connections are shut down
        at once, not waited for, so stopping takes milliseconds whatever clients do."""
        servers, self._servers = self._servers, []
        threads, self._threads = self._threads, []
        for server in servers:
            server.shutdown()
        for server in servers:
            if isinstance(server, _TCPServer):
                server.close_connections()
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
