"""The validator reaches loopback and nothing else unless ``validation_allow``
says so: not through redirects, DNS answers (A, AAAA, CNAME chains), special
addresses (0.0.0.0, link-local, IPv4-mapped IPv6), tls-alpn-01, nor an
external ``dns_server``.

Every test runs under :func:`no_packets_off_loopback`, which wraps the socket
calls that send (``connect``, ``connect_ex``, ``sendto``): an attempt to reach
a non-loopback address is recorded and blocked, so a broken guard fails the
test without a packet ever leaving the machine.  The guard must refuse
*before* connecting, so the record must stay empty.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any, Dict, List

import pytest

from helpers import validate
from jws_client import PROBLEM
from pytest_acme import AcmeConfig
from pytest_acme.protocol import problems
from pytest_acme.va.resolver import DnsResolver


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths never leave the machine
    try:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
    except ValueError:
        return False  # a host name: it would need a resolver first
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


@pytest.fixture(autouse=True)
def no_packets_off_loopback(monkeypatch):
    """Record (and block) every attempt to send to a non-loopback address."""
    attempts: List[Any] = []

    def guarded(name):
        original = getattr(socket.socket, name)

        def call(self, *args):
            address = args[-1]
            if not _is_loopback(address):
                attempts.append((name, address))
                raise ConnectionRefusedError(f"test blocked {name} to {address!r}")
            return original(self, *args)
        return call

    for name in ("connect", "connect_ex", "sendto"):
        monkeypatch.setattr(socket.socket, name, guarded(name))
    yield attempts


@pytest.fixture(autouse=True)
def _nothing_left_the_machine(no_packets_off_loopback, request):
    yield
    if request.node.name != "test_validation_allow_lets_the_validator_try":
        assert no_packets_off_loopback == [], "the guard let a connection attempt through"


def refused(chall: Dict[str, Any], address: str) -> None:
    assert chall["status"] == "invalid", chall
    assert chall["error"]["type"] == PROBLEM + "connection", chall["error"]
    # As the running Python spells the address (3.13 writes IPv4-mapped IPv6 dotted).
    assert f"refusing to connect to {ipaddress.ip_address(address)}" in chall["error"]["detail"]


OUTSIDE_REDIRECTS = [
    ("http://192.0.2.10/.well-known/acme-challenge/x", "192.0.2.10"),
    ("https://192.0.2.10/.well-known/acme-challenge/x", "192.0.2.10"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ("http://0.0.0.0/.well-known/acme-challenge/x", "0.0.0.0"),
    ("http://[2001:db8::1]/.well-known/acme-challenge/x", "2001:db8::1"),
    ("http://[fe80::1]/.well-known/acme-challenge/x", "fe80::1"),
    ("http://[::ffff:192.0.2.1]/.well-known/acme-challenge/x", "::ffff:c000:201"),
    ("http://[::]/.well-known/acme-challenge/x", "::"),
]


@pytest.mark.parametrize("location,address", OUTSIDE_REDIRECTS,
                         ids=[a for _, a in OUTSIDE_REDIRECTS])
def test_a_redirect_outside_is_refused(acme_server, acme_http01_responder, location, address):
    chall = validate(acme_server, "h.example.test", prepare=lambda token, ka:
                     acme_http01_responder.redirect(token, location))
    refused(chall, address)
    assert len(chall["validationRecord"]) == 2  # the first hop was loopback, and made


def test_a_redirect_to_a_name_that_resolves_outside(acme_server, acme_http01_responder,
                                                     acme_dns):
    acme_dns.add_a("evil.example.test", "203.0.113.9")
    chall = validate(acme_server, "h.example.test", prepare=lambda token, ka:
                     acme_http01_responder.redirect(token, "http://evil.example.test/x"))
    refused(chall, "203.0.113.9")


DNS_ANSWERS = [
    ("A", "198.51.100.7"),
    ("A", "0.0.0.0"),
    ("A", "169.254.1.1"),
    ("A", "10.0.0.1"),
    ("AAAA", "2001:db8::7"),
    ("AAAA", "fe80::7"),
    ("AAAA", "::ffff:198.51.100.7"),
]


@pytest.mark.parametrize("rtype,address", DNS_ANSWERS, ids=[a for _, a in DNS_ANSWERS])
def test_dns_answers_pointing_outside_are_refused(acme_server, acme_http01_responder, acme_dns,
                                                  rtype, address):
    if rtype == "A":
        acme_dns.add_a("h.example.test", address)
    else:
        acme_dns.add_aaaa("h.example.test", address)
        acme_dns.add_a("h.example.test", "192.0.2.99")  # the A is outside too
    chall = validate(acme_server, "h.example.test", prepare=acme_http01_responder.publish)
    assert chall["status"] == "invalid" and chall["error"]["type"] == PROBLEM + "connection"
    assert "refusing to connect to" in chall["error"]["detail"]
    assert str(ipaddress.ip_address(address)) in chall["validationRecord"][0][
        "addressesResolved"]


def test_an_outside_aaaa_is_skipped_for_a_loopback_a(acme_server, acme_http01_responder,
                                                    acme_dns):
    """Only allowed addresses are tried: the loopback A answers, the outside AAAA
    is never contacted."""
    acme_dns.add_aaaa("h.example.test", "2001:db8::7")
    acme_dns.add_a("h.example.test", "127.0.0.1")
    chall = validate(acme_server, "h.example.test", prepare=acme_http01_responder.publish)
    assert chall["status"] == "valid", chall
    assert chall["validationRecord"][0]["addressUsed"] == "127.0.0.1"


def test_a_cname_chain_ending_outside_is_refused(acme_server, acme_http01_responder, acme_dns):
    acme_dns.set_cname("h.example.test", "one.example.test")
    acme_dns.set_cname("one.example.test", "two.example.test")
    acme_dns.add_a("two.example.test", "198.51.100.20")
    chall = validate(acme_server, "h.example.test", prepare=acme_http01_responder.publish)
    refused(chall, "198.51.100.20")


def test_tls_alpn_01_to_a_name_outside_is_refused(acme_server, acme_dns):
    acme_dns.add_a("t.example.test", "198.51.100.30")
    refused(validate(acme_server, "t.example.test", "tls-alpn-01"), "198.51.100.30")


@pytest.mark.parametrize("ip", ["192.0.2.1", "2001:db8::1"])
@pytest.mark.parametrize("typ", ["http-01", "tls-alpn-01"])
def test_ip_identifiers_outside_are_refused(acme_server, ip, typ):
    refused(validate(acme_server, ip, typ), str(ipaddress.ip_address(ip)))


@pytest.mark.acme(validation_allow=("198.51.100.0/24",))
def test_validation_allow_lets_the_validator_try(acme_server, acme_http01_responder, acme_dns,
                                                no_packets_off_loopback):
    """The other side of the guard: an allowed network is tried (this test's
    socket wrapper blocks the attempt, so nothing leaves even now)."""
    acme_dns.add_a("h.example.test", "198.51.100.7")
    chall = validate(acme_server, "h.example.test", prepare=acme_http01_responder.publish)
    assert chall["error"]["type"] == PROBLEM + "connection"
    assert "refusing" not in chall["error"]["detail"]
    assert [a[1][0] for a in no_packets_off_loopback] == ["198.51.100.7"]


def test_ipv4_mapped_addresses_are_judged_as_their_ipv4_address():
    from pytest_acme.va.guard import check_address

    check_address("::ffff:127.0.0.1", (), "a test")
    check_address("::ffff:192.0.2.1", ("192.0.2.0/24",), "a test")
    with pytest.raises(problems.Problem, match="refusing to connect to ::ffff:8.8.8.8"):
        check_address("::ffff:8.8.8.8", (), "a test")


# -- an external DNS server ---------------------------------------------------------


@pytest.mark.parametrize("address", ["192.0.2.53:53", "[2001:db8::53]:53", "0.0.0.0:53",
                                     "169.254.0.53:53"])
def test_an_outside_dns_server_is_refused_by_the_config(address):
    with pytest.raises(ValueError, match="validation_allow"):
        AcmeConfig(dns_server=address)
    allowed = AcmeConfig(dns_server=address,
                         validation_allow=(address.rpartition(":")[0].strip("[]"),))
    assert allowed.dns_server == address


def test_a_dns_server_by_host_name_is_refused():
    with pytest.raises(ValueError, match="IP address"):
        AcmeConfig(dns_server="dns.example:53")
    assert AcmeConfig(dns_server="localhost:8053").dns_server == "localhost:8053"


def test_the_resolver_refuses_an_outside_server_before_sending():
    resolver = DnsResolver("192.0.2.53:53", timeout=0.5)
    with pytest.raises(problems.Problem) as info:
        resolver.lookup("h.example.test", "A")
    assert info.value.type == "connection"
    assert "refusing to connect to 192.0.2.53" in info.value.detail


def test_reconfigure_cannot_point_dns_outside(acme_server):
    with pytest.raises(ValueError, match="not a loopback address"):
        acme_server.reconfigure(dns_server="192.0.2.53:53")
