"""Certificate profiles (draft-ietf-acme-profiles): meta.profiles, newOrder ``profile``,
per-profile validity and common name, a fixed default, ``invalidProfile``."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from acme import client, messages
from cryptography import x509

from helpers import account_client, ec_key, issue_leaf, make_csr, new_order
from jws_client import PROBLEM
from pytest_acme import AcmeConfig, Profile

pytestmark = pytest.mark.acme(validation="always_valid")



def directory(server):
    return requests.get(server.directory_url, verify=server.ca_bundle, timeout=10).json()


def lifetime(cert: x509.Certificate) -> dt.timedelta:
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_after_utc - cert.not_valid_before_utc
    return cert.not_valid_after - cert.not_valid_before


def common_names(cert: x509.Certificate):
    return [a.value for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]


def test_the_directory_lists_classic_and_shortlived(acme_server):
    profiles = directory(acme_server)["meta"]["profiles"]
    assert list(profiles) == ["classic", "shortlived"]
    assert "160 hours" in profiles["shortlived"]


def test_an_order_without_profile_gets_the_default_every_time(acme_server):
    acme = account_client(acme_server)
    order = new_order(acme, ["plain.example.test"])
    assert acme.net.post(order.uri, None).json()["profile"] == "classic"
    leaf = issue_leaf(acme_server, acme, ["plain.example.test", "www.plain.example.test"])
    assert common_names(leaf) == ["plain.example.test"]
    assert lifetime(leaf) == dt.timedelta(days=90)
    assert acme_server.orders()[-1].profile == "classic"


def test_shortlived_has_no_common_name_and_160_hours(acme_server):
    acme = account_client(acme_server)
    order = new_order(acme, ["short.example.test"], profile="shortlived")
    assert acme.net.post(order.uri, None).json()["profile"] == "shortlived"
    leaf = issue_leaf(acme_server, acme, ["short.example.test"], profile="shortlived")
    assert common_names(leaf) == [] and leaf.subject == x509.Name([])
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical  # RFC 5280 §4.2.1.6: empty subject, critical SAN
    assert lifetime(leaf) == dt.timedelta(hours=160)


@pytest.mark.acme(profiles={"a": {"description": "A", "validity": 3600},
                            "b": Profile("B", validity=7200, common_name=False)},
                  default_profile="b")
def test_configured_profiles_and_default(acme_server):
    assert directory(acme_server)["meta"]["profiles"] == {"a": "A", "b": "B"}
    acme = account_client(acme_server)
    leaf = issue_leaf(acme_server, acme, ["conf.example.test"])
    assert lifetime(leaf) == dt.timedelta(hours=2) and common_names(leaf) == []
    leaf = issue_leaf(acme_server, acme, ["conf.example.test"], profile="a")
    assert lifetime(leaf) == dt.timedelta(hours=1)
    assert common_names(leaf) == ["conf.example.test"]


def test_unknown_and_malformed_profiles(acme_server):
    acme = account_client(acme_server)
    with pytest.raises(messages.Error) as err:
        new_order(acme, ["x.example.test"], profile="tlsserver")
    assert err.value.typ == PROBLEM + "invalidProfile"
    assert "classic, shortlived" in err.value.detail
    with pytest.raises(messages.Error) as err:
        new_order(acme, ["x.example.test"], profile=7)
    assert err.value.typ == PROBLEM + "malformed"
    assert acme_server.orders() == []


def test_not_after_may_not_exceed_the_profiles_validity(acme_server):
    acme = account_client(acme_server)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=10)
    with pytest.raises(messages.Error) as err:
        new_order(acme, ["na.example.test"], profile="shortlived",
                  notAfter=later.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert err.value.typ == PROBLEM + "malformed" and "longer than" in err.value.detail
    order = new_order(acme, ["na.example.test"], notAfter=later.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert acme.net.post(order.uri, None).json()["profile"] == "classic"


@pytest.mark.acme(profiles={})
def test_no_profiles(acme_server):
    assert "profiles" not in directory(acme_server)["meta"]
    acme = account_client(acme_server)
    order = new_order(acme, ["none.example.test"])
    assert "profile" not in acme.net.post(order.uri, None).json()
    with pytest.raises(messages.Error) as err:
        new_order(acme, ["none.example.test"], profile="classic")
    assert err.value.typ == PROBLEM + "invalidProfile"
    assert "advertises no profiles" in err.value.detail


@pytest.mark.skipif("profile" not in client.ClientV2.new_order.__code__.co_varnames,
                    reason="this acme release cannot ask for a profile")
def test_the_acme_library_asks_for_a_profile(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["lib.example.test"], ec_key()), profile="shortlived")
    assert order.body.profile == "shortlived"


def test_config_checks_profiles():
    with pytest.raises(ValueError, match="default_profile 'x'"):
        AcmeConfig(default_profile="x")
    with pytest.raises(ValueError, match="validity must be a positive"):
        AcmeConfig(profiles={"a": {"validity": 0}})
    with pytest.raises(ValueError, match="unknown field"):
        AcmeConfig(profiles={"a": {"lifetime": 5}})
    assert AcmeConfig(profiles={}).profile_default is None
    assert AcmeConfig().profile_default == "classic"
