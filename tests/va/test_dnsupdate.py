"""DNS UPDATE (RFC 2136) with TSIG (RFC 8945), sent over the wire with dnspython
to a DnsServer whose updater edits a Zone.  dnspython checks the signature of
every signed answer it reads, so a passing exchange also proves the answer was
signed with the request's key."""

from __future__ import annotations

import base64
import random
import socket
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest
from dnslib import DNSHeader
from dnslib.label import DNSBuffer

from dns_fixtures import fixture_zone  # noqa: F401 - fixtures
from pytest_acme.config import TsigKey
from pytest_acme.va.dnsserver import DnsServer
from pytest_acme.va.dnsupdate import ZoneUpdater
from pytest_acme.va.zone import CaaRecord

WAIT = 5.0
SECRET = base64.b64encode(bytes(range(32))).decode()
KEY = TsigKey("acme-update", "hmac-sha256", SECRET)
ZONE = "example.test."


@pytest.fixture
def events():
    return []


@pytest.fixture
def server(zone, events):
    updater = ZoneUpdater(zone, [KEY], listener=lambda reason, message: events.append(
        (reason, message)))
    with DnsServer(zone, updater=updater) as dns_server:
        yield dns_server


def keyring(key: TsigKey = KEY):
    return dns.tsigkeyring.from_text({key.name: key.secret})


def update(key: TsigKey = KEY, zone_name: str = ZONE, algorithm: str = "hmac-sha256"):
    """A new UPDATE for ``zone_name``, signed with ``key`` (None: unsigned)."""
    if key is None:
        return dns.update.UpdateMessage(zone_name)
    return dns.update.UpdateMessage(zone_name, keyring=keyring(key), keyname=key.name,
                                    keyalgorithm=algorithm)


@pytest.fixture(params=["udp", "tcp"])
def send(request, server):
    """send(update) -> the answer, read (and its TSIG checked) by dnspython."""
    transport = dns.query.udp if request.param == "udp" else dns.query.tcp

    def send(message):
        return transport(message, "127.0.0.1", port=server.port, timeout=WAIT)

    return send


