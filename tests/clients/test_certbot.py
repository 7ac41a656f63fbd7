"""certbot (run as its own process) completes real orders against ``acme_server``:
http-01 via ``--standalone``, dns-01 via ``--manual`` hooks posting to a
challtestsrv API and via the certbot-dns-rfc2136 plugin (DNS UPDATE with TSIG,
no hook), revocation and renewal.  Each test checks the certificate
certbot wrote: chain to the server's root, exact SANs, certbot's own key."""

from __future__ import annotations

import ipaddress
import os
import subprocess
from pathlib import Path
from typing import List

import pytest
from cryptography import x509

from pytest_acme.listeners import spare_port

from .certbot_helpers import Challtestsrv, hook_calls, write_dns_hook
from .clientlib import check_certificate, require_tool, run_client

INSTALL = "sudo apt-get install certbot   (or: python -m pip install certbot)"
CERT_NAME = "pytest-acme"


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Certbot:
    def __init__(self, acme_server, tmp_path: Path) -> None:
        self.exe = require_tool("certbot", INSTALL)
        self.server = acme_server
        self.dirs = {name: tmp_path / name for name in ("config", "work", "logs")}
        self.live = self.dirs["config"] / "live" / CERT_NAME
        self.env = {"REQUESTS_CA_BUNDLE": acme_server.ca_bundle}

    def common(self) -> List[str]:
        return ["--non-interactive",
                "--config-dir", str(self.dirs["config"]), "--work-dir", str(self.dirs["work"]),
                "--logs-dir", str(self.dirs["logs"]), "--server", self.server.directory_url]

    def run(self, label: str, *args: str):
        return run_client(label, [self.exe, *args], env=self.env,
                          log_files=[self.dirs["logs"] / "letsencrypt.log"])

    def certonly(self, label: str, names: List[str], plugin: List[str], *extra: str):
        ids = [arg for name in names
               for arg in (("--ip-address", name) if _is_ip(name) else ("-d", name))]
        return self.run(label, "certonly", *self.common(), "--agree-tos",
                        "--register-unsafely-without-email", "--cert-name", CERT_NAME,
                        "--key-type", "ecdsa", "--no-random-sleep-on-renew",
                        *plugin, *extra, *ids)

    def standalone(self) -> List[str]:
        port = spare_port()
        self.server.reconfigure(http01_port=port)
        return ["--standalone", "--preferred-challenges", "http",
                "--http-01-port", str(port), "--http-01-address", "127.0.0.1"]

    def check(self, names: List[str]) -> x509.Certificate:
        return check_certificate(self.server, (self.live / "fullchain.pem").read_bytes(),
                                 self.live / "privkey.pem", names)


@pytest.fixture
def certbot(acme_server, tmp_path) -> Certbot:
    return Certbot(acme_server, tmp_path)


def test_http01_one_name(certbot, acme_server):
    names = ["certbot.example.test"]
    certbot.certonly("certbot http-01 (1 name)", names, certbot.standalone())
    certbot.check(names)
    assert len(acme_server.app.store.certificates_by_serial) == 1


def test_http01_ip_address(certbot):
    """certbot 5 orders IP identifiers (RFC 8738) with --ip-address; the CA never puts
    the IP in the CN, which certbot would read as a DNS name."""
    help_text = subprocess.run([certbot.exe, "--help", "all"], capture_output=True,
                               text=True, timeout=60).stdout
    if "--ip-address" not in help_text:
        message = "this certbot has no --ip-address (certbot 5 from PyPI has: pip install certbot)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    names = ["127.0.0.1"]
    certbot.certonly("certbot http-01 (IP address)", names, certbot.standalone())
    leaf = certbot.check(names)
    assert all(attribute.value != "127.0.0.1" for attribute in leaf.subject)


def test_http01_three_names(certbot):
    names = ["certbot.example.test", "www.certbot.example.test", "api.certbot.example.test"]
    certbot.certonly("certbot http-01 (3 names)", names, certbot.standalone())
    certbot.check(names)


