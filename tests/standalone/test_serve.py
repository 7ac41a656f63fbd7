"""``pytest-acme serve`` as a Pebble + pebble-challtestsrv drop-in: Pebble's config
file, flags and environment; the management APIs over real sockets; a real
client (certbot's ``acme`` library) solving dns-01 through the challtestsrv API."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import requests
import trustme

from helpers import (
    ServeProcess,
    account_client,
    banner_field,
    deadline,
    ec_key,
    make_csr,
    split_chain,
    verify_chain,
)
from pytest_acme.cli import _parser, main, plan
from pytest_acme.config import AcmeConfig

#: The sample configuration from Pebble's documentation (test/config/pebble-config.json).
PEBBLE_DOC_CONFIG = {
    "pebble": {
        "listenAddress": "0.0.0.0:14000",
        "managementListenAddress": "0.0.0.0:15000",
        "certificate": "test/certs/localhost/cert.pem",
        "privateKey": "test/certs/localhost/key.pem",
        "httpPort": 5002,
        "tlsPort": 5001,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
        "domainBlocklist": ["blocked-domain.example"],
        "retryAfter": {"authz": 3, "order": 5},
        "profiles": {
            "default": {"description": "The profile you know and love",
                        "validityPeriod": 7776000},
            "shortlived": {"description": "A short-lived cert profile, without actual "
                           "enforcement", "validityPeriod": 518400},
        },
    }
}

FREE_PORTS = ["--port", "0", "--management-port", "0", "--challtestsrv-port", "0",
              "--dns-port", "0"]


def test_pebbles_documented_config_starts_unchanged(serve, tmp_path, monkeypatch, capsys):
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    certs = tmp_path / "test" / "certs" / "localhost"
    certs.mkdir(parents=True)
    leaf.cert_chain_pems[0].write_to_path(str(certs / "cert.pem"))
    leaf.private_key_pem.write_to_path(str(certs / "key.pem"))
    config = tmp_path / "pebble-config.json"
    config.write_text(json.dumps(PEBBLE_DOC_CONFIG))
    monkeypatch.chdir(tmp_path)  # the config's certificate paths are relative
    banner = serve(["-config", str(config), "-strict", "-dnsserver", "127.0.0.1:8053",
                    *FREE_PORTS], {})
    warnings = capsys.readouterr().err
    # What cannot be honoured is said at start-up, never silently ignored.
    assert "domainBlocklist" not in warnings and "retryAfter" not in warnings
    assert "profiles is not supported" not in warnings
    assert "orders that name no profile get 'default'" in warnings
    assert "-strict" in warnings
    directory_url = banner_field(banner, "directory:")
    assert directory_url.startswith("https://0.0.0.0:")  # listenAddress's host
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    url = directory_url.replace("0.0.0.0", "127.0.0.1").replace("/directory", "/dir")
    directory = requests.get(url, verify=str(bundle), timeout=5).json()  # Pebble's cert
    assert directory["newOrder"].startswith("https://127.0.0.1:")
    assert directory["meta"]["profiles"] == {
        "default": "The profile you know and love",
        "shortlived": "A short-lived cert profile, without actual enforcement"}
    assert "validation:   real (http-01 port 5002, tls-alpn-01 port 5001)" in banner


def test_plan_reads_pebbles_environment():
    args = _parser().parse_args(["serve"])
    planned = plan(args, {"PEBBLE_VA_ALWAYS_VALID": "1", "PEBBLE_VA_NOSLEEP": "1",
                          "PEBBLE_WFE_NONCEREJECT": "20", "PEBBLE_WFE_ORDERS_PER_PAGE": "7",
                          "PEBBLE_AUTHZREUSE": "50", "PEBBLE_CHAIN_LENGTH": "3",
                          "PEBBLE_ALTERNATE_ROOTS": "2"})
    settings = planned["settings"]
    assert settings["validation"] == "always_valid"
    assert settings["orders_per_page"] == 7
    assert (settings["port"], planned["management"]) == (14000, ("127.0.0.1", 15000))
    (fault,) = planned["faults"]
    assert (fault.kind, fault.rate, fault.times) == ("bad_nonce", 0.2, None)
    assert (settings["chain_length"], settings["alternate_roots"]) == (3, 2)
    assert settings["authz_reuse_valid"] == 0.5
    text = " ".join(planned["warnings"])
    assert "PEBBLE_CHAIN_LENGTH" not in text and "PEBBLE_ALTERNATE_ROOTS" not in text
    assert "AUTHZREUSE" not in text


@pytest.mark.parametrize("env", [{"PEBBLE_CHAIN_LENGTH": "0"}, {"PEBBLE_CHAIN_LENGTH": "x"},
                                 {"PEBBLE_ALTERNATE_ROOTS": "-1"}])
def test_plan_refuses_bad_chain_settings(env):
    with pytest.raises(ValueError, match=next(iter(env))):
        plan(_parser().parse_args(["serve"]), env)


def test_pebble_profiles_become_profiles_with_a_fixed_default():
    from pytest_acme.standalone.pebble import from_pebble

    out = from_pebble(PEBBLE_DOC_CONFIG["pebble"], {})
    assert out.settings["default_profile"] == "default"
    assert out.settings["profiles"]["shortlived"] == {
        "description": "A short-lived cert profile, without actual enforcement",
        "validity": 518400}
    config = AcmeConfig(**{k: out.settings[k] for k in ("profiles", "default_profile")})
    assert config.profiles["default"].validity == 7776000


def test_every_validation_setting_has_a_flag():
    args = _parser().parse_args([
        "serve", "--validation-timeout", "2", "--validation-delay", "3", "--poll-wait", "0",
        "--validation-allow", "192.0.2.0/24", "--validation-allow", "198.51.100.7",
        "--require-terms-agreement", "--certificate-validity", "600"])
    settings = plan(args, {})["settings"]
    assert (settings["validation_timeout"], settings["validation_delay"]) == (2, 3)
    assert settings["poll_wait"] == 0
    assert settings["validation_allow"] == ["192.0.2.0/24", "198.51.100.7"]
    assert settings["require_terms_agreement"] is True
    assert settings["certificate_validity"] == 600


@pytest.mark.parametrize("argv, expected", [
    ([], (3600.0, 65536, 10000, 2000)),
    (["--nonce-lifetime", "30", "--max-body-bytes", "4096", "--event-log-size", "50",
      "--request-log-size", "20"], (30.0, 4096, 50, 20)),
    (["--nonce-lifetime", "none"], (None, 65536, 10000, 2000)),
])
def test_limit_flags(argv, expected):
    config = AcmeConfig(**plan(_parser().parse_args(["serve", *argv]), {})["settings"])
    assert (config.nonce_lifetime, config.max_body_bytes, config.event_log_size,
            config.request_log_size) == expected


def test_max_connections_flag_reaches_the_http_limits():
    from pytest_acme.httpd import HttpLimits

    default = AcmeConfig(**plan(_parser().parse_args(["serve"]), {})["settings"])
    assert HttpLimits.of(default).max_connections == 512
    given = AcmeConfig(**plan(_parser().parse_args(["serve", "--max-connections", "7"]),
                              {})["settings"])
    assert HttpLimits.of(given).max_connections == 7


def test_a_bad_limit_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--nonce-lifetime", "soon"])
    assert "'soon' is not a number of seconds or 'none'" in capsys.readouterr().err


def test_explicit_flags_win_over_the_config_file(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"pebble": {"listenAddress": "127.0.0.1:1234",
                                             "httpPort": 8080}}))
    args = _parser().parse_args(["serve", "-config", str(config), "--http01-port", "9090"])
    settings = plan(args, {})["settings"]
    assert (settings["port"], settings["http01_port"]) == (1234, 9090)


@pytest.mark.parametrize("content, words", [
    ("{not json", "cannot read Pebble config"),
    (json.dumps({"other": {}}), "is not a Pebble config"),
])
def test_bad_config_files_are_usage_errors(tmp_path, capsys, content, words):
    config = tmp_path / "c.json"
    config.write_text(content)
    with pytest.raises(SystemExit) as exc:
        main(["serve", "-config", str(config)])
    assert exc.value.code == 2
    assert words in capsys.readouterr().err


def test_a_real_client_through_the_challtestsrv_api(serve):
    """dns-01 for a wildcard: the client publishes TXT records over HTTP, as with
    pebble-challtestsrv; the certificate chains to /roots/0 of the management API."""
    banner = serve(FREE_PORTS, {})
    directory_url, bundle = banner_field(banner, "directory:"), banner_field(banner, "CA bundle:")
    challtestsrv = banner_field(banner, "challtestsrv:").rsplit("/set-txt", 1)[0].rstrip(",")
    management = banner_field(banner, "management:").rsplit("/roots/0", 1)[0]
    acme = account_client(_Coordinates(directory_url, bundle))
    key = ec_key()
    order = acme.new_order(make_csr(["*.cli.example.test", "cli.example.test"], key))
    for authz in order.authorizations:
        challb = next(c for c in authz.body.challenges if c.chall.typ == "dns-01")
        response, value = challb.chall.response_and_validation(acme.net.key)
        r = requests.post(f"{challtestsrv}/set-txt", timeout=5, json={
            "host": "_acme-challenge.cli.example.test.", "value": value})
        assert r.status_code == 200
        acme.answer_challenge(challb, response)
    order = acme.poll_authorizations(order, deadline(30))
    order = acme.begin_finalization(order)
    chain = split_chain(acme.net.post(order.body.certificate, None).content)
    root = requests.get(f"{management}/roots/0", verify=bundle, timeout=5).content
    verify_chain(chain, root)
    status = requests.get(f"{management}/cert-status-by-serial/{chain[0].serial_number:x}",
                          verify=bundle, timeout=5).json()
    assert status["Status"] == "Valid"
    orders = requests.get(f"{management}/pytest-acme/orders", verify=bundle, timeout=5).json()
    assert [o["status"] for o in orders] == ["valid"]
    # One log line per request: method, path, status.
    assert "POST /acme/new-order 201" in serve.out.getvalue()


class _Coordinates:
    """What ``account_client`` needs of a server: its directory URL and CA bundle."""

    def __init__(self, directory_url: str, ca_bundle: str) -> None:
        self.directory_url, self.ca_bundle = directory_url, ca_bundle


def test_serve_as_a_subprocess_with_its_management_apis():
    serve = ServeProcess([*FREE_PORTS, "-v"], env={
        "PATH": "/usr/bin:/bin", "PEBBLE_VA_ALWAYS_VALID": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        seen = serve.banner
        bundle = banner_field(seen, "CA bundle:")
        management = banner_field(seen, "management:").rsplit("/roots/0", 1)[0]
        challtestsrv = banner_field(seen, "challtestsrv:").rsplit("/set-txt", 1)[0]
        assert "validation:   always_valid" in seen  # PEBBLE_VA_ALWAYS_VALID
        root = requests.get(f"{management}/roots/0", verify=bundle, timeout=5)
        assert root.text.startswith("-----BEGIN CERTIFICATE-----")
        clock = requests.post(f"{management}/pytest-acme/clock/advance", json={"seconds": 60},
                              verify=bundle, timeout=5).json()
        assert clock["offset_seconds"] == 60
        assert requests.post(f"{challtestsrv}/add-a", timeout=5, json={
            "host": "x.example.test", "addresses": ["127.0.0.9"]}).status_code == 200
        directory = requests.get(banner_field(seen, "directory:"), verify=bundle, timeout=5)
        assert directory.status_code == 200
        assert serve.line() == "GET /directory 200"
        serve.proc.send_signal(signal.SIGTERM)
        assert serve.proc.wait(timeout=10) == 0
    finally:
        serve.close()


def test_challenge_and_caa_flags_and_pebbles_caa_identities(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"pebble": {"caaIdentities": ["ca.example.net"]}}))
    args = _parser().parse_args(["serve", "-config", str(config)])
    settings = plan(args, {})["settings"]
    assert settings["caa_identities"] == ("ca.example.net",)
    assert not plan(args, {})["warnings"]
    args = _parser().parse_args([
        "serve", "--challenge-type", "dns-01", "--challenge-type", "dns-persist-01",
        "--caa-identity", "a.example.net", "--caa-identity", "b.example.net", "--no-caa",
        "--caa-recheck-after", "60"])
    settings = plan(args, {})["settings"]
    picked = {k: settings[k] for k in ("challenge_types", "caa_identities", "caa",
                                       "caa_recheck_after")}
    assert picked == {"challenge_types": ["dns-01", "dns-persist-01"],
                      "caa_identities": ["a.example.net", "b.example.net"],
                      "caa": False, "caa_recheck_after": 60}
    from pytest_acme import AcmeConfig

    cfg = AcmeConfig(**picked)
    assert cfg.challenge_types == ("dns-01", "dns-persist-01") and cfg.caa is False
    assert "caa" not in plan(_parser().parse_args(["serve"]), {})["settings"]