def raw_exchange(server, wire: bytes) -> bytes:
    """Send bytes over UDP and return the answer's bytes, unread."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(WAIT)
        sock.sendto(wire, ("127.0.0.1", server.port))
        return sock.recv(65535)


def rcode_of(wire: bytes) -> int:
    return DNSHeader.parse(DNSBuffer(wire)).rcode


def ask(server, name, rdtype):
    query = dns.message.make_query(name, rdtype)
    return dns.query.udp(query, "127.0.0.1", port=server.port, timeout=WAIT)


# -- adding and deleting each record type ----------------------------------------------

RECORDS = [
    ("TXT", '"digest-43-characters-long-aaaaaaaaaaaaaaaaa"',
     "digest-43-characters-long-aaaaaaaaaaaaaaaaa"),
    ("A", "10.0.0.7", "10.0.0.7"),
    ("AAAA", "2001:db8::7", "2001:db8::7"),
    ("CNAME", "target.example.test.", "target.example.test"),
    ("CAA", '0 issue "pytest-acme.test"', CaaRecord(0, "issue", "pytest-acme.test")),
]


@pytest.mark.parametrize("rtype,text,stored", RECORDS, ids=[r[0] for r in RECORDS])
def test_each_type_is_added_served_and_deleted(send, server, zone, events, rtype, text, stored):
    name = "rec.example.test"
    add = update()
    add.add(name + ".", 60, rtype, text)
    response = send(add)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.had_tsig  # and dnspython verified its MAC with the key
    assert zone.rrset(name, rtype) == [stored]
    served = ask(server, name + ".", rtype)
    assert [rd.to_text() for rrset in served.answer if rrset.rdtype == dns.rdatatype.from_text(
        rtype) for rd in rrset] == [text]
    assert events == [("DnsUpdate", f"DNS UPDATE by key acme-update: add {rtype} {name}")]

    delete = update()
    delete.delete(name + ".", rtype, text)
    assert send(delete).rcode() == dns.rcode.NOERROR
    assert zone.rrset(name, rtype) == []
    assert events[-1] == ("DnsUpdate", f"DNS UPDATE by key acme-update: delete {rtype} {name}")


def test_one_txt_deleted_from_several(send, zone):
    add = update()
    add.add("_acme-challenge", 60, "TXT", '"one"', '"two"')
    send(add)
    assert zone.txt("_acme-challenge.example.test") == ["one", "two"]
    delete = update()
    delete.delete("_acme-challenge", "TXT", '"one"')
    send(delete)
    assert zone.txt("_acme-challenge.example.test") == ["two"]


def test_an_rrset_is_deleted_and_other_types_stay(send, zone, events):
    zone.set_txt("both.example.test", "a")
    zone.set_txt("both.example.test", "b")
    zone.add_a("both.example.test", "10.0.0.1")
    delete = update()
    delete.delete("both", "TXT")
    assert send(delete).rcode() == dns.rcode.NOERROR
    assert zone.rrset("both.example.test", "TXT") == []
    assert zone.rrset("both.example.test", "A") == ["10.0.0.1"]
    assert events[-1] == ("DnsUpdate",
                          "DNS UPDATE by key acme-update: delete every TXT at both.example.test")


def test_every_rrset_at_a_name_is_deleted(send, zone, events):
    zone.set_txt("all.example.test", "a")
    zone.add_a("all.example.test", "10.0.0.1")
    zone.add_caa("all.example.test", 0, "issue", "ca.test")
    zone.set_txt("other.example.test", "stays")
    delete = update()
    delete.delete("all")
    assert send(delete).rcode() == dns.rcode.NOERROR
    assert not zone.in_use("all.example.test")
    assert zone.resolve_a("all.example.test") == ["127.0.0.1"]  # the default again
    assert zone.txt("other.example.test") == ["stays"]
    assert events[-1] == ("DnsUpdate",
                          "DNS UPDATE by key acme-update: delete all records at all.example.test")


def test_the_zone_apex_itself_is_updated(send, zone):
    """certbot-dns-rfc2136 finds the zone by asking SOA; every name answers, so the
    zone is _acme-challenge.<domain> itself and the record is its apex."""
    add = update(zone_name="_acme-challenge.example.test.")
    add.add("@", 60, "TXT", '"apex"')
    assert send(add).rcode() == dns.rcode.NOERROR
    assert zone.txt("_acme-challenge.example.test") == ["apex"]


def test_cname_beside_other_records_is_ignored_as_rfc2136_says(send, zone):
    zone.add_a("taken.example.test", "10.0.0.1")
    zone.set_cname("alias.example.test", "taken.example.test")
    message = update()
    message.add("taken", 60, "CNAME", "elsewhere.test.")
    message.add("alias", 60, "TXT", '"beside a cname"')
    assert send(message).rcode() == dns.rcode.NOERROR
    assert zone.rrset("taken.example.test", "CNAME") == []
    assert zone.rrset("alias.example.test", "TXT") == []


# -- prerequisites (RFC 2136 §2.4, §3.2) ----------------------------------------------------

def _prereq_name_in_use(m):
    m.present("p")


def _prereq_name_not_in_use(m):
    m.absent("p")


def _prereq_rrset_exists(m):
    m.present("p", "TXT")


def _prereq_rrset_absent(m):
    m.absent("p", "TXT")


def _prereq_rrset_equals(m):
    m.present("p", "TXT", '"expected"')


PREREQUISITES = [
    # (prerequisite, records at p.example.test before, expected rcode)
    (_prereq_name_in_use, [], dns.rcode.NXDOMAIN),
    (_prereq_name_in_use, [("A", "10.0.0.1")], dns.rcode.NOERROR),
    (_prereq_name_not_in_use, [("TXT", "x")], dns.rcode.YXDOMAIN),
    (_prereq_name_not_in_use, [], dns.rcode.NOERROR),
    (_prereq_rrset_exists, [("A", "10.0.0.1")], dns.rcode.NXRRSET),
    (_prereq_rrset_exists, [("TXT", "x")], dns.rcode.NOERROR),
    (_prereq_rrset_absent, [("TXT", "x")], dns.rcode.YXRRSET),
    (_prereq_rrset_absent, [("A", "10.0.0.1")], dns.rcode.NOERROR),
    (_prereq_rrset_equals, [("TXT", "other")], dns.rcode.NXRRSET),
    (_prereq_rrset_equals, [("TXT", "expected"), ("TXT", "more")], dns.rcode.NXRRSET),
    (_prereq_rrset_equals, [("TXT", "expected")], dns.rcode.NOERROR),
]


@pytest.mark.parametrize("prerequisite,before,rcode", PREREQUISITES,
                         ids=[f"{p[0].__name__[8:]}-{len(p[1])}-{dns.rcode.to_text(p[2])}"
                              for p in PREREQUISITES])
def test_prerequisites(send, zone, events, prerequisite, before, rcode):
    for rtype, value in before:
        (zone.add_a if rtype == "A" else zone.set_txt)("p.example.test", value)
    message = update()
    prerequisite(message)
    message.add("_acme-challenge", 60, "TXT", '"new"')
    response = send(message)
    assert response.rcode() == rcode
    assert response.had_tsig
    applied = zone.txt("_acme-challenge.example.test") == ["new"]
    assert applied == (rcode == dns.rcode.NOERROR)
    if rcode != dns.rcode.NOERROR:
        reason, text = events[-1]
        assert reason == "DnsUpdateRefused" and "prerequisite failed" in text


def test_the_default_address_is_no_record_of_the_name(send, zone):
    """Every name resolves to 127.0.0.1, as under a wildcard, but prerequisites
    expand no wildcards: the name is not in use."""
    assert zone.resolve_a("p.example.test") == ["127.0.0.1"]
    message = update()
    message.absent("p")
    assert send(message).rcode() == dns.rcode.NOERROR


def test_a_prerequisite_outside_the_zone_is_notzone(send, zone):
    message = update()
    message.present("p.elsewhere.test.")
    message.add("_acme-challenge", 60, "TXT", '"new"')
    assert send(message).rcode() == dns.rcode.NOTZONE
    assert zone.txt("_acme-challenge.example.test") == []


# -- what is refused changes nothing ------------------------------------------------------

def test_a_name_outside_the_zone_is_notzone_and_nothing_changes(send, zone, events):
    message = update()
    message.add("_acme-challenge", 60, "TXT", '"inside"')
    message.add("_acme-challenge.elsewhere.test.", 60, "TXT", '"outside"')
    response = send(message)
    assert response.rcode() == dns.rcode.NOTZONE
    assert zone.txt("_acme-challenge.example.test") == []
    assert zone.txt("_acme-challenge.elsewhere.test") == []
    assert events == [("DnsUpdateRefused", "DNS UPDATE by key acme-update refused (NOTZONE): "
                       "_acme-challenge.elsewhere.test. is not in zone example.test.")]


def test_the_root_zone_is_notauth(send, zone):
    message = update(zone_name=".")
    message.add("_acme-challenge.example.test.", 60, "TXT", '"x"')
    assert send(message).rcode() == dns.rcode.NOTAUTH
    assert zone.txt("_acme-challenge.example.test") == []


@pytest.mark.parametrize("rtype,text", [("MX", "10 mail.example.test."),
                                        ("TXT", '"two" "strings"'),
                                        ("NS", "ns.example.test.")])
def test_records_the_zone_cannot_hold_are_refused(send, zone, rtype, text):
    message = update()
    message.add("_acme-challenge", 60, "TXT", '"first"')
    message.add("x", 60, rtype, text)
    assert send(message).rcode() == dns.rcode.REFUSED
    assert zone.txt("_acme-challenge.example.test") == []


def test_an_unsigned_update_is_refused(send, zone, events):
    message = update(key=None)
    message.add("_acme-challenge", 60, "TXT", '"x"')
    response = send(message)
    assert response.rcode() == dns.rcode.REFUSED
    assert not response.had_tsig
    assert zone.txt("_acme-challenge.example.test") == []
    assert events[-1][0] == "DnsUpdateRefused" and "not signed with TSIG" in events[-1][1]


@pytest.mark.parametrize("key,algorithm,error", [
    (TsigKey("acme-update", "hmac-sha256", base64.b64encode(b"x" * 32).decode()),
     "hmac-sha256", dns.tsig.PeerBadSignature),
    (TsigKey("someone-else", "hmac-sha256", SECRET), "hmac-sha256", dns.tsig.PeerBadKey),
    (KEY, "hmac-sha512", dns.tsig.PeerBadKey),
], ids=["wrong-secret-BADSIG", "unknown-name-BADKEY", "wrong-algorithm-BADKEY"])
def test_a_bad_signature_or_key_is_notauth_with_the_tsig_error(server, zone, events, key,
                                                               algorithm, error):
    message = update(key, algorithm=algorithm)
    message.add("_acme-challenge", 60, "TXT", '"x"')
    wire = message.to_wire()
    reply = raw_exchange(server, wire)
    assert rcode_of(reply) == dns.rcode.NOTAUTH
    with pytest.raises(error):  # the answer's TSIG record carries the error
        dns.message.from_wire(reply, keyring=keyring(key), request_mac=message.mac)
    assert zone.txt("_acme-challenge.example.test") == []
    assert events[-1][0] == "DnsUpdateRefused" and "NOTAUTH/BAD" in events[-1][1]


def test_a_stale_time_is_notauth_badtime_signed_with_the_server_time(server, zone, events,
                                                                    monkeypatch):
    message = update()
    message.add("_acme-challenge", 60, "TXT", '"x"')
    now = time.time()
    with monkeypatch.context() as patched:  # sign as a client whose clock is an hour slow
        patched.setattr(time, "time", lambda: now - 3600)
        wire = message.to_wire()
    reply = raw_exchange(server, wire)
    assert rcode_of(reply) == dns.rcode.NOTAUTH
    with pytest.raises(dns.tsig.PeerBadTime):
        dns.message.from_wire(reply, keyring=keyring(), request_mac=message.mac)
    assert zone.txt("_acme-challenge.example.test") == []
    assert "NOTAUTH/BADTIME" in events[-1][1]


def test_a_replayed_update_outside_the_fudge_changes_nothing(server, zone, monkeypatch):
    """The same bytes, signed correctly, sent again after the fudge (300 s):
    BADTIME.  The server's time is moved only for the check."""
    message = update()
    message.add("_acme-challenge", 60, "TXT", '"replayed"')
    wire = message.to_wire()
    later = time.time() + 301
    with monkeypatch.context() as patched:
        patched.setattr(time, "time", lambda: later)
        reply = server.updater.answer(wire, "test")
    assert rcode_of(reply) == dns.rcode.NOTAUTH
    assert zone.txt("_acme-challenge.example.test") == []


