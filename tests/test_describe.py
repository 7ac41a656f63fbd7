"""describe() answers "why did my order fail" (pytest_acme/describe.py): events that
name what they are about, details shown whole, validation records that read as
such, faults found on the order they hit, one name per kind of event, aligned
columns, and the same view as JSON."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import List

import pytest
from acme import messages

from helpers import account_client, answer_all, challenge, make_csr, post_unchecked, read
from pytest_acme import describe as describe_module
from pytest_acme.listeners import spare_port


def joined(text: str) -> str:
    """The text with its wrapping undone: every run of blanks one space."""
    return " ".join(text.split())


def rows(text: str, section: str) -> List[str]:
    """The lines of a section (``Events:``, ``Authorizations:``) up to the next one."""
    lines = text.splitlines()
    start = lines.index(section) + 1
    end = next((i for i in range(start, len(lines)) if lines[i] and not lines[i][0].isspace()),
               len(lines))
    return lines[start:end]


@pytest.fixture
def two_names_one_failed(acme_server, acme_http01_responder):
    """An order for a.example.test (validated over http-01) and b.example.test (its
    http-01 answer refused: nothing listens)."""
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["a.example.test", "b.example.test"]))
    good, bad = order.authorizations
    challb = next(c for c in good.body.challenges if c.chall.typ == "http-01")
    response, validation = challb.response_and_validation(acme.net.key)
    acme_http01_responder.publish(challb.chall.encode("token"), validation)
    acme.answer_challenge(challb, response)
    acme_server.wait_idle()
    acme_server.reconfigure(http01_port=spare_port())
    challb = next(c for c in bad.body.challenges if c.chall.typ == "http-01")
    acme.answer_challenge(challb, challb.chall.response(acme.net.key))
    acme_server.wait_idle()
    return acme, order


def test_events_name_the_identifier_and_the_challenge_type(acme_server, two_names_one_failed):
    acme, order = two_names_one_failed
    info = acme_server.order(order.uri)
    by_reason = {}
    for e in info.events:
        by_reason.setdefault(e.reason, []).append(e)
    for e in by_reason["ChallengeProcessing"] + by_reason["ChallengeValid"] + \
            by_reason["ChallengeInvalid"]:
        assert e.challenge_type == "http-01"
        assert e.message.startswith(f"http-01 challenge for {e.identifier}: "), e.message
    [valid] = by_reason["ChallengeValid"]
    [invalid] = by_reason["ChallengeInvalid"]
    assert (valid.identifier, invalid.identifier) == ("a.example.test", "b.example.test")
    [authz_invalid] = by_reason["AuthorizationInvalid"]
    assert authz_invalid.message == "authorization for b.example.test: pending -> invalid (fail)"
    assert by_reason["AuthorizationValid"][0].identifier == "a.example.test"
    [order_invalid] = by_reason["OrderInvalid"]
    assert order_invalid.message.startswith("order pending -> invalid (fail): b.example.test: "
                                            "connection: ")


def test_the_order_view_reaches_every_challenge(acme_server, two_names_one_failed):
    acme, order = two_names_one_failed
    info = acme_server.order(order.uri)
    text = acme_server.describe(order.uri)
    section = rows(text, "Authorizations:")
    for authz in info.authorizations:
        assert any(line.startswith(f"  {authz.identifier}") and line.endswith(authz.url)
                   for line in section)
        for c in authz.challenges:
            [line] = [line for line in section if c.url in line]
            assert re.match(rf"^    {re.escape(c.type)} +{c.status.value} +{re.escape(c.url)}",
                            line), line


def test_details_are_shown_whole_and_wrapped(acme_server, two_names_one_failed):
    acme, order = two_names_one_failed
    info = acme_server.order(order.uri)
    detail = info.error["detail"]
    assert detail.endswith("(nothing listens there: is the client's responder up?)")
    [failed] = [c for a in info.authorizations for c in a.challenges if c.error]
    for text in (acme_server.describe(order.uri), acme_server.describe(failed.url)):
        assert "..." not in text
        assert detail in joined(text)
        assert max(len(line) for line in text.splitlines()
                   if " " in line.strip()) <= describe_module.WIDTH  # a lone URL may be longer
    events = rows(acme_server.describe(order.uri), "Events:")
    message_column = events[0].index("Message")
    continued = [line for line in events[2:] if not re.match(r"^  (Normal|Warning) ", line)]
    assert continued, "the long messages wrap"
    assert all(line[:message_column].strip() == "" for line in continued)


def test_the_record_line_reads_as_a_validation_record(acme_server, two_names_one_failed):
    acme, order = two_names_one_failed
    info = acme_server.order(order.uri)
    good, bad = info.authorizations
    [ok] = [c for c in good.challenges if c.type == "http-01"]
    [refused] = [c for c in bad.challenges if c.type == "http-01"]
    url = ok.validation_record[0]["url"]
    text = acme_server.describe(ok.url)
    assert f"Record: {url}; address used 127.0.0.1 (resolved 127.0.0.1); response 200" in \
        joined(text)
    assert "{" not in text and "'" not in text
    refused_url = refused.validation_record[0]["url"]
    assert (f"Record: {refused_url}; address used 127.0.0.1 (resolved 127.0.0.1); no response"
            in joined(acme_server.describe(refused.url)))
    # The response code is for describe(): clients get Boulder's record members only.
    wire = read(acme, ok.url)["validationRecord"]
    assert wire == [{k: v for k, v in ok.validation_record[0].items() if k != "responseCode"}]
    assert "responseCode" not in wire[0] and ok.validation_record[0]["responseCode"] == 200


@pytest.mark.acme(validation="always_valid")
def test_a_fault_on_finalize_shows_in_the_order_and_its_request_row(acme_server):
    acme = account_client(acme_server)
    account_id = acme.net.account.uri.rsplit("/", 1)[-1]
    order = acme.new_order(make_csr(["f.example.test"]))
    answer_all(acme, order)
    acme_server.wait_idle()
    acme_server.faults.server_error("finalize", status=503)
    response = post_unchecked(acme, order.body.finalize, {"csr": "AAAA"})
    assert response.status_code == 503

    info = acme_server.order(order.uri)
    [fired] = [e for e in info.events if e.reason == "FaultFired"]
    assert fired.account_id == account_id and fired.order_ids == (info.id,)
    assert re.search(r"^  Warning +FaultFired +\d+s +pytest-acme +endpoint_error\(finalize, "
                     r"HTTP 503", acme_server.describe(order.uri), re.M)
    [record] = acme_server.faults.fired
    assert (record.order_id, record.account_id) == (info.id, account_id)
    row = acme_server.requests[-1]
    assert row.status == 503 and row.account == account_id
    assert re.search(rf"/finalize +503 +{re.escape(account_id)} +serverInternal",
                     acme_server.describe_requests())
    account = acme_server.lookup(acme.net.account.uri)
    assert "FaultFired" in [e.reason for e in account.events]


@pytest.mark.parametrize("endpoint", ["authz", "challenge", "order"])
def test_a_fault_on_an_authorization_or_challenge_url_finds_its_order(acme_server, endpoint):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["g.example.test"]))
    authz = order.authorizations[0]
    url = {"authz": authz.uri, "challenge": challenge(authz).uri,
           "order": order.uri}[endpoint]
    acme_server.faults.rate_limited(endpoint)
    assert post_unchecked(acme, url, None).status_code == 429
    info = acme_server.order(order.uri)
    assert [e.reason for e in info.events].count("FaultFired") == 1


def test_a_fault_on_new_order_names_the_account_of_the_kid(acme_server):
    acme = account_client(acme_server)
    account_id = acme.net.account.uri.rsplit("/", 1)[-1]
    acme_server.faults.server_error("new_order")
    with pytest.raises(messages.Error):
        acme.new_order(make_csr(["h.example.test"]))
    [record] = acme_server.faults.fired
    assert record.order_id is None and record.account_id == account_id
    assert acme_server.requests[-1].account == account_id


def test_a_fault_names_no_account_the_server_does_not_have(acme_server):
    """A kid naming no account of this server (or an unsigned request) is no one's."""
    acme = account_client(acme_server)
    stranger = account_client(acme_server, register=False)
    stranger.net.account = messages.RegistrationResource(
        body=messages.Registration(), uri=acme.net.account.uri.rsplit("/", 1)[0] + "/nobody")
    acme_server.faults.server_error("new_order")
    assert post_unchecked(stranger, acme.directory["newOrder"], {"identifiers": []}) \
        .status_code == 500
    acme_server.faults.server_error("directory")
    import requests
    assert requests.get(acme_server.directory_url, verify=acme_server.ca_bundle,
                        timeout=10).status_code == 500
    assert [(f.order_id, f.account_id) for f in acme_server.faults.fired] == [
        (None, None), (None, None)]
    assert [r.account for r in acme_server.requests[-2:]] == [None, None]


