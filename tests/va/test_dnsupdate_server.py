"""DNS UPDATE through the whole server: the fixture's key, the same zone the
validator reads, the event timeline, reset(), the tsig_keys setting, ``serve
--tsig-key``, and BIND's nsupdate and dig against the built-in DNS server."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import threading

import dns.query
import dns.rcode
import dns.tsigkeyring
import dns.update
import pytest
from dnslib import DNSHeader
from dnslib.label import DNSBuffer

from helpers import (
    BannerCapture,
    account_client,
    answer_and_wait,
    banner_field,
    challenge_json,
    key_authorization_for,
    make_csr,
)
from pytest_acme import AcmeServer, dns01_txt
from pytest_acme.cli import main
from pytest_acme.config import AcmeConfig, TsigKey

WAIT = 5.0
SECRET = base64.b64encode(b"\x07" * 64).decode()


def send_update(server: AcmeServer, key: TsigKey, name: str, value: str,
                zone: str = "example.test.") -> dns.message.Message:
    host, port = server.dns_address.split(":")
    message = dns.update.UpdateMessage(
        zone, keyring=dns.tsigkeyring.from_text({key.name: key.secret}), keyname=key.name,
        keyalgorithm=key.algorithm)
    message.add(name + ".", 60, "TXT", f'"{value}"')
    return dns.query.tcp(message, host, port=int(port), timeout=WAIT)


def test_the_fixture_has_a_key_made_from_the_seed(acme_dns, acme_server):
    key = acme_dns.tsig_key
    assert (key.name, key.algorithm) == ("pytest-acme", "hmac-sha256")
    assert len(base64.b64decode(key.secret)) == 32
    assert acme_server.tsig_key == key
    assert key.spec == f"hmac-sha256:pytest-acme:{key.secret}"
    with AcmeServer(seed=acme_server.seed, dns_port=None) as same_seed:
        assert same_seed.tsig_key == key
    with AcmeServer(seed=acme_server.seed + 1, dns_port=None) as other_seed:
        assert other_seed.tsig_key.secret != key.secret


def test_an_update_lands_in_the_zone_and_the_timeline_and_reset_clears_it(acme_dns,
                                                                          acme_server):
    response = send_update(acme_server, acme_dns.tsig_key,
                           "_acme-challenge.example.test", "digest")
    assert response.rcode() == dns.rcode.NOERROR
    assert acme_dns.txt("_acme-challenge.example.test") == ["digest"]
    events = [(e.kind, e.reason, e.message) for e in acme_server.events]
    assert events == [("dns", "DnsUpdate", "DNS UPDATE by key pytest-acme: add TXT "
                       "_acme-challenge.example.test")]
    acme_server.reset()
    assert acme_dns.txt("_acme-challenge.example.test") == []
    assert acme_server.events == []
    # the key outlives reset(): it is configuration, not zone data
    assert send_update(acme_server, acme_dns.tsig_key, "_acme-challenge.example.test",
                       "again").rcode() == dns.rcode.NOERROR


def test_the_validator_reads_what_an_update_wrote(acme_server, acme_dns):
    """dns-01 proven by a DNS UPDATE alone: no acme_dns.set_txt, no API call."""
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["*.upd.example.test"]))
    (authz,) = order.authorizations
    chall = challenge_json(acme, authz.uri, "dns-01")
    digest = dns01_txt(key_authorization_for(acme, chall["token"]))
    send_update(acme_server, acme_dns.tsig_key, "_acme-challenge.upd.example.test", digest)
    assert answer_and_wait(acme, acme_server, chall["url"])["status"] == "valid"


@pytest.mark.acme(tsig_keys={"Custom.Key.": f"hmac-sha512:{SECRET}"})
def test_configured_keys_replace_the_generated_one(acme_server, acme_dns):
    key = acme_dns.tsig_key
    assert key == TsigKey("custom.key", "hmac-sha512", SECRET)
    assert send_update(acme_server, key, "_acme-challenge.c.example.test",
                       "x").rcode() == dns.rcode.NOERROR
    generated = acme_server.app.generated_tsig_key
    with pytest.raises(dns.tsig.PeerBadKey):
        send_update(acme_server, generated, "_acme-challenge.g.example.test", "x")
    assert acme_dns.txt("_acme-challenge.g.example.test") == []


@pytest.mark.acme(tsig_keys={})
def test_no_keys_no_updates(acme_server, acme_dns):
    assert acme_dns.tsig_key is None
    host, port = acme_server.dns_address.split(":")
    message = dns.update.UpdateMessage("example.test.")
    message.add("_acme-challenge", 60, "TXT", '"x"')
    assert dns.query.udp(message, host, port=int(port),
                         timeout=WAIT).rcode() == dns.rcode.NOTIMP


@pytest.mark.parametrize("keys,words", [
    ({"k": "not base64!"}, "not base64"),
    ({"k": "hmac-md5:" + SECRET}, "hmac-md5"),
    ({"": SECRET}, "key name"),
    ({"k": ""}, "not base64"),
])
def test_bad_keys_are_refused_with_the_setting_named(keys, words):
    with pytest.raises(ValueError, match="tsig_keys") as info:
        AcmeConfig(tsig_keys=keys)
    assert words in str(info.value)


def test_serve_takes_tsig_keys_as_nsupdate_does_and_prints_them():
    out, stop, result = BannerCapture(), threading.Event(), []
    argv = ["serve", "--port", "0", "--dns-port", "0", "--management-port", "-1",
            "--challtestsrv-port", "-1", "--tsig-key", f"hmac-sha512:first:{SECRET}",
            "--tsig-key", f"second:{SECRET}"]
    thread = threading.Thread(target=lambda: result.append(main(argv, stop=stop, out=out)))
    thread.start()
    try:
        assert out.ready.wait(10), out.getvalue()
        banner = out.getvalue()
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]
    assert f"DNS UPDATE:   TSIG key hmac-sha512:first:{SECRET}" in banner
    assert f"DNS UPDATE:   TSIG key hmac-sha256:second:{SECRET}" in banner


def test_serve_refuses_a_key_that_is_not_alg_name_secret(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--port", "0", "--tsig-key", "just-a-name"])
    assert exit_info.value.code == 2
    assert "[ALG:]NAME:SECRET" in capsys.readouterr().err


# -- BIND's tools, end to end ------------------------------------------------------------

def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed (apt-get install bind9-dnsutils)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def _nsupdate(server: AcmeServer, key: str, commands: str) -> subprocess.CompletedProcess:
    host, port = server.dns_address.split(":")
    script = f"server {host} {port}\nzone example.test\n{commands}\nsend\n"
    return subprocess.run([_require("nsupdate"), "-y", key], input=script, text=True,
                          capture_output=True, timeout=30)


def _dig(server: AcmeServer, *args: str) -> str:
    host, port = server.dns_address.split(":")
    return subprocess.run([_require("dig"), f"@{host}", "-p", port, "+short", *args],
                          text=True, capture_output=True, timeout=30, check=True).stdout


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_nsupdate_adds_a_txt_that_dig_sees_and_deletes_it(acme_server, acme_dns, transport):
    name = f"_acme-challenge.{transport}.example.test"
    key = acme_dns.tsig_key.spec
    extra = ["-v"] if transport == "tcp" else []  # nsupdate -v: TCP
    host, port = acme_server.dns_address.split(":")
    script = (f"server {host} {port}\nzone example.test\n"
              f"update add {name}. 60 TXT \"from-nsupdate\"\nsend\n")
    added = subprocess.run([_require("nsupdate"), *extra, "-y", key], input=script, text=True,
                           capture_output=True, timeout=30)
    assert added.returncode == 0, added.stderr
    assert _dig(acme_server, "TXT", name).split() == ['"from-nsupdate"']
    assert _dig(acme_server, "+tcp", "TXT", name).split() == ['"from-nsupdate"']
    assert [e.message for e in acme_server.events] == [
        f"DNS UPDATE by key pytest-acme: add TXT {name}"]

    deleted = _nsupdate(acme_server, key, f"update delete {name}. TXT")
    assert deleted.returncode == 0, deleted.stderr
    assert _dig(acme_server, "TXT", name) == ""


def test_nsupdate_prerequisite_failure_is_reported(acme_server, acme_dns):
    result = _nsupdate(acme_server, acme_dns.tsig_key.spec,
                       "prereq yxrrset _acme-challenge.example.test. TXT\n"
                       "update add _acme-challenge.example.test. 60 TXT \"x\"")
    assert result.returncode != 0
    assert "NXRRSET" in result.stdout + result.stderr
    assert acme_dns.txt("_acme-challenge.example.test") == []


def test_nsupdate_with_a_wrong_secret_gets_badsig(acme_server, acme_dns):
    wrong = f"hmac-sha256:pytest-acme:{base64.b64encode(b'wrong' * 8).decode()}"
    result = _nsupdate(acme_server, wrong,
                       "update add _acme-challenge.example.test. 60 TXT \"x\"")
    assert result.returncode != 0
    assert "NOTAUTH(BADSIG)" in result.stdout + result.stderr
    assert acme_dns.txt("_acme-challenge.example.test") == []



def test_the_challtestsrv_command_answers_updates_notimp_as_pebble_challtestsrv(acme_dns):
    """pebble-challtestsrv (miekg/dns's default acceptance) answers every UPDATE,
    signed or not, with NOTIMP; so does its drop-in, even with a key that the
    in-process server would take."""
    out, stop, result = BannerCapture(), threading.Event(), []
    argv = ["challtestsrv", "-management", "127.0.0.1:0", "-dns01", "127.0.0.1:0",
            "-http01", "", "-https01", "", "-tlsalpn01", ""]
    thread = threading.Thread(target=lambda: result.append(main(argv, stop=stop, out=out,
                                                                env={})))
    thread.start()
    try:
        assert out.ready.wait(15), out.getvalue()
        port = int(banner_field(out.getvalue(), "DNS:").rpartition(":")[2])
        key = acme_dns.tsig_key
        for signed in (True, False):
            message = dns.update.UpdateMessage(
                "example.test.", keyring=dns.tsigkeyring.from_text({key.name: key.secret})
                if signed else None, keyname=key.name if signed else None)
            message.add("_acme-challenge", 60, "TXT", '"x"')
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(WAIT)
                sock.sendto(message.to_wire(), ("127.0.0.1", port))
                reply = sock.recv(4096)
            assert DNSHeader.parse(DNSBuffer(reply)).rcode == dns.rcode.NOTIMP
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]
