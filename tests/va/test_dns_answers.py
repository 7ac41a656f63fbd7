"""Answers only a real DNS server gives, read as Let's Encrypt reads them: a
SERVFAIL for one address type beside a good answer for the other, and a TXT
record of several strings.  A small dnslib server on loopback (port 0) gives
them; the server under test asks it (``dns_server=``) over UDP."""

from __future__ import annotations

import threading
from typing import Any, Dict, Iterator, List

import pytest
from dnslib import QTYPE, RCODE, RR, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSServer

from helpers import validate
from jws_client import PROBLEM
from pytest_acme import dns01_txt


class Scripted(BaseResolver):
    """Answers from ``answers[(name, type)]``: a list of RRs, or an RCODE int."""

    def __init__(self) -> None:
        self.answers: Dict[Any, Any] = {}

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply()
        q = request.q
        answer = self.answers.get((str(q.qname).rstrip(".").lower(), QTYPE[q.qtype]), [])
        if isinstance(answer, int):
            reply.header.rcode = answer
        else:
            for rr in answer:
                reply.add_answer(rr)
        return reply


class _Quiet:
    """A dnslib logger that logs nothing."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args: None


@pytest.fixture
def scripted_dns(acme_server) -> Iterator[Scripted]:
    resolver = Scripted()
    server = DNSServer(resolver, address="127.0.0.1", port=0, logger=_Quiet())
    thread = threading.Thread(target=server.server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    port = server.server.server_address[1]
    acme_server.reconfigure(dns_server=f"127.0.0.1:{port}")
    try:
        yield resolver
    finally:
        server.server.shutdown()
        server.server.server_close()
        thread.join(5)


def answer(acme_server, name: str, typ: str, publish) -> Dict[str, Any]:
    return validate(acme_server, name, typ, lambda token, ka: publish(ka, token))


def test_a_servfail_for_aaaa_beside_a_good_a_record_is_not_fatal(acme_server, scripted_dns,
                                                                 acme_http01_responder):
    scripted_dns.answers[("s.example.test", "AAAA")] = RCODE.SERVFAIL
    scripted_dns.answers[("s.example.test", "A")] = [
        RR("s.example.test", QTYPE.A, rdata=A("127.0.0.1"), ttl=60)]
    chall = answer(acme_server, "s.example.test", "http-01",
                   lambda ka, token: acme_http01_responder.publish(token, ka))
    assert chall["status"] == "valid", chall
    assert chall["validationRecord"][0]["addressesResolved"] == ["127.0.0.1"]


def test_both_lookups_failing_is_a_dns_problem(acme_server, scripted_dns, acme_http01_responder):
    scripted_dns.answers[("s.example.test", "AAAA")] = RCODE.SERVFAIL
    scripted_dns.answers[("s.example.test", "A")] = RCODE.SERVFAIL
    chall = answer(acme_server, "s.example.test", "http-01",
                   lambda ka, token: acme_http01_responder.publish(token, ka))
    assert chall["status"] == "invalid", chall
    assert chall["error"]["type"] == PROBLEM + "dns"
    assert "SERVFAIL looking up AAAA" in chall["error"]["detail"]
    assert "SERVFAIL looking up A for" in chall["error"]["detail"]


def _txt(name: str, *strings: str) -> List[RR]:
    return [RR(name, QTYPE.TXT, rdata=TXT([s.encode() for s in strings]), ttl=60)]


def test_a_txt_record_of_several_strings_is_read_as_their_concatenation(acme_server,
                                                                         scripted_dns):
    def publish(ka: str, token: str) -> None:
        value = dns01_txt(ka)
        scripted_dns.answers[("_acme-challenge.m.example.test", "TXT")] = _txt(
            "_acme-challenge.m.example.test", value[:20], value[20:])

    assert answer(acme_server, "m.example.test", "dns-01", publish)["status"] == "valid"


@pytest.mark.parametrize("change", ["padded", "upper"])
def test_a_txt_value_is_compared_exactly(acme_server, scripted_dns, change):
    def publish(ka: str, token: str) -> None:
        value = dns01_txt(ka)
        value = value + "=" if change == "padded" else value.upper()
        scripted_dns.answers[("_acme-challenge.m.example.test", "TXT")] = _txt(
            "_acme-challenge.m.example.test", value)

    chall = answer(acme_server, "m.example.test", "dns-01", publish)
    assert chall["status"] == "invalid", chall
    assert chall["error"]["type"] == PROBLEM + "unauthorized"
    assert "incorrect TXT record" in chall["error"]["detail"]


def test_nxdomain_for_the_txt_name_is_a_dns_problem(acme_server, scripted_dns):
    def publish(ka: str, token: str) -> None:
        scripted_dns.answers[("_acme-challenge.m.example.test", "TXT")] = RCODE.NXDOMAIN

    chall = answer(acme_server, "m.example.test", "dns-01", publish)
    assert chall["error"]["type"] == PROBLEM + "dns"  # Boulder: any rcode but NOERROR
    assert "NXDOMAIN" in chall["error"]["detail"]
