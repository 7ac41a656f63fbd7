"""dns-persist-01 (draft-ietf-acme-dns-persist) over real HTTPS: one standing
TXT record at ``_validation-persist.<name>`` naming the CA and the account,
published through ``acme_dns`` and checked by the real validator."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Tuple

import pytest

from helpers import (
    account_client,
    account_url,
    answer_and_wait,
    challenge_json,
    challenge_refused,
    deadline,
    ec_key,
    make_csr,
    read,
    sans,
    split_chain,
)
from pytest_acme import AcmeServer, dns_persist01_name, dns_persist01_txt
from pytest_acme.protocol.resources import CHALLENGE_TYPES

US = "pytest-acme.test"

# The drafts are offered only when asked for.
pytestmark = pytest.mark.acme(challenge_types=CHALLENGE_TYPES)


def attempt(server: AcmeServer, zone, name: str, *values: str, acme=None,
            wildcard: bool = False) -> Tuple[Any, Dict[str, Any]]:
    """Order ``name`` (or its wildcard), publish ``values`` (a callable gets the account
    URL) at its _validation-persist name, answer dns-persist-01; the challenge after."""
    acme = acme or account_client(server)
    order = acme.new_order(make_csr([("*." if wildcard else "") + name]))
    (authz,) = order.authorizations
    for value in values:
        zone.set_txt(dns_persist01_name(name), value(account_url(acme)) if callable(value)
                     else value)
    chall = challenge_json(acme, authz.uri, "dns-persist-01")
    return acme, answer_and_wait(acme, server, chall["url"])


def test_the_challenge_names_the_issuer_and_account_and_has_no_token(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["p.example.test"]))
    chall = challenge_json(acme, order.authorizations[0].uri, "dns-persist-01")
    assert chall["issuer-domain-names"] == [US]
    assert chall["accounturi"] == acme.net.account.uri
    assert "token" not in chall and chall["status"] == "pending"


def test_the_record_builder():
    url = "https://127.0.0.1:14000/acme/acct/1"
    assert dns_persist01_txt(US, url) == f"{US}; accounturi={url}"
    until = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    assert dns_persist01_txt(US, url, wildcard=True, persist_until=until) == \
        f"{US}; accounturi={url}; policy=wildcard; persistUntil=1893456000"
    assert dns_persist01_name("Example.test.") == "_validation-persist.Example.test"


def test_one_record_serves_order_after_order(acme_server, acme_dns):
    acme = account_client(acme_server)
    acme_dns.set_txt(dns_persist01_name("keep.example.test"),
                     dns_persist01_txt(US, account_url(acme)))
    for _ in range(2):  # no DNS change between the two orders
        key = ec_key()
        order = acme.new_order(make_csr(["keep.example.test"], key))
        (authz,) = order.authorizations
        chall = challenge_json(acme, authz.uri, "dns-persist-01")
        done = answer_and_wait(acme, acme_server, chall["url"])
        assert done["status"] == "valid", done
        order = acme.poll_and_finalize(acme.poll_authorizations(order, deadline()), deadline())
        assert sans(split_chain(order.fullchain_pem)[0]) == {"keep.example.test"}


def test_records_for_other_cas_and_unknown_parameters_are_ignored(acme_server, acme_dns):
    _, chall = attempt(acme_server, acme_dns, "mix.example.test",
                       "other-ca.test; accounturi=https://elsewhere/acct/9",
                       lambda url: f"{US.upper()} ;accounturi={url}; future=1")
    assert chall["status"] == "valid", chall


@pytest.mark.parametrize("record", [
    "{us}.; accounturi={url}",  # the issuer with a trailing dot
    "{us}; accounturi={url}; note=any text, even with spaces",  # unknown tags: any value
    "{us}; accounturi={url}; x=1; x=2",  # unknown tags: any number of times
    "{us}; accounturi={url}; persistUntil=+99999999999999999",  # far off, signed
    "{us}; accounturi={url}; persistUntil=9223372036854775807",  # past any datetime
], ids=["trailing-dot", "unknown-value", "unknown-twice", "far-future", "int64-max"])
def test_records_boulder_accepts(acme_server, acme_dns, record):
    _, chall = attempt(acme_server, acme_dns, "ok.example.test",
                       lambda url: record.format(us=US, url=url))
    assert chall["status"] == "valid", chall


def test_a_wildcard_needs_policy_wildcard(acme_server, acme_dns):
    _, chall = attempt(acme_server, acme_dns, "w.example.test",
                       lambda url: dns_persist01_txt(US, url), wildcard=True)
    challenge_refused(chall, "unauthorized", "*.w.example.test", "needs policy=wildcard")
    acme_dns.clear_txt(dns_persist01_name("w.example.test"))
    _, chall = attempt(acme_server, acme_dns, "w.example.test",
                       lambda url: f"{US}; accounturi={url}; policy=WildCard", wildcard=True)
    assert chall["status"] == "valid", chall


def test_the_accounturi_must_be_the_account_asking(acme_server, acme_dns):
    owner = account_client(acme_server)
    _, chall = attempt(acme_server, acme_dns, "acct.example.test",
                       dns_persist01_txt(US, account_url(owner)))
    # A fresh account asked, with the owner's record in place.
    detail = challenge_refused(chall, "unauthorized", f"accounturi is {account_url(owner)}")
    assert "_validation-persist.acct.example.test" in detail
    _, chall = attempt(acme_server, acme_dns, "acct.example.test", acme=owner)
    assert chall["status"] == "valid"


def test_persist_until_follows_the_server_clock(acme_server, acme_dns):
    until = acme_server.clock.now() + dt.timedelta(days=30)
    acme = account_client(acme_server)
    value = dns_persist01_txt(US, account_url(acme), persist_until=until)
    _, chall = attempt(acme_server, acme_dns, "until.example.test", value, acme=acme)
    assert chall["status"] == "valid"
    acme_server.clock.advance(dt.timedelta(days=31))
    _, chall = attempt(acme_server, acme_dns, "until.example.test", acme=acme)
    challenge_refused(chall, "unauthorized", f"persistUntil {int(until.timestamp())}", "has passed")


@pytest.mark.parametrize("record, words", [
    ("{us}; accounturi={url}; accounturi={url}", ["given twice"]),
    ("{us}; accounturi={url}; persistUntil=tomorrow", ["not Unix seconds"]),
    ("{us}; policy=wildcard", ["accounturi parameter is required"]),
    ("{us}; accounturi={url};", ["an empty parameter"]),
    ("{us}; accounturi={url}; policy", ["'policy' is not a tag=value parameter"]),
    ("{us}; accounturi={url}; POLICY=wildcard; policy=wildcard", ["given twice"]),
    ("{us}; accounturi={url}; policy=wild card", ["the value of 'policy' has a space"]),
    ("{us}; accounturi={url}; persistUntil={big}", ["is not Unix seconds"]),
])
def test_a_malformed_record_for_this_ca_is_malformed(acme_server, acme_dns, record, words):
    _, chall = attempt(acme_server, acme_dns, "bad.example.test",
                       lambda url: record.format(us=US, url=url, big=2**63))
    challenge_refused(chall, "malformed", "malformed dns-persist-01 record at "
                      "_validation-persist.bad.example.test", *words)


def test_no_record_or_none_for_this_ca_says_what_to_publish(acme_server, acme_dns):
    acme, chall = attempt(acme_server, acme_dns, "none.example.test")
    challenge_refused(chall, "unauthorized",
                      "no TXT record found at _validation-persist.none.example.test",
                      f"{US}; accounturi={account_url(acme)}")
    acme, chall = attempt(acme_server, acme_dns, "other.example.test",
                          "other-ca.test; accounturi=https://elsewhere/acct/9")
    challenge_refused(chall, "unauthorized", f"names this CA ({US})", "'other-ca.test; accounturi")


@pytest.mark.acme(caa_identities=["ca.example.net"])
def test_the_issuer_domain_names_are_the_caa_identities(acme_server, acme_dns):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["id.example.test"]))
    chall = challenge_json(acme, order.authorizations[0].uri, "dns-persist-01")
    assert chall["issuer-domain-names"] == ["ca.example.net"]
    _, done = attempt(acme_server, acme_dns, "id.example.test",
                      lambda url: dns_persist01_txt("ca.example.net", url), acme=acme)
    assert done["status"] == "valid"
    assert read(acme, order.uri)["status"] == "pending"  # the first order was not answered
