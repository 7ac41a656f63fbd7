"""dns-account-01 (draft-ietf-acme-dns-account-label) over real HTTPS: the TXT
record at ``_<account label>._acme-challenge.<name>``, published through
``acme_dns``, checked by the real validator; and which challenges are offered."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from helpers import (
    account_client,
    account_url,
    answer_and_wait,
    challenge_json,
    deadline,
    ec_key,
    key_authorization_for,
    make_csr,
    read,
    sans,
    split_chain,
)
from jws_client import PROBLEM
from pytest_acme import dns01_txt, dns_account01_name
from pytest_acme.protocol.resources import CHALLENGE_TYPES
from pytest_acme.va.dnsaccount01 import dns_account01_label

# The drafts are offered only when asked for.
pytestmark = pytest.mark.acme(challenge_types=CHALLENGE_TYPES)


def publish(acme, zone, authz_url: str) -> Dict[str, Any]:
    """Publish this account's dns-account-01 record for the authorization; the challenge."""
    base = read(acme, authz_url)["identifier"]["value"]
    chall = challenge_json(acme, authz_url, "dns-account-01")
    zone.set_txt(dns_account01_name(account_url(acme), base),
                 dns01_txt(key_authorization_for(acme, chall["token"])))
    return chall


def test_the_label_is_the_drafts():
    # The example of draft-ietf-acme-dns-account-label (and Boulder's tests).
    assert dns_account01_label("https://example.com/acme/acct/ExampleAccount") == "_ujmmovf2vn55tgye"
    assert dns_account01_name("https://example.com/acme/acct/1", "Example.org.") == \
        "_vrr7uudrklshxb6l._acme-challenge.Example.org"


def test_an_order_for_a_name_and_its_wildcard_through_dns_account01(acme_server, acme_dns):
    acme = account_client(acme_server)
    key = ec_key()
    names = ["acct.example.test", "*.acct.example.test"]
    order = acme.new_order(make_csr(names, key))
    for authz in order.authorizations:
        chall = publish(acme, acme_dns, authz.uri)
        done = answer_and_wait(acme, acme_server, chall["url"])
        assert done["status"] == "valid", done
        assert done["validationRecord"] == [{"hostname": "acct.example.test"}]
    # One name, two digests (the wildcard's and the base's) under one account label.
    label_name = dns_account01_name(account_url(acme), "acct.example.test")
    assert len(acme_dns.txt(label_name)) == 2
    order = acme.poll_and_finalize(acme.poll_authorizations(order, deadline()), deadline())
    leaf = split_chain(order.fullchain_pem)[0]
    assert sans(leaf) == set(names)
    assert leaf.public_key().public_numbers() == key.public_key().public_numbers()


def test_two_accounts_prove_one_name_at_once_without_clashing(acme_server, acme_dns):
    first, second = account_client(acme_server), account_client(acme_server)
    pending = []
    for acme in (first, second):
        order = acme.new_order(make_csr(["shared.example.test"]))
        (authz,) = order.authorizations
        pending.append((acme, publish(acme, acme_dns, authz.uri)))
    names = {dns_account01_name(account_url(a), "shared.example.test") for a, _ in pending}
    assert len(names) == 2  # each account has its own label
    for acme, chall in pending:
        assert answer_and_wait(acme, acme_server, chall["url"])["status"] == "valid"


def test_a_missing_record_names_where_it_looked_and_the_account(acme_server, acme_dns):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["miss.example.test"]))
    (authz,) = order.authorizations
    chall = challenge_json(acme, authz.uri, "dns-account-01")
    # A dns-01 record does not do for dns-account-01.
    acme_dns.set_txt("_acme-challenge.miss.example.test",
                     dns01_txt(key_authorization_for(acme, chall["token"])))
    done = answer_and_wait(acme, acme_server, chall["url"])
    assert done["status"] == "invalid"
    error = done["error"]
    assert error["type"] == PROBLEM + "unauthorized"
    expected_name = dns_account01_name(account_url(acme), "miss.example.test")
    assert f"no TXT record found at {expected_name}" in error["detail"]
    assert account_url(acme) in error["detail"]
    assert read(acme, order.uri)["status"] == "invalid"


def test_a_wrong_value_is_unauthorized(acme_server, acme_dns):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["wrong.example.test"]))
    (authz,) = order.authorizations
    chall = challenge_json(acme, authz.uri, "dns-account-01")
    name = dns_account01_name(account_url(acme), "wrong.example.test")
    acme_dns.set_txt(name, "not-the-digest")
    done = answer_and_wait(acme, acme_server, chall["url"])
    assert done["error"]["type"] == PROBLEM + "unauthorized"  # as Boulder
    assert f"incorrect TXT record at {name}" in done["error"]["detail"]
    assert "'not-the-digest'" in done["error"]["detail"]


def test_servfail_is_a_dns_problem(acme_server, acme_dns):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["sf.example.test"]))
    (authz,) = order.authorizations
    chall = challenge_json(acme, authz.uri, "dns-account-01")
    acme_dns.set_servfail(dns_account01_name(account_url(acme), "sf.example.test"))
    assert answer_and_wait(acme, acme_server, chall["url"])["error"]["type"] == PROBLEM + "dns"


# -- which challenges are offered -------------------------------------------------------


@pytest.mark.acme(challenge_types=["dns-account-01", "http-01"], shuffle="none")
def test_challenge_types_choose_and_order_the_offer(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["o.example.test", "*.o.example.test", "127.0.0.1"]))
    offered = {}
    for authz in order.authorizations:
        body = read(acme, authz.uri)
        key = ("*." if body.get("wildcard") else "") + body["identifier"]["value"]
        offered[key] = [c["type"] for c in body["challenges"]]
    assert offered == {"o.example.test": ["dns-account-01", "http-01"],
                       "*.o.example.test": ["dns-account-01"],
                       "127.0.0.1": ["http-01"]}


@pytest.mark.acme(challenge_types=["http-01", "tls-alpn-01"])
def test_an_identifier_no_offered_challenge_can_prove_is_rejected(acme_server):
    from helpers import post_unchecked

    acme = account_client(acme_server)
    response = post_unchecked(acme, acme.directory["newOrder"], {"identifiers": [
        {"type": "dns", "value": "fine.example.test"},
        {"type": "dns", "value": "*.wild.example.test"}]})
    assert response.status_code == 400
    doc = response.json()
    assert doc["type"] == PROBLEM + "rejectedIdentifier"
    assert "*.wild.example.test" in doc["detail"] and "http-01, tls-alpn-01" in doc["detail"]
    assert [p["identifier"] for p in doc["subproblems"]] == [
        {"type": "dns", "value": "*.wild.example.test"}]


def test_the_default_offer_is_lets_encrypts_three():
    from pytest_acme import AcmeConfig

    assert AcmeConfig().challenge_types == ("http-01", "dns-01", "tls-alpn-01")
    assert AcmeConfig(challenge_types=CHALLENGE_TYPES).challenge_types == (
        "http-01", "dns-01", "tls-alpn-01", "dns-account-01", "dns-persist-01")


def test_unknown_challenge_types_are_refused_in_config():
    from pytest_acme import AcmeConfig

    with pytest.raises(ValueError, match="challenge_types"):
        AcmeConfig(challenge_types=("http-01", "email-reply-00"))
    with pytest.raises(ValueError, match="challenge_types"):
        AcmeConfig(challenge_types=())
