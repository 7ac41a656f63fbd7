"""Hostile DNS messages against the built-in DNS server: what is not a query is
answered as pebble-challtestsrv's DNS library (miekg/dns) answers it, answers fit
the transport, and no client holds a thread or stop() for long.  Real sockets on
loopback; every wait is a socket timeout or an event, never a sleep."""

from __future__ import annotations

import logging
import socket
import struct
import time

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import pytest
from dnslib import QTYPE, DNSHeader, DNSQuestion, DNSRecord
from dnslib.label import DNSBuffer

from dns_fixtures import fixture_server, fixture_zone  # noqa: F401 - fixtures
from pytest_acme.va import dnsserver
from pytest_acme.va.dnsserver import DnsServer

WAIT = 5.0
NOTIFY = 4  # RFC 1996


@pytest.fixture
def udp(server):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(WAIT)
    sock.connect(("127.0.0.1", server.port))
    yield sock
    sock.close()


def query(name="probe.test", qtype="A", id_=4242):
    record = DNSRecord(DNSHeader(id=id_, rd=1), q=DNSQuestion(name, getattr(QTYPE, qtype)))
    return record.pack()


def header(**fields):
    """A DNS header's 12 bytes, packed by dnslib."""
    buffer = DNSBuffer()
    DNSHeader(**fields).pack(buffer)
    return bytes(buffer.data)


def next_reply(sock):
    """The next datagram, parsed."""
    return DNSRecord.parse(sock.recv(65535))


def nothing_sent_for(sock, packet):
    """Send ``packet``, then a normal query: the server answers datagrams in
    order, so the first reply that arrives shows whether ``packet`` got one."""
    sock.send(packet)
    sock.send(query(id_=7777))
    return next_reply(sock).header.id == 7777


def test_a_response_is_never_answered(udp):
    response = DNSRecord.parse(query(id_=1111)).reply()
    assert nothing_sent_for(udp, response.pack())


def test_a_spoofed_response_loop_ends_at_once(server, udp):
    # A response whose source is the server itself would be answered by the
    # server, and that answer again: the server must drop it.
    response = DNSRecord.parse(query(id_=2222)).reply()
    response.add_answer(*DNSRecord.parse(query()).reply().rr)
    assert nothing_sent_for(udp, response.pack())


@pytest.mark.parametrize("size", [0, 1, 11])
def test_a_datagram_shorter_than_a_header_is_dropped(udp, size, caplog):
    with caplog.at_level(logging.WARNING, logger="pytest_acme.dns"):
        assert nothing_sent_for(udp, b"\x12" * size)
    lines = [r.getMessage() for r in caplog.records if r.name == "pytest_acme.dns"]
    assert len(lines) == 1 and "not a DNS message" in lines[0]


@pytest.mark.parametrize("tail", [b"\x07example", b"\x03abc\x00\x00", b"\xc0\x0c\x00\x01\x00\x01",
                                  b"\xff" * 40])
def test_a_malformed_query_gets_formerr_and_one_log_line(udp, tail, caplog):
    with caplog.at_level(logging.WARNING, logger="pytest_acme.dns"):
        udp.send(header(id=3333, q=1) + tail)
        reply = next_reply(udp)
        assert (reply.header.id, reply.header.qr, reply.header.rcode) == (3333, 1, 1)
        # The log line is written before the reply is sent.
        lines = [r for r in caplog.records if r.name == "pytest_acme.dns"]
    assert len(lines) == 1 and "FORMERR" in lines[0].getMessage()
    assert "\n" not in lines[0].getMessage()


@pytest.mark.parametrize("counts", [(0, 0, 0, 0), (2, 0, 0, 0), (1, 2, 0, 0),
                                    (1, 0, 2, 0), (1, 0, 0, 3)])
def test_section_counts_a_query_cannot_have_get_formerr(udp, counts):
    q, a, auth, ar = counts
    udp.send(header(id=3434, q=q, a=a, auth=auth, ar=ar) + b"\x00" * 64)
    reply = next_reply(udp)
    assert (reply.header.id, reply.header.rcode) == (3434, 1)


# Opcodes by number (older dnslib releases name only some): IQUERY, STATUS,
# unassigned, UPDATE, DSO, unassigned.
@pytest.mark.parametrize("opcode", [1, 2, 3, 5, 6, 15])
def test_an_opcode_other_than_query_gets_notimp(udp, zone, opcode):
    message = DNSRecord.parse(query("_acme-challenge.up.test", "TXT", id_=5555))
    message.header.opcode = opcode
    udp.send(message.pack())
    reply = next_reply(udp)
    assert (reply.header.id, reply.header.rcode, reply.header.opcode) == (5555, 4, opcode)
    assert reply.rr == []