# -- malformed messages -----------------------------------------------------------------

def _signed_wire() -> bytes:
    message = update()
    message.add("_acme-challenge", 60, "TXT", '"digest"')
    message.delete("old", "A")
    message.present("p", "TXT", '"v"')
    return message.to_wire()


def test_malformed_updates_get_formerr_and_the_server_keeps_answering(server, zone):
    wire = _signed_wire()
    header = wire[:12]
    for bad in (wire[:20], wire[:-5], header, header + b"\xff" * 40, wire + b"\x00" * 3):
        reply = raw_exchange(server, bad)
        assert rcode_of(reply) in (dns.rcode.FORMERR, dns.rcode.NOTAUTH), bad
    assert zone.txt("_acme-challenge.example.test") == []
    assert ask(server, "still.example.test.", "A").rcode() == dns.rcode.NOERROR


def test_an_update_without_a_zone_is_formerr(server, zone):
    """RFC 2136 §3.1.1: one zone (SOA) record in the zone section, or FORMERR
    (unsigned: a message that cannot be read has no signature to check)."""
    message = update()
    message.add("_acme-challenge", 60, "TXT", '"x"')
    message.zone.clear()
    assert rcode_of(raw_exchange(server, message.to_wire())) == dns.rcode.FORMERR
    assert zone.txt("_acme-challenge.example.test") == []


