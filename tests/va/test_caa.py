"""CAA (RFC 8659, RFC 8657) over real HTTPS: records published in the server's
zone through ``acme_dns``, checked after a successful dns-01 or http-01
challenge and again at finalization, failures as ``caa`` (or ``dns``) problems."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import pytest

from helpers import (
    account_client,
    account_url,
    answer_and_wait,
    challenge_json,
    challenge_refused,
    deadline,
    ec_key,
    finalize_problem,
    key_authorization_for,
    make_csr,
    read,
    sans,
    split_chain,
)
from jws_client import PROBLEM
from pytest_acme import AcmeServer, dns01_txt, dns_account01_name
from pytest_acme.protocol.identifiers import Identifier
from pytest_acme.va.caa import CaaPolicy, CaaSyntaxError, parse_issue_value
from pytest_acme.va.resolver import ZoneResolver
from pytest_acme.va.zone import Zone

US = "pytest-acme.test"


def new_order(server: AcmeServer, names: List[str]):
    acme = account_client(server)
    csr = make_csr(names, ec_key())
    return acme, acme.new_order(csr), csr


def solve_dns01(acme, server: AcmeServer, zone: Zone, authz_url: str) -> Dict[str, Any]:
    """Publish the dns-01 record of an authorization and answer its challenge."""
    base = read(acme, authz_url)["identifier"]["value"]
    chall = challenge_json(acme, authz_url, "dns-01")
    zone.set_txt(f"_acme-challenge.{base}", dns01_txt(key_authorization_for(acme, chall["token"])))
    return answer_and_wait(acme, server, chall["url"])


def validate_one(server: AcmeServer, zone: Zone, name: str) -> Tuple[Any, Any, Dict[str, Any]]:
    acme, order, _ = new_order(server, [name])
    (authz,) = order.authorizations
    return acme, order, solve_dns01(acme, server, zone, authz.uri)


def assert_caa_refused(acme, order, chall: Dict[str, Any], *words: str) -> str:
    detail = challenge_refused(chall, "caa", *words)
    (authz,) = order.authorizations
    assert read(acme, authz.uri)["status"] == "invalid"
    body = read(acme, order.uri)
    assert body["status"] == "invalid" and body["error"]["type"] == PROBLEM + "caa"
    return detail


# -- issue: who may issue -------------------------------------------------------------


def test_a_record_naming_this_ca_at_a_parent_lets_the_order_through(acme_server, acme_dns):
    acme_dns.add_caa("example.test", 0, "issue", US)
    acme_dns.add_caa("example.test", 0, "iodef", "mailto:security@example.test")
    key = ec_key()
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["www.example.test"], key))
    (authz,) = order.authorizations
    assert solve_dns01(acme, acme_server, acme_dns, authz.uri)["status"] == "valid"
    order = acme.poll_and_finalize(acme.poll_authorizations(order, deadline()), deadline())
    assert sans(split_chain(order.fullchain_pem)[0]) == {"www.example.test"}
    acme_server.check()


def test_a_record_naming_another_ca_refuses_naming_record_and_place(acme_server, acme_dns):
    acme_dns.add_caa("example.test", 0, "issue", "other-ca.test")
    acme, order, chall = validate_one(acme_server, acme_dns, "a.b.example.test")
    detail = assert_caa_refused(acme, order, chall, "While processing CAA for a.b.example.test: "
                                'CAA record for example.test prevents issuance: '
                                '0 issue "other-ca.test": names another CA, other-ca.test', US)
    assert chall["error"]["status"] == 403
    assert "dns-01" in detail


def test_the_closest_name_with_records_decides(acme_server, acme_dns):
    """RFC 8659 §3: the climb stops at the first name that has CAA records."""
    acme_dns.add_caa("example.test", 0, "issue", "other-ca.test")
    acme_dns.add_caa("ok.example.test", 0, "issue", US)
    _, _, chall = validate_one(acme_server, acme_dns, "www.ok.example.test")
    assert chall["status"] == "valid", chall
    acme_dns.clear_caa("example.test")
    acme_dns.add_caa("example.test", 0, "issue", US)
    acme_dns.add_caa("no.example.test", 0, "issue", ";")
    acme, order, chall = validate_one(acme_server, acme_dns, "no.example.test")
    assert_caa_refused(acme, order, chall, 'CAA record for no.example.test prevents issuance: '
                       '0 issue ";": names no CA')


def test_records_only_for_other_tags_allow_anyone(acme_server, acme_dns):
    acme_dns.add_caa("example.test", 0, "iodef", "mailto:x@example.test")
    acme_dns.add_caa("example.test", 0, "futuretag", "whatever")  # not critical: ignored
    assert validate_one(acme_server, acme_dns, "x.example.test")[2]["status"] == "valid"


def test_a_critical_unknown_tag_refuses(acme_server, acme_dns):
    acme_dns.add_caa("example.test", 0, "issue", US)
    acme_dns.add_caa("example.test", 128, "futuretag", "whatever")
    acme, order, chall = validate_one(acme_server, acme_dns, "x.example.test")
    assert_caa_refused(acme, order, chall, "CAA record for example.test prevents issuance",
                       '128 futuretag "whatever" is critical')


def test_a_malformed_issue_value_authorizes_no_one(acme_server, acme_dns):
    acme_dns.add_caa("example.test", 0, "issue", f"{US}; accounturi")
    acme, order, chall = validate_one(acme_server, acme_dns, "x.example.test")
    assert_caa_refused(acme, order, chall, "malformed value")


# -- CNAME ----------------------------------------------------------------------------


def test_a_cname_is_followed_and_the_detail_names_the_alias(acme_server, acme_dns):
    acme_dns.set_cname("alias.example.test", "target.elsewhere.test")
    acme_dns.add_caa("target.elsewhere.test", 0, "issue", "other-ca.test")
    acme, order, chall = validate_one(acme_server, acme_dns, "alias.example.test")
    assert_caa_refused(acme, order, chall, "CAA record for alias.example.test (alias of "
                       "target.elsewhere.test) prevents issuance")


def test_the_cname_targets_parents_are_not_climbed(acme_server, acme_dns):
    """RFC 8659 dropped RFC 6844's climb from the CNAME target: only the
    identifier's own ancestors count."""
    acme_dns.set_cname("alias.example.test", "target.elsewhere.test")
    acme_dns.add_caa("elsewhere.test", 0, "issue", "other-ca.test")
    assert validate_one(acme_server, acme_dns, "alias.example.test")[2]["status"] == "valid"