def test_a_notify_is_answered_as_its_question_as_pebble_challtestsrv_does(udp, zone):
    zone.set_txt("_acme-challenge.n.test", "digest")
    message = DNSRecord.parse(query("_acme-challenge.n.test", "TXT", id_=5656))
    message.header.opcode = NOTIFY
    udp.send(message.pack())
    reply = next_reply(udp)
    assert (reply.header.id, reply.header.rcode, reply.header.opcode) == (
        5656, 0, NOTIFY)
    assert [str(rr.rdata) for rr in reply.rr] == ['"digest"']


def test_dnspython_update_gets_notimp(server, zone):
    import dns.update

    update = dns.update.Update("up.test.")
    update.add("_acme-challenge", 60, "TXT", '"digest"')
    response = dns.query.udp(update, "127.0.0.1", port=server.port, timeout=WAIT)
    assert response.rcode() == dns.rcode.NOTIMP
    assert list(zone.lookup("_acme-challenge.up.test", "TXT").records) == []


@pytest.fixture
def crowded(zone):
    for i in range(1000):
        zone.add_a("crowded.test", f"10.{i // 250}.{i % 250}.1")
    return "crowded.test."


def test_a_udp_answer_over_512_bytes_is_truncated(server, crowded, udp):
    q = dns.message.make_query(crowded, "A", use_edns=False)
    udp.send(q.to_wire())
    data = udp.recv(65535)
    assert len(data) <= 512
    short = DNSRecord.parse(data)
    assert short.header.tc == 1 and short.header.id == q.id
    assert str(short.q.qname) == crowded  # the client can match it, and ask over TCP
    # Over TCP the whole answer comes.
    whole = dns.query.tcp(q, "127.0.0.1", port=server.port, timeout=WAIT)
    assert not whole.flags & dns.flags.TC
    assert sum(len(rrset) for rrset in whole.answer) == 1000


def test_a_udp_answer_fits_the_edns_size_offered(server, crowded, udp):
    q = dns.message.make_query(crowded, "A", use_edns=0, payload=4096)
    udp.send(q.to_wire())
    data = udp.recv(65535)
    assert len(data) <= 4096
    assert DNSRecord.parse(data).header.tc == 1


def test_udp_with_fallback_gets_the_whole_answer(server, crowded):
    if not hasattr(dns.query, "udp_with_fallback"):
        pytest.skip("dnspython before 2.1 has no udp_with_fallback")
    q = dns.message.make_query(crowded, "A")
    response, used_tcp = dns.query.udp_with_fallback(q, "127.0.0.1", port=server.port,
                                                     timeout=WAIT)
    assert used_tcp and sum(len(rrset) for rrset in response.answer) == 1000


def test_a_small_answer_is_not_truncated(server, zone, udp):
    zone.add_a("small.test", "10.0.0.1")
    udp.send(query("small.test", id_=6060))
    reply = next_reply(udp)
    assert reply.header.tc == 0 and [str(rr.rdata) for rr in reply.rr] == ["10.0.0.1"]


def test_tcp_query_dripped_byte_by_byte_is_cut_off_at_the_deadline(server, monkeypatch):
    """The deadline covers the whole message, not each read."""
    monkeypatch.setattr(dnsserver, "TCP_TIMEOUT", 0.5)
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    try:
        message = query()
        sock.sendall(struct.pack("!H", len(message)))
        sock.settimeout(0.1)
        started = time.monotonic()
        closed = False
        for byte in message:
            try:
                closed = sock.recv(1) == b""  # doubles as the pause between bytes
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed = True
            if closed:
                break
            sock.sendall(bytes([byte]))
        if not closed:  # every byte sent in time would be answered: not this test
            sock.settimeout(WAIT)
            closed = sock.recv(65535) == b""
        assert closed and time.monotonic() - started < 3.0
    finally:
        sock.close()


def test_stop_ends_at_once_with_tcp_clients_holding_connections(zone):
    server = DnsServer(zone).start()
    clients = []
    try:
        for _ in range(30):
            c = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
            c.sendall(b"\x00\x40\x00")  # a 64-byte message begun, never finished
            clients.append(c)
        # Every connection has its thread: a normal TCP query is still answered.
        probe = dns.query.tcp(dns.message.make_query("x.test.", "A"), "127.0.0.1",
                              port=server.port, timeout=WAIT)
        assert probe.rcode() == dns.rcode.NOERROR
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.0
        for c in clients:
            c.settimeout(WAIT)
            try:
                assert c.recv(1) == b""
            except ConnectionResetError:
                pass
    finally:
        for c in clients:
            c.close()
        server.stop()


def test_tcp_connections_past_the_cap_are_closed_at_once(server, monkeypatch):
    monkeypatch.setattr(dnsserver, "MAX_TCP_CONNECTIONS", 3)
    held = [socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
            for _ in range(3)]
    try:
        for h in held:
            h.sendall(b"\x00")  # begun, not finished
        extra = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        with extra:
            try:
                assert extra.recv(1) == b""
            except ConnectionResetError:
                pass
    finally:
        for h in held:
            h.close()
