"""lego (go-acme/lego CLI) run as its own process against ``acme_server``: full orders
with its built-in http-01 and tls-alpn-01 servers, its ``exec`` DNS provider and
its ``rfc2136`` provider (DNS UPDATE with TSIG), revocation and re-issue, each checked on the certificate lego wrote."""

from __future__ import annotations

import stat
import sys
from pathlib import Path
from typing import Dict, List

import pytest
from cryptography import x509

from pytest_acme.httpd import WsgiThread
from pytest_acme.listeners import spare_port
from pytest_acme.standalone.challtestsrv import make_challtestsrv_app

from .clientlib import check_certificate, names, require_tool, run_client

INSTALL_HINT = "apt-get install lego (or go install github.com/go-acme/lego/v4/cmd/lego@latest)"


class Lego:
    """One lego working directory (``--path``) and account, against one server."""

    def __init__(self, server, tmp_path: Path) -> None:
        self.binary = require_tool("lego", INSTALL_HINT)
        self.server, self.path = server, tmp_path / "lego"
        self.env: Dict[str, str] = {"LEGO_CA_CERTIFICATES": server.ca_bundle,
                                    "LEGO_DISABLE_CNAME_SUPPORT": "true"}

    def run(self, label: str, domains: List[str], solver: List[str], *command: str):
        cmd = [self.binary, "--server", self.server.directory_url, "--accept-tos",
               "--email", "tests@example.test", "--path", str(self.path), "--key-type", "ec256",
               "--cert.timeout", "60"]
        for name in domains:
            cmd += ["--domains", name]
        return run_client(label, cmd + solver + list(command), env=self.env)

    def files(self, first: str) -> Dict[str, Path]:
        base = self.path / "certificates" / first.replace("*", "_")
        return {"crt": base.with_name(base.name + ".crt"), "key": base.with_name(base.name + ".key")}

    def check(self, domains: List[str]) -> x509.Certificate:
        files = self.files(domains[0])
        return check_certificate(self.server, files["crt"].read_bytes(), files["key"], domains)


@pytest.fixture
def lego(acme_server, tmp_path):
    return Lego(acme_server, tmp_path)


@pytest.fixture
def http01(acme_server):
    """lego's ``--http`` solver on a free port the validator connects to."""
    port = spare_port()
    acme_server.reconfigure(http01_port=port)
    return ["--http", "--http.port", f"127.0.0.1:{port}"]


def test_http01_one_name(lego, http01):
    domains = names("lego")
    lego.run("lego http-01 (1 name)", domains, http01, "run")
    lego.check(domains)


def test_http01_three_names(lego, http01):
    domains = names("lego", 3)
    lego.run("lego http-01 (3 names)", domains, http01, "run")
    lego.check(domains)


def test_tlsalpn01(lego, acme_server):
    port = spare_port()
    acme_server.reconfigure(tlsalpn01_port=port)
    domains = names("lego")
    lego.run("lego tls-alpn-01", domains, ["--tls", "--tls.port", f"127.0.0.1:{port}"], "run")
    lego.check(domains)


HOOK = """#!{python}
# lego exec DNS provider: $1 = present|cleanup, $2 = _acme-challenge FQDN, $3 = TXT value
import json, sys, urllib.request
action, fqdn = sys.argv[1], sys.argv[2]
if action in ("present", "cleanup"):
    body = {{"host": fqdn}}
    if action == "present":
        body["value"] = sys.argv[3]
    request = urllib.request.Request("{api}/" + ("set-txt" if action == "present" else "clear-txt"),
                                     data=json.dumps(body).encode(), method="POST")
    urllib.request.urlopen(request, timeout=10).read()
"""


@pytest.fixture
def challtestsrv(acme_server):
    """A pebble-challtestsrv-style API editing the server's zone: its base URL."""
    api = WsgiThread(make_challtestsrv_app(acme_server.dns), "127.0.0.1", 0,
                     what="challtestsrv API").start()
    yield f"http://127.0.0.1:{api.port}"
    api.stop()


