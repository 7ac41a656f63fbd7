"""A finished authorization lists only the challenge that decided it (RFC 8555
§7.1.4), as Boulder and Pebble do; the unused challenges' URLs answer 404 as at
Boulder (readable, still pending, with ``pebble=True``, as at Pebble).  Driven
with certbot's ``acme`` library over HTTPS; inspection keeps every challenge."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest
import requests
from acme import messages

from helpers import account_client, deadline, make_csr, post
from jws_client import PROBLEM, sign
from pytest_acme.protocol.states import Status

OFFERED = ("http-01", "dns-01")

pytestmark = pytest.mark.acme(validation="always_valid", challenge_types=OFFERED)


def _pending(server, acme, name: str):
    """A new order for ``name`` and its pending authorization as certbot reads it."""
    order = acme.new_order(make_csr([name]))
    authz = order.authorizations[0]
    assert sorted(c.chall.typ for c in authz.body.challenges) == sorted(OFFERED)
    return order, authz


def _answer(server, acme, authz, typ: str) -> None:
    challb = next(c for c in authz.body.challenges if c.chall.typ == typ)
    acme.answer_challenge(challb, challb.chall.response(acme.net.key))
    server.wait_idle()


def _read_authz(acme, authz) -> messages.Authorization:
    return acme._authzr_from_response(acme._post_as_get(authz.uri), uri=authz.uri).body


def _challenge_urls(authz) -> Dict[str, str]:
    return {c.chall.typ: c.uri for c in authz.body.challenges}


def test_a_valid_authorization_lists_only_the_validated_challenge(acme_server):
    acme = account_client(acme_server)
    order, authz = _pending(acme_server, acme, "valid.example.test")
    urls = _challenge_urls(authz)
    _answer(acme_server, acme, authz, "dns-01")
    body = _read_authz(acme, authz)
    assert body.status == messages.STATUS_VALID
    assert [(c.chall.typ, c.status, c.uri) for c in body.challenges] == [
        ("dns-01", messages.STATUS_VALID, urls["dns-01"])]
    assert body.challenges[0].validated is not None
    # The order goes on as before: certbot polls and finalizes it.
    done = acme.finalize_order(acme.poll_authorizations(order, deadline()), deadline())
    assert done.fullchain_pem


def test_an_invalid_authorization_lists_only_the_failed_challenge(acme_server):
    acme = account_client(acme_server)
    acme_server.faults.fail_challenge("bad.example.test", problem="connection")
    order, authz = _pending(acme_server, acme, "bad.example.test")
    _answer(acme_server, acme, authz, "dns-01")
    body = _read_authz(acme, authz)
    assert body.status == messages.STATUS_INVALID
    assert [(c.chall.typ, c.status) for c in body.challenges] == [
        ("dns-01", messages.STATUS_INVALID)]
    assert body.challenges[0].error.code == "connection"


@pytest.mark.acme(validation_delay=30)
def test_pending_and_processing_authorizations_list_every_challenge(acme_server):
    acme = account_client(acme_server)
    order, authz = _pending(acme_server, acme, "wait.example.test")
    challb = next(c for c in authz.body.challenges if c.chall.typ == "http-01")
    acme.answer_challenge(challb, challb.chall.response(acme.net.key))
    # The validation waits 30 s on the server clock: the challenge is processing.
    body = _read_authz(acme, authz)
    assert body.status == messages.STATUS_PENDING
    # In the authorization's own order (shuffled, as at Let's Encrypt).
    assert sorted((c.chall.typ, c.status.name) for c in body.challenges) == [
        ("dns-01", "pending"), ("http-01", "processing")]
    acme_server.clock.advance(31)
    acme_server.wait_idle()
    assert [c.chall.typ for c in _read_authz(acme, authz).challenges] == ["http-01"]


def test_a_deactivated_authorization_keeps_listing_only_the_decider(acme_server):
    acme = account_client(acme_server)
    order, authz = _pending(acme_server, acme, "gone.example.test")
    _answer(acme_server, acme, authz, "http-01")
    acme.deactivate_authorization(authz)
    body = _read_authz(acme, authz)
    assert body.status == messages.STATUS_DEACTIVATED
    assert [c.chall.typ for c in body.challenges] == ["http-01"]
    # Never answered: a deactivated authorization still lists all (as Boulder).
    order, untouched = _pending(acme_server, acme, "never.example.test")
    acme.deactivate_authorization(untouched)
    assert sorted(c.chall.typ for c in _read_authz(acme, untouched).challenges) == sorted(
        OFFERED)


def test_an_unused_challenge_of_a_valid_authorization_is_gone(acme_server):
    acme = account_client(acme_server)
    order, authz = _pending(acme_server, acme, "unused.example.test")
    urls = _challenge_urls(authz)
    _answer(acme_server, acme, authz, "http-01")
    with pytest.raises(messages.Error) as err:
        acme._post_as_get(urls["dns-01"])
    assert err.value.typ == PROBLEM + "malformed"
    assert "http-01" in err.value.detail and "RFC 8555 §7.1.4" in err.value.detail
    response = _raw_post_as_get(acme_server, acme, urls["dns-01"])
    assert response.status_code == 404
    assert response.headers["Replay-Nonce"]
    # Answering it is refused the same way; the one that decided still reads.
    with pytest.raises(messages.Error) as err:
        post(acme, urls["dns-01"], {})
    assert err.value.typ == PROBLEM + "malformed"
    assert acme._post_as_get(urls["http-01"]).json()["status"] == "valid"


def test_another_account_gets_the_same_404_for_an_unused_challenge(acme_server):
    acme, other = account_client(acme_server), account_client(acme_server)
    order, authz = _pending(acme_server, acme, "theirs.example.test")
    urls = _challenge_urls(authz)
    _answer(acme_server, acme, authz, "http-01")
    assert _raw_post_as_get(acme_server, other, urls["dns-01"]).status_code == 404
    # The challenge that decided exists: it is another account's.
    assert _raw_post_as_get(acme_server, other, urls["http-01"]).status_code == 403


@pytest.mark.acme(boulder=True)
def test_a_plain_get_of_an_unused_challenge_is_404_in_boulder_mode(acme_server):
    acme = account_client(acme_server)
    order, authz = _pending(acme_server, acme, "plain.example.test")
    urls = _challenge_urls(authz)
    _answer(acme_server, acme, authz, "http-01")
    gone = requests.get(urls["dns-01"], verify=acme_server.ca_bundle, timeout=10)
    assert gone.status_code == 404 and gone.json()["type"] == PROBLEM + "malformed"
    used = requests.get(urls["http-01"], verify=acme_server.ca_bundle, timeout=10)
    assert used.status_code == 200 and used.json()["status"] == "valid"


@pytest.mark.acme(pebble=True)
def test_as_pebble_an_unused_challenge_stays_readable_and_pending(acme_server):
    acme = account_client(acme_server)
    order, authz = _pending(acme_server, acme, "pebble.example.test")
    urls = _challenge_urls(authz)
    _answer(acme_server, acme, authz, "http-01")
    assert [c.chall.typ for c in _read_authz(acme, authz).challenges] == ["http-01"]
    unused = acme._post_as_get(urls["dns-01"]).json()
    assert unused["status"] == "pending" and unused["url"] == urls["dns-01"]


def test_inspection_still_shows_every_challenge(acme_server):
    acme = account_client(acme_server)
    order, authz = _pending(acme_server, acme, "seen.example.test")
    _answer(acme_server, acme, authz, "dns-01")
    info = acme_server.order(order.uri).authorizations[0]
    statuses: List[Any] = [(c.type, c.status) for c in info.challenges]
    assert sorted(statuses) == [("dns-01", Status.VALID), ("http-01", Status.PENDING)]
    text = acme_server.describe(order.uri)
    assert all(typ in text for typ in OFFERED)


def _raw_post_as_get(server, acme, url: str) -> requests.Response:
    """A POST-as-GET signed with ``acme``'s account, its response kept as it came."""
    nonce = requests.head(acme.directory["newNonce"], verify=server.ca_bundle,
                          timeout=10).headers["Replay-Nonce"]
    jws = sign(acme.account_private_key, url, None, nonce=nonce, kid=acme.net.account.uri)
    return requests.post(url, data=json.dumps(jws), verify=server.ca_bundle, timeout=10,
                         headers={"Content-Type": "application/jose+json"})
