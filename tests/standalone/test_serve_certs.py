"""``pytest-acme serve`` with Pebble's chain settings, as a client and its test harness
meet it: alternate chains, CRLs, renewalInfo and Pebble's /set-renewal-info/, profiles."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import requests
from cryptography import x509

from helpers import (
    ServeProcess,
    account_client,
    banner_field,
    issue_leaf,
    links,
    new_order,
    obtain,
    split_chain,
)
from jws_client import b64

FREE_PORTS = ["--port", "0", "--management-port", "0", "--challtestsrv-port", "0",
              "--dns-port", "0"]


class Remote:
    """Enough of AcmeServer for the test helpers, for a server in another process."""

    def __init__(self, directory_url: str, ca_bundle: str) -> None:
        self.directory_url, self.ca_bundle = directory_url, ca_bundle

    def wait_idle(self) -> None:
        pass  # always_valid and finalize=sync: nothing runs in the background


def lifetime(cert: x509.Certificate) -> dt.timedelta:
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_after_utc - cert.not_valid_before_utc
    return cert.not_valid_after - cert.not_valid_before


def test_serve_with_pebbles_chain_variables(tmp_path):
    config = tmp_path / "pebble.json"
    config.write_text(json.dumps({"pebble": {"profiles": {
        "default": {"description": "ninety days", "validityPeriod": 7776000},
        "shortlived": {"description": "six days", "validityPeriod": 518400}}}}))
    serve = ServeProcess([*FREE_PORTS, "-q", "-config", str(config)], env={
        "PATH": "/usr/bin:/bin", "PEBBLE_VA_ALWAYS_VALID": "1", "PEBBLE_CHAIN_LENGTH": "2",
        "PEBBLE_ALTERNATE_ROOTS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        banner = serve.banner
        bundle = banner_field(banner, "CA bundle:")
        management = banner_field(banner, "management:").rsplit("/roots/0", 1)[0]
        assert "profiles:     default, shortlived (default default)" in banner
        server = Remote(banner_field(banner, "directory:"), bundle)
        acme = account_client(server)
        response = obtain(server, acme, new_order(acme, ["serve.example.test"]))
        chain = split_chain(response.content)
        assert len(chain) == 3  # leaf + PEBBLE_CHAIN_LENGTH intermediates
        (alternate,) = links(response, "alternate")
        alt_chain = split_chain(acme.net.post(alternate, None).content)
        alt_root = x509.load_pem_x509_certificate(
            requests.get(f"{management}/roots/1", verify=bundle, timeout=5).content)
        assert alt_chain[-1].issuer == alt_root.subject
        # The CRL named in the certificate, and renewalInfo with Pebble's override.
        points = chain[0].extensions.get_extension_for_class(x509.CRLDistributionPoints)
        crl = x509.load_der_x509_crl(requests.get(points.value[0].full_name[0].value,
                                                  verify=bundle, timeout=5).content)
        assert crl.is_signature_valid(chain[1].public_key())
        directory = requests.get(server.directory_url, verify=bundle, timeout=5).json()
        aki = chain[0].extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
        serial = chain[0].serial_number
        certid = b64(aki.value.key_identifier) + "." + b64(
            serial.to_bytes(serial.bit_length() // 8 + 1, "big", signed=True))
        window = {"suggestedWindow": {"start": "2021-01-01T00:00:00Z",
                                      "end": "2021-01-02T00:00:00Z"}}
        pem = response.text.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
        assert requests.post(f"{management}/set-renewal-info/", verify=bundle, timeout=5,
                             json={"Certificate": pem, "ARIResponse": json.dumps(window)}
                             ).status_code == 200
        info = requests.get(f"{directory['renewalInfo']}/{certid}", verify=bundle, timeout=5)
        assert info.json() == window and info.headers["Retry-After"] == "21600"
        short = issue_leaf(server, acme, ["short.serve.example.test"], profile="shortlived")
        assert lifetime(short) == dt.timedelta(seconds=518400)  # Pebble's validityPeriod
        assert lifetime(chain[0]) == dt.timedelta(seconds=7776000)  # "default", not random
    finally:
        serve.close()


def test_readme_serve_example_shows_the_alternate_root_and_the_crl():
    """The documentation's curl lines for chains and CRLs, against such a server."""
    import re
    import subprocess

    readme = (Path(__file__).resolve().parents[2] / "docs" / "reference"
              / "certificates.md").read_text()
    (command,) = [b for b in re.findall(r"```sh\n(.*?)```", readme, flags=re.S)
                  if "/crl/0" in b]
    serve = ServeProcess([*FREE_PORTS, "-q"], env={
        "PATH": "/usr/bin:/bin", "PEBBLE_CHAIN_LENGTH": "2", "PEBBLE_ALTERNATE_ROOTS": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        banner = serve.banner
        env = {"PATH": "/usr/bin:/bin", "CA_BUNDLE": banner_field(banner, "CA bundle:"),
               "ACME": banner_field(banner, "directory:").rsplit("/directory", 1)[0],
               "MGMT": banner_field(banner, "management:").rsplit("/roots/0", 1)[0]}
        run = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True,
                             timeout=30)
    finally:
        serve.close()
    assert run.returncode == 0, run.stderr
    assert "-----BEGIN CERTIFICATE-----" in run.stdout
    assert "Certificate Revocation List" in run.stdout and "pytest-acme intermediate" in run.stdout


def test_chain_and_profile_flags():
    from pytest_acme.cli import _parser, plan

    args = _parser().parse_args(["serve", "--chain-length", "2", "--alternate-roots", "3",
                                 "--default-profile", "shortlived"])
    settings = plan(args, {"PEBBLE_CHAIN_LENGTH": "5"})["settings"]
    assert (settings["chain_length"], settings["alternate_roots"]) == (2, 3)  # flags win
    assert settings["default_profile"] == "shortlived"