def test_dns01_wildcard(lego, acme_server, challtestsrv, tmp_path):
    hook = tmp_path / "exec-hook.py"
    hook.write_text(HOOK.format(python=sys.executable, api=challtestsrv))
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    lego.env.update(EXEC_PATH=str(hook), EXEC_POLLING_INTERVAL="1",
                    EXEC_PROPAGATION_TIMEOUT="20", EXEC_SEQUENCE_INTERVAL="1")
    base = names("lego")[0]
    domains = [f"*.{base}", base]
    dns_port = acme_server.dns_address.rsplit(":", 1)[1]
    # --dns.disable-cp: lego's full propagation check asks the zone's authoritative
    # nameservers directly on port 53, which a DNS server on a test port cannot be;
    # lego still checks the TXT record once through --dns.resolvers (our DNS server).
    lego.run("lego dns-01 (wildcard + base)", domains,
             ["--dns", "exec", "--dns.disable-cp", "--dns.resolvers", f"127.0.0.1:{dns_port}"],
             "run")
    lego.check(domains)
    # the hook cleaned up after itself
    assert acme_server.dns.txt(f"_acme-challenge.{base}") == []


def test_dns01_wildcard_through_the_rfc2136_provider(lego, acme_server):
    """lego's rfc2136 provider sends TSIG-signed DNS UPDATEs to the server's own
    DNS server; no hook, no API."""
    key = acme_server.tsig_key
    lego.env.update(RFC2136_NAMESERVER=acme_server.dns_address, RFC2136_TSIG_KEY=key.name,
                    RFC2136_TSIG_SECRET=key.secret, RFC2136_TSIG_ALGORITHM=key.algorithm + ".",
                    RFC2136_POLLING_INTERVAL="1", RFC2136_PROPAGATION_TIMEOUT="20",
                    RFC2136_SEQUENCE_INTERVAL="1")
    base = names("lego")[0]
    domains = [f"*.{base}", base]
    dns_port = acme_server.dns_address.rsplit(":", 1)[1]
    lego.run("lego dns-01 via rfc2136 (wildcard + base)", domains,
             ["--dns", "rfc2136", "--dns.disable-cp", "--dns.resolvers", f"127.0.0.1:{dns_port}"],
             "run")
    lego.check(domains)
    updates = [e.message for e in acme_server.events if e.reason == "DnsUpdate"]
    name = f"_acme-challenge.{base}"
    # lego solves one name after the other, replacing the RRset in one UPDATE
    # (delete the TXT RRset, add the record), then deleting its record
    one = [f"DNS UPDATE by key {key.name}: delete every TXT at {name}",
           f"DNS UPDATE by key {key.name}: add TXT {name}",
           f"DNS UPDATE by key {key.name}: delete TXT {name}"]
    assert updates == one * 2
    assert acme_server.dns.txt(f"_acme-challenge.{base}") == []


def test_revoke(lego, http01, acme_server):
    domains = names("lego")
    lego.run("lego http-01 (1 name)", domains, http01, "run")
    serial = lego.check(domains).serial_number
    assert acme_server.app.store.certificates_by_serial[serial].revoked_at is None
    lego.run("lego revoke", domains, [], "revoke", "--reason", "4")
    record = acme_server.app.store.certificates_by_serial[serial]
    assert record.revoked_at is not None
    assert record.revocation_reason == 4


def test_renew(lego, http01, acme_server):
    domains = names("lego", 2)
    lego.run("lego http-01 (2 names)", domains, http01, "run")
    first = lego.check(domains)
    orders_before = len(acme_server.app.store.orders)
    # lego renew sleeps a random time (up to 8 minutes) when not on a terminal
    lego.run("lego renew", domains, http01, "renew", "--days", "999", "--no-random-sleep")
    second = lego.check(domains)
    assert second.serial_number != first.serial_number
    assert len(acme_server.app.store.orders) == orders_before + 1
    assert set(acme_server.app.store.certificates_by_serial) >= {first.serial_number,
                                                                 second.serial_number}


@pytest.mark.acme(alternate_roots=1, chain_length=2)
def test_preferred_chain_picks_the_alternate_root(lego, http01, acme_server):
    """lego follows the Link rel="alternate" chains and keeps the one whose top
    issuer has the --preferred-chain common name."""
    from helpers import split_chain, verify_chain

    alt_root = x509.load_pem_x509_certificate(acme_server.chain_roots_pem[1])
    (cn,) = alt_root.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    domains = names("lego")
    lego.run("lego preferred chain", domains, http01, "run", "--preferred-chain", cn.value)
    chain = split_chain(lego.files(domains[0])["crt"].read_bytes())
    assert len(chain) == 3 and chain[-1].issuer == alt_root.subject
    verify_chain(chain, acme_server.chain_roots_pem[1])
