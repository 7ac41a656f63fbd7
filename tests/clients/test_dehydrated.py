"""dehydrated (bash + curl + openssl, run as its own process) completes real orders
against ``acme_server``: http-01 from its WELLKNOWN directory served by a static
WSGI app, dns-01 through a HOOK script posting to a challtestsrv API, revocation
and a forced second issuance.  Each test checks the certificate dehydrated wrote:
chain to the server's root, exact SANs, dehydrated's own key.  (tls-alpn-01 would
need a TLS server of its own and is not covered.)"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import pytest
from cryptography import x509

from .certbot_helpers import Challtestsrv, WebrootServer, hook_calls, write_dns_hook
from .clientlib import check_certificate, require_tool, run_client

INSTALL = "sudo apt-get install dehydrated   (or put https://github.com/dehydrated-io/dehydrated on PATH)"


class Dehydrated:
    def __init__(self, acme_server, tmp_path: Path, challenge: str = "http-01",
                 hook: Optional[Path] = None) -> None:
        self.exe = require_tool("dehydrated", INSTALL)
        self.server = acme_server
        self.base = tmp_path / "dehydrated"
        self.wellknown = tmp_path / "webroot"
        self.base.mkdir()
        self.wellknown.mkdir()
        self.config = self.base / "config"
        lines = [
            f'CA="{acme_server.directory_url}"',
            f'CHALLENGETYPE="{challenge}"',
            f'BASEDIR="{self.base}"',
            f'WELLKNOWN="{self.wellknown}"',
            "KEY_ALGO=secp384r1",
            'CONTACT_EMAIL="dehydrated@example.test"',
            f'CURL_OPTS="--cacert {acme_server.ca_bundle}"',
            "RENEW_DAYS=30",
        ]
        if hook is not None:
            lines.append(f'HOOK="{hook}"')
        self.config.write_text("\n".join(lines) + "\n")

    def run(self, label: str, *args: str):
        return run_client(label, [self.exe, *args, "-f", str(self.config)])

    def register(self) -> None:
        self.run("dehydrated --register", "--register", "--accept-terms")

    def issue(self, label: str, names: List[str], *extra: str):
        ids = [arg for name in names for arg in ("-d", name)]
        return self.run(label, "--cron", *ids, *extra)

    def cert_dir(self, names: List[str]) -> Path:
        return self.base / "certs" / names[0]  # named after the first -d name

    def check(self, names: List[str]) -> x509.Certificate:
        d = self.cert_dir(names)
        return check_certificate(self.server, (d / "fullchain.pem").read_bytes(),
                                 d / "privkey.pem", names)


@pytest.fixture
def webroot_client(acme_server, tmp_path):
    """A registered dehydrated using http-01, its WELLKNOWN directory served on a
    free port the server validates against."""
    client = Dehydrated(acme_server, tmp_path)
    web = WebrootServer(client.wellknown)
    acme_server.reconfigure(http01_port=web.port)
    try:
        client.register()
        yield client
    finally:
        web.stop()


def test_http01_one_name(webroot_client, acme_server):
    names = ["dehydrated.example.test"]
    webroot_client.issue("dehydrated http-01 (1 name)", names)
    webroot_client.check(names)
    assert len(acme_server.app.store.certificates_by_serial) == 1
    assert list(webroot_client.wellknown.iterdir()) == []  # challenge files cleaned up


def test_http01_three_names(webroot_client):
    names = ["dehydrated.example.test", "www.dehydrated.example.test",
             "api.dehydrated.example.test"]
    webroot_client.issue("dehydrated http-01 (3 names)", names)
    webroot_client.check(names)


def test_dns01_wildcard_and_base(acme_server, tmp_path):
    # base name first: dehydrated names the certificate directory after the first -d
    names = ["dehydrated.example.test", "*.dehydrated.example.test"]
    api = Challtestsrv(acme_server.dns)
    try:
        hook = write_dns_hook(tmp_path / "dns-hook", api.url)
        client = Dehydrated(acme_server, tmp_path, challenge="dns-01", hook=hook)
        client.register()
        client.issue("dehydrated dns-01 (wildcard + base)", names)
    finally:
        api.stop()
    client.check(names)
    calls = [call.split()[:2] for call in hook_calls(hook)
             if call.split()[0] in ("deploy_challenge", "clean_challenge")]
    # dehydrated passes the base name for the wildcard's authorization too
    assert sorted(calls) == ([["clean_challenge", "dehydrated.example.test"]] * 2
                             + [["deploy_challenge", "dehydrated.example.test"]] * 2)
    assert acme_server.dns.txt("_acme-challenge.dehydrated.example.test") == []


def test_revoke(webroot_client, acme_server):
    names = ["revoke.dehydrated.example.test"]
    webroot_client.issue("dehydrated http-01 (before revoke)", names)
    leaf = webroot_client.check(names)
    webroot_client.run("dehydrated --revoke", "--revoke",
                       str(webroot_client.cert_dir(names) / "cert.pem"))
    stored = acme_server.app.store.certificates_by_serial[leaf.serial_number]
    assert stored.revoked_at is not None
    assert stored.revocation_reason == 0  # dehydrated 0.7.0 sends no reason: unspecified


def test_second_issuance_with_force(webroot_client, acme_server):
    names = ["again.dehydrated.example.test"]
    webroot_client.issue("dehydrated http-01 (first issuance)", names)
    first = webroot_client.check(names)
    proc = webroot_client.issue("dehydrated http-01 (second, --force)", names, "--force")
    assert "Ignoring because renew was forced" in proc.stdout
    second = webroot_client.check(names)
    assert second.serial_number != first.serial_number
    assert set(acme_server.app.store.certificates_by_serial) == {first.serial_number,
                                                                second.serial_number}
    assert len(acme_server.app.store.orders) == 2
