"""Lists in an order of their own (``shuffle``): an authorization's challenges, as
Let's Encrypt shuffles them, and in Pebble mode an order's identifiers and
authorizations too, as Pebble does.  Seeded, so ``--acme-seed`` replays them.
Driven with certbot's ``acme`` library over HTTPS."""

from __future__ import annotations

from typing import List, Tuple

import pytest

from helpers import account_client, make_csr, post, read
from pytest_acme import AcmeServer

NAMES = [f"n{i}.shuffle.test" for i in range(8)]


def challenge_orders(server, acme, names=NAMES) -> List[Tuple[str, ...]]:
    order = acme.new_order(make_csr(names))
    return [tuple(c["type"] for c in read(acme, a.uri)["challenges"])
            for a in order.authorizations]


@pytest.mark.acme(seed=1)
def test_each_authorization_lists_its_challenges_in_an_order_of_its_own(acme_server):
    acme = account_client(acme_server)
    orders = challenge_orders(acme_server, acme)
    assert all(sorted(o) == ["dns-01", "http-01", "tls-alpn-01"] for o in orders)
    assert len(set(orders)) > 1, "a client taking the first challenge must meet others"
    assert len({o[0] for o in orders}) > 1


@pytest.mark.acme(seed=2)
def test_an_authorization_reads_the_same_every_time(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["again.shuffle.test"]))
    url = order.authorizations[0].uri
    first = [c["url"] for c in read(acme, url)["challenges"]]
    assert all([c["url"] for c in read(acme, url)["challenges"]] == first for _ in range(3))
    snapshot = acme_server.order(order.uri).authorizations[0]
    assert [c.url for c in snapshot.challenges] == first  # inspection shows the same


def test_the_same_seed_replays_the_same_orders():
    seen = []
    for _ in range(2):
        with AcmeServer(seed=1234, validation="always_valid") as server:
            seen.append(challenge_orders(server, account_client(server), NAMES[:5]))
    assert seen[0] == seen[1]
    with AcmeServer(seed=4321, validation="always_valid") as server:
        assert challenge_orders(server, account_client(server), NAMES[:5]) != seen[0]


@pytest.mark.acme(shuffle="none", challenge_types=["tls-alpn-01", "http-01", "dns-01"])
def test_shuffle_none_keeps_the_offered_order_and_the_requested_one(acme_server):
    acme = account_client(acme_server)
    assert set(challenge_orders(acme_server, acme)) == {("tls-alpn-01", "http-01", "dns-01")}
    body = post(acme, acme.directory["newOrder"], {
        "identifiers": [{"type": "dns", "value": n} for n in NAMES]}).json()
    assert [i["value"] for i in body["identifiers"]] == NAMES


@pytest.mark.acme(seed=3)
def test_by_default_identifiers_and_authorizations_keep_the_requested_order(acme_server):
    """As Boulder: only challenges are shuffled."""
    acme = account_client(acme_server)
    body = post(acme, acme.directory["newOrder"], {
        "identifiers": [{"type": "dns", "value": n} for n in NAMES]}).json()
    assert [i["value"] for i in body["identifiers"]] == NAMES
    assert [read(acme, a)["identifier"]["value"] for a in body["authorizations"]] == NAMES


@pytest.mark.acme(pebble=True, seed=4)
def test_pebble_mode_shuffles_identifiers_and_authorizations_each_their_own_way(acme_server):
    acme = account_client(acme_server)
    response = post(acme, acme.directory["newOrder"], {
        "identifiers": [{"type": "dns", "value": n} for n in NAMES]})
    body = response.json()
    listed = [i["value"] for i in body["identifiers"]]
    by_authz = [read(acme, a)["identifier"]["value"] for a in body["authorizations"]]
    assert sorted(listed) == sorted(by_authz) == NAMES
    assert listed != NAMES and by_authz != NAMES
    assert listed != by_authz, "pairing identifiers and authorizations by position fails"
    # The order reads the same every time.
    again = read(acme, response.headers["Location"])
    assert again["identifiers"] == body["identifiers"]
    assert again["authorizations"] == body["authorizations"]


def test_shuffle_values_are_checked():
    from pytest_acme import AcmeConfig

    assert AcmeConfig().effective("shuffle") == "challenges"
    assert AcmeConfig(boulder=True).effective("shuffle") == "challenges"
    assert AcmeConfig(pebble=True).effective("shuffle") == "all"
    with pytest.raises(ValueError, match="shuffle"):
        AcmeConfig(shuffle="sometimes")