# -- wildcards ------------------------------------------------------------------------


def test_issuewild_governs_wildcards_and_issue_the_base_name(acme_server, acme_dns):
    acme_dns.add_caa("w.example.test", 0, "issue", US)
    acme_dns.add_caa("w.example.test", 0, "issuewild", "other-ca.test")
    acme, order, _ = new_order(acme_server, ["w.example.test", "*.w.example.test"])
    results = {}
    for authz in order.authorizations:
        wildcard = read(acme, authz.uri).get("wildcard", False)
        results[wildcard] = solve_dns01(acme, acme_server, acme_dns, authz.uri)
    assert results[False]["status"] == "valid"
    assert results[True]["status"] == "invalid"
    error = results[True]["error"]
    assert error["type"] == PROBLEM + "caa"
    assert "*.w.example.test" in error["detail"] and "issuewild" in error["detail"]


def test_without_issuewild_a_wildcard_follows_issue(acme_server, acme_dns):
    acme_dns.add_caa("v.example.test", 0, "issue", US)
    acme, order, _ = new_order(acme_server, ["*.v.example.test"])
    (authz,) = order.authorizations
    assert solve_dns01(acme, acme_server, acme_dns, authz.uri)["status"] == "valid"


# -- RFC 8657 parameters --------------------------------------------------------------


def test_accounturi_must_be_this_account(acme_server, acme_dns):
    acme, order, _ = new_order(acme_server, ["acct.example.test"])
    me = account_url(acme)
    acme_dns.add_caa("acct.example.test", 0, "issue", f"{US}; accounturi={me}")
    (authz,) = order.authorizations
    assert solve_dns01(acme, acme_server, acme_dns, authz.uri)["status"] == "valid"

    other, order2, _ = new_order(acme_server, ["acct.example.test"])
    (authz2,) = order2.authorizations
    chall = solve_dns01(other, acme_server, acme_dns, authz2.uri)
    assert_caa_refused(other, order2, chall, f"accounturi is {me}, not this account",
                       account_url(other))


@pytest.mark.acme(challenge_types=["dns-01", "dns-account-01"])
def test_validationmethods_must_include_the_method_used(acme_server, acme_dns):
    acme_dns.add_caa("m.example.test", 0, "issue",
                     f"{US}; validationmethods=http-01,dns-account-01")
    acme, order, chall = validate_one(acme_server, acme_dns, "m.example.test")
    assert_caa_refused(acme, order, chall,
                       "validationmethods http-01,dns-account-01 does not include dns-01")
    # The same record lets dns-account-01 through.
    acme, order, _ = new_order(acme_server, ["m.example.test"])
    (authz,) = order.authorizations
    chall = challenge_json(acme, authz.uri, "dns-account-01")
    acme_dns.set_txt(dns_account01_name(account_url(acme), "m.example.test"),
                     dns01_txt(key_authorization_for(acme, chall["token"])))
    assert answer_and_wait(acme, acme_server, chall["url"])["status"] == "valid"


