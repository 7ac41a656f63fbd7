"""acme-tiny run as its own process against ``acme_server``: http-01 orders for one
and three names, its challenge files served from its ``--acme-dir``."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from helpers import ec_key, make_csr
from pytest_acme.httpd import WsgiThread

from .clientlib import check_certificate, names, require_tool, run_client

INSTALL_HINT = "apt-get install acme-tiny (or pip install acme-tiny)"
PREFIX = "/.well-known/acme-challenge/"


def webroot_app(directory: Path):
    """Serve the files acme-tiny writes into ``directory`` at PREFIX<token>."""

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        token = path[len(PREFIX):] if path.startswith(PREFIX) else ""
        file = directory / token
        if token and "/" not in token and token not in (".", "..") and file.is_file():
            body = file.read_bytes()
            start_response("200 OK", [("Content-Type", "text/plain"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return app


@pytest.fixture
def acme_dir(acme_server, tmp_path):
    """acme-tiny's ``--acme-dir``, served on a free port the validator connects to."""
    directory = tmp_path / "acme-challenge"
    directory.mkdir()
    web = WsgiThread(webroot_app(directory), "127.0.0.1", 0, what="acme-tiny webroot").start()
    acme_server.reconfigure(http01_port=web.port)
    yield directory
    web.stop()


def acme_tiny(label: str, server, tmp_path: Path, acme_dir: Path, domains: List[str]) -> None:
    binary = require_tool("acme-tiny", INSTALL_HINT)
    account = tmp_path / "account.key"
    account.write_bytes(rsa.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    key = ec_key()
    domain_key = tmp_path / "domain.key"
    domain_key.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    csr = tmp_path / "domain.csr"
    csr.write_bytes(make_csr(domains, key, common_name=domains[0]))
    # --disable-check: its own check fetches http://<name>/ through the system resolver
    proc = run_client(label, [
        binary, "--account-key", str(account), "--csr", str(csr), "--acme-dir", str(acme_dir),
        "--disable-check", "--directory-url", server.directory_url,
        "--contact", "mailto:tests@example.test"],
        env={"SSL_CERT_FILE": server.ca_bundle})
    # stdout is the chain it received; it removed its challenge files
    check_certificate(server, proc.stdout.encode(), domain_key, domains)
    assert list(acme_dir.iterdir()) == []


def test_http01_one_name(acme_server, tmp_path, acme_dir):
    acme_tiny("acme-tiny http-01 (1 name)", acme_server, tmp_path, acme_dir, names("tiny"))


def test_http01_three_names(acme_server, tmp_path, acme_dir):
    acme_tiny("acme-tiny http-01 (3 names)", acme_server, tmp_path, acme_dir, names("tiny", 3))