@pytest.mark.acme(nonce_lifetime=None)  # the client's nonce outlives the day skipped
def test_an_expiry_has_one_name_whether_derived_or_settled(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["late.example.test"]))
    info = acme_server.order(order.uri)
    acme_server.clock.advance(info.expires - acme_server.clock.now() + dt.timedelta(seconds=5))
    derived = [e for e in acme_server.order(order.uri).events if e.kind == "order"]
    assert derived[-1].reason == "OrderExpired"
    # A finalize attempt makes the server store the expiry: it reads the same.
    problem = post_unchecked(acme, order.body.finalize, {"csr": "AAAA"}).json()
    assert problem["type"].endswith(":orderNotReady")
    settled = [e for e in acme_server.order(order.uri).events
               if e.kind == "order" and e.reason != "FinalizeReceived"]
    assert [e.reason for e in settled] == [e.reason for e in derived]
    assert (settled[-1].time, settled[-1].message) == (derived[-1].time, derived[-1].message)
    assert settled[-1].time == info.expires  # when it expired, not when it was noticed
    assert "OrderInvalid" not in acme_server.describe(order.uri)


@pytest.mark.acme(challenge_types=["http-01", "dns-01", "tls-alpn-01", "dns-account-01",
                                   "dns-persist-01"])
def test_columns_line_up_with_long_challenge_types(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["long.example.test"]))
    info = acme_server.order(order.uri)
    authz = info.authorizations[0]
    for text, section in ((acme_server.describe(order.uri), "Authorizations:"),
                          (acme_server.describe(authz.url), "Challenges:")):
        lines = [line for line in rows(text, section) if "/acme/chall/" in line]
        assert len(lines) == 5
        assert len({line.index("https://") for line in lines}) == 1, lines
        assert len({line.index(c.status.value) for line, c in zip(lines, authz.challenges)}) \
            == 1