# -- values read as Let's Encrypt reads them --------------------------------------------


def test_the_issuer_is_compared_case_included(acme_server, acme_dns):
    acme_dns.add_caa("case.example.test", 0, "issue", US.upper())
    acme, order, chall = validate_one(acme_server, acme_dns, "case.example.test")
    assert_caa_refused(acme, order, chall, f"names {US.upper()}", "differs from this CA's name "
                       "only in case")


def test_a_parameter_tag_in_another_case_is_an_unknown_parameter(acme_server, acme_dns):
    # Boulder looks up "accounturi" exactly: "AccountURI" is ignored, so anyone may issue.
    acme_dns.add_caa("tagcase.example.test", 0, "issue",
                     f"{US}; AccountURI=https://elsewhere.test/acct/1")
    _, _, chall = validate_one(acme_server, acme_dns, "tagcase.example.test")
    assert chall["status"] == "valid", chall


@pytest.mark.parametrize("value, words", [
    (f"{US}; some-tag=1", ["malformed value"]),
    (f"{US}; validationmethods=dns-01,", ["validationmethods dns-01, is malformed"]),
    (f"{US}; validationmethods=dns-01,,http-01", ["is malformed"]),
], ids=["hyphen-in-tag", "trailing-comma", "empty-method"])
def test_values_boulder_does_not_accept_authorize_no_one(acme_server, acme_dns, value, words):
    acme_dns.add_caa("strict.example.test", 0, "issue", value)
    acme, order, chall = validate_one(acme_server, acme_dns, "strict.example.test")
    assert_caa_refused(acme, order, chall, *words)


# -- lookup failures, configuration ---------------------------------------------------


def test_servfail_while_climbing_is_a_dns_problem(acme_server, acme_dns):
    acme_dns.set_servfail("s.example.test")
    acme, order, chall = validate_one(acme_server, acme_dns, "h.s.example.test")
    assert chall["status"] == "invalid"
    assert chall["error"]["type"] == PROBLEM + "dns"
    assert "While processing CAA for h.s.example.test" in chall["error"]["detail"]
    assert "s.example.test" in chall["error"]["detail"]


@pytest.mark.acme(caa=False)
def test_caa_checking_can_be_switched_off(acme_server, acme_dns):
    acme_dns.add_caa("example.test", 0, "issue", "other-ca.test")
    assert validate_one(acme_server, acme_dns, "off.example.test")[2]["status"] == "valid"


@pytest.mark.acme(caa_identities=["ca.example.net", "second.example.net"])
def test_caa_identities_are_configurable_and_advertised(acme_server, acme_dns):
    acme = account_client(acme_server, register=False)
    directory = acme.net.get(acme_server.directory_url).json()
    assert directory["meta"]["caaIdentities"] == ["ca.example.net", "second.example.net"]
    acme_dns.add_caa("example.test", 0, "issue", "second.example.net")
    assert validate_one(acme_server, acme_dns, "id.example.test")[2]["status"] == "valid"


def test_the_default_identity_is_advertised(acme_server):
    acme = account_client(acme_server, register=False)
    assert acme.net.get(acme_server.directory_url).json()["meta"]["caaIdentities"] == [US]


# -- recheck at finalization -----------------------------------------------------------


def test_finalize_rechecks_caa_for_authorizations_older_than_seven_hours(acme_server, acme_dns):
    acme, order, csr = new_order(acme_server, ["late.example.test"])
    (authz,) = order.authorizations
    assert solve_dns01(acme, acme_server, acme_dns, authz.uri)["status"] == "valid"
    acme_dns.add_caa("example.test", 0, "issue", "other-ca.test")
    acme_server.clock.advance(7 * 3600 + 1)
    error = finalize_problem(acme, order.uri, csr)
    assert (error["type"], error["status"]) == (PROBLEM + "caa", 403)
    assert error["detail"].startswith("rechecking CAA (last checked ")
    assert 'CAA record for example.test prevents issuance: 0 issue "other-ca.test"' in \
        error["detail"]
    assert error["identifier"] == {"type": "dns", "value": "late.example.test"}
    # The order waits: fix the records and finalize again.
    assert read(acme, order.uri)["status"] == "ready"
    assert "CAARecheckFailed" in acme_server.describe(order.uri)
    acme_dns.clear_caa("example.test")
    order = acme.poll_and_finalize(acme.poll_authorizations(order, deadline()), deadline())
    assert sans(split_chain(order.fullchain_pem)[0]) == {"late.example.test"}


