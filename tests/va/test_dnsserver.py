"""The DNS server, queried with dnspython over UDP and TCP."""

import socket
import threading

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from dns_fixtures import fixture_server, fixture_zone  # noqa: F401 - fixtures
from pytest_acme.va.dnsserver import DnsServer
from pytest_acme.va.zone import Zone

TIMEOUT = 5.0


@pytest.fixture(params=["udp", "tcp"])
def ask(request, server):
    """ask(name, type) -> the response message, over one transport."""
    send = dns.query.udp if request.param == "udp" else dns.query.tcp

    def ask(name, rdtype):
        query = dns.message.make_query(name, rdtype)
        return send(query, "127.0.0.1", port=server.port, timeout=TIMEOUT)

    return ask


def records(response, rdtype):
    """The answer section's rdata texts of one type, in order."""
    return [rd.to_text() for rrset in response.answer if rrset.rdtype == rdtype for rd in rrset]


def test_default_a(ask):
    response = ask("anything.example.", "A")
    assert response.rcode() == dns.rcode.NOERROR
    assert records(response, dns.rdatatype.A) == ["127.0.0.1"]
    assert response.answer[0].name.to_text() == "anything.example."


def test_explicit_a_and_edits_visible_at_once(ask, zone):
    zone.add_a("web.example", "10.0.0.7")
    assert records(ask("web.example.", "A"), dns.rdatatype.A) == ["10.0.0.7"]
    zone.clear_a("web.example")
    zone.set_default_ipv4("10.9.9.9")
    assert records(ask("WEB.example.", "A"), dns.rdatatype.A) == ["10.9.9.9"]


def test_aaaa(ask, zone):
    response = ask("web.example.", "AAAA")
    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer == []
    zone.add_aaaa("web.example", "2001:db8::1")
    assert records(ask("web.example.", "AAAA"), dns.rdatatype.AAAA) == ["2001:db8::1"]
    zone.set_default_ipv6("::1")
    assert records(ask("other.example.", "AAAA"), dns.rdatatype.AAAA) == ["::1"]


def test_txt_several_values(ask, zone):
    zone.set_txt("_acme-challenge.example.com", "first value")
    zone.set_txt("_acme-challenge.example.com", "second")
    response = ask("_acme-challenge.example.com.", "TXT")
    values = [b"".join(rd.strings) for rrset in response.answer for rd in rrset]
    assert sorted(values) == [b"first value", b"second"]


def test_cname_followed(ask, zone):
    zone.set_cname("www.example", "web.example")
    zone.add_a("web.example", "10.0.0.7")
    response = ask("www.example.", "A")
    assert records(response, dns.rdatatype.CNAME) == ["web.example."]
    a = [rrset for rrset in response.answer if rrset.rdtype == dns.rdatatype.A]
    assert a[0].name.to_text() == "web.example."
    assert records(response, dns.rdatatype.A) == ["10.0.0.7"]


def test_cname_query_is_not_followed(ask, zone):
    zone.set_cname("www.example", "web.example")
    response = ask("www.example.", "CNAME")
    assert records(response, dns.rdatatype.CNAME) == ["web.example."]
    assert records(response, dns.rdatatype.A) == []
    assert ask("web.example.", "CNAME").answer == []


def test_caa(ask, zone):
    zone.add_caa("example.com", 0, "issue", "pytest-acme.test")
    zone.add_caa("example.com", 128, "iodef", "mailto:ca@example.com")
    response = ask("example.com.", "CAA")
    got = sorted((rd.flags, rd.tag, rd.value) for rrset in response.answer for rd in rrset)
    assert got == [(0, b"issue", b"pytest-acme.test"), (128, b"iodef", b"mailto:ca@example.com")]


def test_servfail(ask, zone):
    zone.set_servfail("broken.example")
    assert ask("broken.example.", "A").rcode() == dns.rcode.SERVFAIL
    assert ask("broken.example.", "TXT").rcode() == dns.rcode.SERVFAIL
    zone.clear_servfail("broken.example")
    assert ask("broken.example.", "A").rcode() == dns.rcode.NOERROR


def test_cname_loop_is_servfail(ask, zone):
    zone.set_cname("a.example", "b.example")
    zone.set_cname("b.example", "a.example")
    assert ask("a.example.", "A").rcode() == dns.rcode.SERVFAIL


def test_unknown_type_is_noerror_and_empty(ask):
    response = ask("web.example.", "MX")
    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer == []


def test_port_before_start_is_an_error(zone):
    with pytest.raises(RuntimeError):
        DnsServer(zone).port


def test_udp_and_tcp_share_the_port_and_stop_closes_both(zone):
    before = set(threading.enumerate())
    server = DnsServer(zone).start()
    port = server.port
    assert port != 0
    query = dns.message.make_query("x.example.", "A")
    dns.query.udp(query, "127.0.0.1", port=port, timeout=TIMEOUT)
    dns.query.tcp(query, "127.0.0.1", port=port, timeout=TIMEOUT)
    server.stop()
    assert not server.running
    assert set(threading.enumerate()) <= before
    # Both sockets are closed: the port can be bound again for UDP and TCP
    # (SO_REUSEADDR for TCP only because the closed connection is in TIME_WAIT).
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))


def test_restart_after_stop(zone):
    server = DnsServer(zone)
    with server:
        port = server.port
        dns.query.tcp(dns.message.make_query("x.example.", "A"), "127.0.0.1", port=port, timeout=TIMEOUT)
    with server:
        response = dns.query.udp(
            dns.message.make_query("x.example.", "A"), "127.0.0.1", port=server.port, timeout=TIMEOUT
        )
        assert response.rcode() == dns.rcode.NOERROR


def test_fixed_port_can_be_reused_after_stop(zone):
    with DnsServer(zone) as first:
        port = first.port
        dns.query.tcp(dns.message.make_query("x.example.", "A"), "127.0.0.1", port=port, timeout=TIMEOUT)
    with DnsServer(zone, port=port) as second:
        assert second.port == port
        response = dns.query.tcp(dns.message.make_query("x.example.", "A"), "127.0.0.1", port=port, timeout=TIMEOUT)
        assert records(response, dns.rdatatype.A) == ["127.0.0.1"]


def test_port_in_use_is_an_error(zone):
    with DnsServer(zone) as first:
        with pytest.raises(OSError):
            DnsServer(zone, port=first.port).start()


def test_soa_for_any_name_and_in_the_authority_of_empty_answers():
    """Every name is its own apex (lego's propagation check looks for the SOA)."""
    with DnsServer(Zone()) as server:
        reply = dns.query.udp(dns.message.make_query("_acme-challenge.a.example.test", "SOA"),
                              "127.0.0.1", port=server.port, timeout=5)
        assert reply.answer[0].rdtype == dns.rdatatype.SOA
        empty = dns.query.udp(dns.message.make_query("a.example.test", "TXT"), "127.0.0.1",
                              port=server.port, timeout=5)
        assert not empty.answer and empty.authority[0].rdtype == dns.rdatatype.SOA


def test_a_query_for_the_root_is_refused_not_dropped():
    with DnsServer(Zone()) as server:
        reply = dns.query.udp(dns.message.make_query(".", "SOA"), "127.0.0.1",
                              port=server.port, timeout=5)
        assert reply.rcode() == dns.rcode.REFUSED