def test_random_corruption_never_raises(zone):
    """Every byte flipped somewhere, seeded: the handler answers or stays silent,
    never raises, and nothing reaches the zone but a whole, signed update."""
    updater = ZoneUpdater(zone, [KEY])
    wire = _signed_wire()
    rng = random.Random(2136)
    for _ in range(2000):
        bad = bytearray(wire)
        for _ in range(rng.randint(1, 4)):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        cut = bytes(bad[:rng.randint(0, len(bad))]) if rng.random() < 0.3 else bytes(bad)
        reply = updater.answer(cut, "fuzz")
        assert reply is None or len(reply) >= 12
    assert zone.txt("_acme-challenge.example.test") in ([], ["digest"])


def test_without_keys_updates_get_notimp_as_pebble_challtestsrv_answers(zone):
    with DnsServer(zone, updater=ZoneUpdater(zone, [])) as server:
        message = update()
        message.add("_acme-challenge", 60, "TXT", '"x"')
        reply = raw_exchange(server, message.to_wire())
    assert rcode_of(reply) == dns.rcode.NOTIMP
    assert zone.txt("_acme-challenge.example.test") == []


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "hmac-sha512", "hmac-sha1"])
def test_each_algorithm(zone, algorithm):
    key = TsigKey("k-" + algorithm, algorithm, SECRET)
    with DnsServer(zone, updater=ZoneUpdater(zone, [key])) as server:
        message = update(key, algorithm=algorithm)
        message.add("_acme-challenge", 60, "TXT", f'"{algorithm}"')
        response = dns.query.tcp(message, "127.0.0.1", port=server.port, timeout=WAIT)
    assert response.rcode() == dns.rcode.NOERROR and response.had_tsig
    assert zone.txt("_acme-challenge.example.test") == [algorithm]


def test_a_cname_to_the_root_is_refused_not_a_crash(send, server, zone):
    message = update()
    message.add("_acme-challenge", 60, "TXT", '"first"')
    message.add("alias", 60, "CNAME", ".")
    assert send(message).rcode() == dns.rcode.REFUSED
    assert zone.txt("_acme-challenge.example.test") == []
    assert ask(server, "still.example.test.", "A").rcode() == dns.rcode.NOERROR


def test_a_prerequisite_no_record_here_can_equal_is_nxrrset(send, zone):
    zone.set_txt("p.example.test", "two")
    message = update()
    message.present("p", "TXT", '"two" "strings"')
    assert send(message).rcode() == dns.rcode.NXRRSET