def test_finalize_within_the_window_relies_on_the_earlier_check(acme_server, acme_dns):
    acme, order, _ = new_order(acme_server, ["early.example.test"])
    (authz,) = order.authorizations
    assert solve_dns01(acme, acme_server, acme_dns, authz.uri)["status"] == "valid"
    acme_dns.add_caa("example.test", 0, "issue", "other-ca.test")
    acme_server.clock.advance(7 * 3600 - 60)
    order = acme.poll_and_finalize(acme.poll_authorizations(order, deadline()), deadline())
    assert order.body.status.name == "valid"


@pytest.mark.acme(caa_recheck_after=0)
def test_a_zero_recheck_window_rechecks_every_finalization(acme_server, acme_dns):
    acme, order, csr = new_order(acme_server, ["a.zero.example.test", "b.zero.example.test"])
    for authz in order.authorizations:
        assert solve_dns01(acme, acme_server, acme_dns, authz.uri)["status"] == "valid"
    acme_dns.add_caa("zero.example.test", 0, "issue", "other-ca.test")
    error = finalize_problem(acme, order.uri, csr)
    assert error["type"] == PROBLEM + "caa"
    assert "2 identifiers" in error["detail"]
    assert {p["identifier"]["value"] for p in error["subproblems"]} == {
        "a.zero.example.test", "b.zero.example.test"}
    assert {p["type"] for p in error["subproblems"]} == {PROBLEM + "caa"}


# -- the rules without a server ---------------------------------------------------------


def test_ip_identifiers_have_no_caa_check():
    class Failing:
        def caa(self, name):  # any lookup would be a bug
            raise AssertionError(name)

    policy = CaaPolicy([US], Failing())  # type: ignore[arg-type]
    assert policy.check(Identifier("ip", "192.0.2.1"), "https://x/acct/1", "http-01") is None


def test_issue_value_grammar():
    value = parse_issue_value(f" {US.upper()} ; accounturi=https://x/acct/1 ;validationMethods=dns-01")
    assert value.issuer == US.upper()  # as written: Boulder compares it exactly
    assert value.parameters == {"accounturi": "https://x/acct/1", "validationMethods": "dns-01"}
    assert parse_issue_value(";").issuer == ""
    for bad in ("bad_name.test", f"{US}; =x", f"{US}; a=b c", f"{US}; x", f"{US}; a-b=1"):
        with pytest.raises(CaaSyntaxError):
            parse_issue_value(bad)


def test_relevant_set_reaches_the_top_label():
    zone = Zone()
    zone.add_caa("test", 0, "issue", "other-ca.test")
    policy = CaaPolicy([US], ZoneResolver(zone))
    problem = policy.check(Identifier("dns", "deep.a.b.test"), "https://x/acct/1", "dns-01")
    assert problem is not None and "CAA record for test prevents" in problem.detail


def test_caa_through_an_external_dns_server(acme_server):
    """With ``dns_server``, CAA (and the challenge's TXT record) come over the wire:
    dnslib's CAA records, CNAMEs in the answer, NXDOMAIN-free climbing."""
    from pytest_acme.va.dnsserver import DnsServer

    zone = Zone()
    with DnsServer(zone) as dns:
        acme_server.reconfigure(dns_server=f"127.0.0.1:{dns.port}")
        zone.set_cname("ext.example.test", "target.elsewhere.test")
        zone.add_caa("target.elsewhere.test", 128, "issue", "other-ca.test")
        acme, order, chall = validate_one(acme_server, zone, "ext.example.test")
        assert_caa_refused(acme, order, chall, "CAA record for ext.example.test (alias of "
                           'target.elsewhere.test) prevents issuance: 128 issue "other-ca.test"')
        zone.clear_caa("target.elsewhere.test")
        zone.add_caa("example.test", 0, "issue", f"{US.upper()}; accounturi")  # malformed
        zone.add_caa("example.test", 0, "issue", US)
        assert validate_one(acme_server, zone, "ok.example.test")[2]["status"] == "valid"
        assert "CAA" in zone.queries("example.test")  # climbed over the wire
        zone.set_servfail("example.test")
        acme, order, chall = validate_one(acme_server, zone, "sf.example.test")
        assert chall["error"]["type"] == PROBLEM + "dns"
        assert "SERVFAIL" in chall["error"]["detail"]


@pytest.mark.acme(validation="always_valid")
def test_always_valid_skips_caa_like_every_other_lookup(acme_server, acme_dns):
    acme_dns.add_caa("example.test", 0, "issue", "other-ca.test")
    acme_dns.set_servfail("example.test")
    acme, order, _ = new_order(acme_server, ["av.example.test"])
    (authz,) = order.authorizations
    chall = challenge_json(acme, authz.uri, "dns-01")
    assert answer_and_wait(acme, acme_server, chall["url"])["status"] == "valid"
