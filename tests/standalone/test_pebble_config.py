"""Pebble's config file and flags: every key is honoured, and Pebble's flags turn
on pebble mode (pytest_acme.standalone.pebble, cli.plan)."""

from __future__ import annotations

import json

import pytest
from acme import messages

from helpers import account_client, issue_leaf, make_csr
from pytest_acme import AcmeConfig, AcmeServer
from pytest_acme.cli import _parser, plan
from pytest_acme.standalone.pebble import PEBBLE_VALIDITY, from_pebble

#: Pebble's test/config/pebble-config.json (without its certificate files).
PEBBLE_TEST_CONFIG = {
    "listenAddress": "0.0.0.0:14000",
    "managementListenAddress": "0.0.0.0:15000",
    "httpPort": 5002,
    "tlsPort": 5001,
    "externalAccountBindingRequired": False,
    "domainBlocklist": ["blocked-domain.example"],
    "retryAfter": {"authz": 3, "order": 5},
    "keyAlgorithm": "ecdsa",
    "profiles": {
        "default": {"description": "The profile you know and love", "validityPeriod": 7776000},
        "shortlived": {"description": "A short-lived cert profile", "validityPeriod": 518400},
    },
}


def test_every_key_of_pebbles_test_config_is_honoured():
    out = from_pebble(PEBBLE_TEST_CONFIG, {})
    s = out.settings
    assert s["domain_blocklist"] == ("blocked-domain.example",)
    assert (s["retry_after_authz"], s["retry_after_order"]) == (3, 5)
    assert s["ca_key_type"] == "ecdsa" and s["eab_required"] is False
    assert s["certificate_validity"] == PEBBLE_VALIDITY == 1826 * 86400  # Pebble: 5 years
    assert (s["http01_port"], s["tlsalpn01_port"], s["port"]) == (5002, 5001, 14000)
    # The one thing said: Pebble draws a profile for orders naming none, this server not.
    assert len(out.warnings) == 1 and "orders that name no profile" in out.warnings[0]
    config = AcmeConfig(**{k: v for k, v in s.items() if k not in ("host", "port")})
    assert config.domain_blocklist == ("blocked-domain.example",)
    assert (config.authz_retry_after, config.order_retry_after) == (3, 5)


def test_pebbles_defaults_for_keys_left_out():
    s = from_pebble({"listenAddress": "127.0.0.1:14000"}, {}).settings
    assert (s["ca_key_type"], s["certificate_validity"]) == ("rsa", PEBBLE_VALIDITY)
    assert "ca_key_type" not in from_pebble(None, {}).settings  # no config file: no change


def test_names_match_without_regard_to_case_as_go_decodes_them():
    s = from_pebble({"ListenAddress": "127.0.0.1:14001", "RETRYAFTER": {"Authz": 2},
                     "DomainBlockList": ["b.example"], "keyalgorithm": "RSA"}, {}).settings
    assert (s["port"], s["retry_after_authz"], s["domain_blocklist"], s["ca_key_type"]) == \
        (14001, 2, ("b.example",), "rsa")
    assert "retry_after_order" not in s


@pytest.mark.parametrize("value,seconds", [(600, 600), (0, PEBBLE_VALIDITY)])
def test_certificate_validity_period(value, seconds):
    assert from_pebble({"certificateValidityPeriod": value}, {}).settings[
        "certificate_validity"] == seconds


@pytest.mark.parametrize("config,words", [
    ({"keyAlgorithm": "dsa"}, "keyAlgorithm"),
    ({"retryAfter": 3}, "retryAfter"),
    ({"retryAfter": {"authz": -1}}, "retryAfter.authz"),
    ({"domainBlocklist": "one.example"}, "domainBlocklist"),
    ({"certificateValidityPeriod": "1y"}, "certificateValidityPeriod"),
])
def test_bad_values_are_refused_with_the_key_named(config, words):
    with pytest.raises(ValueError, match=words):
        from_pebble(config, {})


def test_unknown_keys_are_reported():
    out = from_pebble({"emailEnabled": True}, {})
    assert out.warnings == ["unknown Pebble option 'emailEnabled' left out (Pebble ignores "
                            "it too)"]


@pytest.mark.parametrize("argv,pebble", [
    ([], None),
    (["-strict"], True),
    (["-dnsserver", "127.0.0.1:8053"], True),
    (["--require-terms-agreement"], None),
])
def test_pebbles_flags_turn_on_pebble_mode(argv, pebble):
    settings = plan(_parser().parse_args(["serve", *argv]), {})["settings"]
    assert settings.get("pebble") is pebble


def test_a_pebble_config_file_runs_as_pebble(tmp_path):
    """Suite-style: a server planned from Pebble's config behaves as Pebble."""
    path = tmp_path / "pebble-config.json"
    path.write_text(json.dumps({"pebble": PEBBLE_TEST_CONFIG}))
    settings = plan(_parser().parse_args(["serve", "-config", str(path)]),
                    {"PEBBLE_VA_ALWAYS_VALID": "1"})["settings"]
    assert settings["pebble"] is True
    settings.update(host="127.0.0.1", port=0, dns_port=None)
    with AcmeServer(**settings) as server:
        acme = account_client(server)
        assert acme.directory.meta.terms_of_service == "data:text/plain,Do%20what%20thou%20wilt"
        with pytest.raises(messages.Error) as e:
            acme.new_order(make_csr(["www.blocked-domain.example"]))
        assert e.value.typ == "urn:ietf:params:acme:error:rejectedIdentifier"
        assert e.value.detail == ("Order included an identifier for which issuance is "
                                  'forbidden by policy: "www.blocked-domain.example"')
        leaf = issue_leaf(server, acme, ["ok.pebble.test"])
        assert len(leaf.subject) == 0
        assert leaf.issuer.rfc4514_string().startswith("CN=Pebble Intermediate CA ")
        lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
        assert lifetime.total_seconds() == 7776000  # the "default" profile's validityPeriod