def test_created_and_age_count_alike(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["age.example.test"]))
    acme_server.clock.freeze()
    acme_server.clock.advance(150)
    text = acme_server.describe(order.uri)
    created = re.search(r"^Created: +\S+ \((\S+) ago\)$", text, re.M).group(1)
    age = re.search(r"^  Normal +Created +(\S+) ", text, re.M).group(1)
    assert created == age == "2m30s"


def test_describe_json_is_the_same_view_as_data(acme_server, two_names_one_failed):
    acme, order = two_names_one_failed
    doc = acme_server.describe_json(order.uri)
    assert json.loads(json.dumps(doc)) == doc
    text = acme_server.describe(order.uri)
    assert doc["kind"] == "order" and doc["url"] == order.uri
    assert doc["state"] == "invalid" and doc["status"] == "invalid"
    assert [e["reason"] for e in doc["events"]] == re.findall(
        r"^  (?:Normal|Warning) +(\S+)", text, re.M)
    [failed] = [e for e in doc["events"] if e["reason"] == "ChallengeInvalid"]
    assert (failed["identifier"], failed["challengeType"], failed["type"]) == (
        "b.example.test", "http-01", "Warning")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", failed["time"])
    urls = [c["url"] for a in doc["authorizations"] for c in a["challenges"]]
    assert urls and all(u in text for u in urls)
    [refused] = [c for a in doc["authorizations"] for c in a["challenges"] if c["error"]]
    assert refused["records"][0] in joined(acme_server.describe(refused["url"]))
    assert acme_server.describe_json() == [doc]
    assert acme_server.describe_json(refused["url"])["kind"] == "challenge"
    assert acme_server.describe_json(acme.net.account.uri)["kind"] == "account"