def test_dns01_wildcard_and_base(certbot, acme_server, tmp_path):
    names = ["*.certbot.example.test", "certbot.example.test"]
    api = Challtestsrv(acme_server.dns)
    try:
        hook = write_dns_hook(tmp_path / "dns-hook", api.url)
        certbot.certonly("certbot dns-01 (wildcard + base)", names,
                         ["--manual", "--preferred-challenges", "dns",
                          "--manual-auth-hook", f"{hook} set",
                          "--manual-cleanup-hook", f"{hook} clear"])
    finally:
        api.stop()
    certbot.check(names)
    calls = hook_calls(hook)
    # certbot passes the wildcard's base name: both authorizations use the same TXT name
    assert sorted(calls) == ["clear certbot.example.test"] * 2 + ["set certbot.example.test"] * 2
    assert acme_server.dns.txt("_acme-challenge.certbot.example.test") == []


def test_dns01_wildcard_through_the_rfc2136_plugin(certbot, acme_server, tmp_path):
    """certbot-dns-rfc2136 publishes and removes the TXT records with TSIG-signed
    DNS UPDATEs to the server's own DNS server, as it would at a real primary."""
    plugins = subprocess.run([certbot.exe, "plugins", "--text"], capture_output=True, text=True,
                             timeout=60, env={**os.environ, **certbot.env}).stdout
    if "dns-rfc2136" not in plugins:
        message = "certbot-dns-rfc2136 is not installed (python -m pip install certbot-dns-rfc2136)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    key = acme_server.tsig_key
    host, port = acme_server.dns_address.split(":")
    credentials = tmp_path / "rfc2136.ini"
    credentials.write_text("\n".join([
        f"dns_rfc2136_server = {host}", f"dns_rfc2136_port = {port}",
        f"dns_rfc2136_name = {key.name}", f"dns_rfc2136_secret = {key.secret}",
        f"dns_rfc2136_algorithm = {key.algorithm.upper()}", ""]))
    credentials.chmod(0o600)
    names = ["*.rfc2136.example.test", "rfc2136.example.test"]
    certbot.certonly("certbot dns-01 via dns-rfc2136 (wildcard + base)", names,
                     ["--authenticator", "dns-rfc2136", "--dns-rfc2136-credentials",
                      str(credentials), "--dns-rfc2136-propagation-seconds", "0"])
    certbot.check(names)
    updates = [e.message for e in acme_server.events if e.reason == "DnsUpdate"]
    name = "_acme-challenge.rfc2136.example.test"
    assert sorted(updates) == [f"DNS UPDATE by key {key.name}: add TXT {name}"] * 2 + [
        f"DNS UPDATE by key {key.name}: delete TXT {name}"] * 2
    assert acme_server.dns.txt(name) == []


def test_revoke_keycompromise(certbot, acme_server):
    names = ["revoke.certbot.example.test"]
    certbot.certonly("certbot http-01 (before revoke)", names, certbot.standalone())
    leaf = certbot.check(names)
    certbot.run("certbot revoke", "revoke", *certbot.common(),
                "--cert-path", str(certbot.live / "cert.pem"),
                "--reason", "keycompromise", "--no-delete-after-revoke")
    stored = acme_server.app.store.certificates_by_serial[leaf.serial_number]
    assert stored.revoked_at is not None
    assert stored.revocation_reason == 1  # RFC 5280 keyCompromise


def test_renewal_is_a_new_order(certbot, acme_server):
    names = ["renew.certbot.example.test"]
    certbot.certonly("certbot http-01 (first issuance)", names, certbot.standalone())
    first = certbot.check(names)
    # the renewal configuration remembers the standalone port the server validates on
    certbot.run("certbot renew --force-renewal", "renew", *certbot.common(),
                "--cert-name", CERT_NAME, "--force-renewal", "--no-random-sleep-on-renew")
    second = certbot.check(names)
    assert second.serial_number != first.serial_number
    assert set(acme_server.app.store.certificates_by_serial) == {first.serial_number,
                                                                second.serial_number}
    assert len(acme_server.app.store.orders) == 2
