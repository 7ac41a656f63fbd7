"""Authorization reuse: never (the default), always, or a seeded rate, separately for
valid and pending authorizations; only the same account's, for the same identifier
(wildcard or not), while it is still pending or valid and unexpired."""

from __future__ import annotations

import datetime as dt
from typing import List

import pytest
from acme import messages

from helpers import account_client, answer_all, make_csr, post
from pytest_acme import AcmeConfig
from pytest_acme.protocol.reuse import reuse_cutoff
from pytest_acme.standalone.pebble import from_pebble

pytestmark = pytest.mark.acme(validation="always_valid")


def validated(server, acme, names):
    """An order for ``names`` whose challenges passed (the order is ready)."""
    order = acme.new_order(make_csr(names))
    answer_all(acme, order)
    server.wait_idle()
    return order


def test_by_default_every_order_gets_new_authorizations(acme_server):
    acme = account_client(acme_server)
    first = validated(acme_server, acme, ["a.example.test"])
    pending = acme.new_order(make_csr(["b.example.test"]))
    second = acme.new_order(make_csr(["a.example.test", "b.example.test"]))
    assert second.body.status == messages.STATUS_PENDING
    assert not set(second.body.authorizations) & (
        set(first.body.authorizations) | set(pending.body.authorizations))


@pytest.mark.acme(authz_reuse_valid="always")
def test_always_reuses_a_valid_authorization_and_the_order_is_ready(acme_server):
    acme = account_client(acme_server)
    first = validated(acme_server, acme, ["a.example.test"])
    second = acme.new_order(make_csr(["a.example.test"]))
    assert second.body.authorizations == first.body.authorizations
    assert second.body.status == messages.STATUS_READY
    # The reused authorization lists both orders.
    info = acme_server.lookup(first.body.authorizations[0])
    assert info.order_urls == [first.uri, second.uri]


@pytest.mark.acme(authz_reuse_valid="always")
def test_valid_reuse_leaves_pending_authorizations_alone(acme_server):
    acme = account_client(acme_server)
    first = acme.new_order(make_csr(["p.example.test"]))
    second = acme.new_order(make_csr(["p.example.test"]))
    assert second.body.authorizations != first.body.authorizations


@pytest.mark.acme(authz_reuse_pending="always")
def test_pending_reuse_shares_the_authorization_and_one_validation_readies_both(acme_server):
    acme = account_client(acme_server)
    first = acme.new_order(make_csr(["p.example.test"]))
    second = acme.new_order(make_csr(["p.example.test", "q.example.test"]))
    assert first.body.authorizations[0] in second.body.authorizations
    answer_all(acme, first)
    acme_server.wait_idle()
    assert post(acme, first.uri, None).json()["status"] == "ready"
    # The second order waits for q only.
    assert post(acme, second.uri, None).json()["status"] == "pending"


@pytest.mark.acme(authz_reuse_pending="always")
def test_pending_reuse_does_not_reuse_valid_ones(acme_server):
    acme = account_client(acme_server)
    first = validated(acme_server, acme, ["v.example.test"])
    second = acme.new_order(make_csr(["v.example.test"]))
    assert second.body.authorizations != first.body.authorizations
    assert second.body.status == messages.STATUS_PENDING


@pytest.mark.acme(authz_reuse_valid="always", authz_reuse_pending="always")
def test_only_the_same_account_and_the_same_wildcardness(acme_server):
    owner, other = account_client(acme_server), account_client(acme_server)
    wild = validated(acme_server, owner, ["*.w.example.test"])
    plain = validated(acme_server, owner, ["w.example.test"])
    assert plain.body.authorizations != wild.body.authorizations  # *.w is not w
    again = owner.new_order(make_csr(["*.w.example.test"]))
    assert again.body.authorizations == wild.body.authorizations
    foreign = other.new_order(make_csr(["w.example.test"]))
    assert foreign.body.status == messages.STATUS_PENDING
    assert foreign.body.authorizations[0] not in (plain.body.authorizations
                                                  + wild.body.authorizations)


@pytest.mark.acme(authz_reuse_valid="always", authz_reuse_pending="always",
                  authorization_lifetime=3600)
def test_an_expired_authorization_is_not_reused(acme_server):
    acme = account_client(acme_server)
    first = validated(acme_server, acme, ["e.example.test"])
    acme_server.clock.advance(3601)
    second = acme.new_order(make_csr(["e.example.test"]))
    assert second.body.authorizations != first.body.authorizations
    assert second.body.status == messages.STATUS_PENDING


@pytest.mark.acme(authz_reuse_valid="always", authz_reuse_pending="always")
def test_a_deactivated_authorization_is_not_reused(acme_server):
    acme = account_client(acme_server)
    first = validated(acme_server, acme, ["d.example.test"])
    post(acme, first.body.authorizations[0], {"status": "deactivated"})
    second = acme.new_order(make_csr(["d.example.test"]))
    assert second.body.authorizations != first.body.authorizations


@pytest.mark.acme(authz_reuse_valid="always", authorization_lifetime=8 * 3600,
                  order_expiry=86400)
def test_an_order_built_on_a_reused_authorization_expires_with_it(acme_server):
    acme = account_client(acme_server)
    first = validated(acme_server, acme, ["x.example.test"])
    acme_server.clock.advance(4 * 3600)  # 4 h left: more than the 3 h reuse needs
    second = acme.new_order(make_csr(["x.example.test"]))
    authz_expires = acme_server.lookup(first.body.authorizations[0]).expires
    assert second.body.authorizations == first.body.authorizations
    assert acme_server.order(second.uri).expires == authz_expires


@pytest.mark.acme(authz_reuse_valid="always", authorization_lifetime=8 * 3600,
                  order_expiry=86400)
def test_an_authorization_is_reused_only_while_an_eighth_of_the_order_lifetime_is_left(
        acme_server):
    """Boulder's RA: reuse needs order lifetime / 8 left (3 h for 24 h orders),
    at least an hour and at most a day; a shorter one gets a fresh authorization."""
    acme = account_client(acme_server)
    first = validated(acme_server, acme, ["cut.example.test"])
    expires = acme_server.lookup(first.body.authorizations[0]).expires
    acme_server.clock.set(expires - dt.timedelta(hours=3, seconds=1))
    assert acme.new_order(make_csr(["cut.example.test"])).body.authorizations == \
        first.body.authorizations
    acme_server.clock.set(expires - dt.timedelta(hours=3))
    fresh = acme.new_order(make_csr(["cut.example.test"]))
    assert fresh.body.authorizations != first.body.authorizations
    assert fresh.body.status == messages.STATUS_PENDING


@pytest.mark.parametrize("order_lifetime, needed", [
    (dt.timedelta(days=1), dt.timedelta(hours=3)),
    (dt.timedelta(hours=2), dt.timedelta(hours=1)),
    (dt.timedelta(days=30), dt.timedelta(days=1)),
])
def test_the_reuse_cutoff_is_boulders(order_lifetime, needed):
    assert reuse_cutoff(order_lifetime) == needed


def reuse_pattern(server, orders: int = 16) -> List[bool]:
    """For ``orders`` orders of one name after a validated one: which reused it."""
    acme = account_client(server)
    first = validated(server, acme, ["r.example.test"])
    return [acme.new_order(make_csr(["r.example.test"])).body.authorizations
            == first.body.authorizations for _ in range(orders)]


@pytest.mark.acme(authz_reuse_valid=0.5)
def test_a_rate_draws_from_the_seeded_generator_and_replays(acme_server):
    acme_server.faults.reseed(1234)
    pattern = reuse_pattern(acme_server)
    assert any(pattern) and not all(pattern)
    acme_server.reset()
    acme_server.faults.reseed(1234)
    assert reuse_pattern(acme_server) == pattern


@pytest.mark.parametrize("value, expected", [("never", 0.0), ("always", 1.0), (0.25, 0.25),
                                             (None, None)])
def test_config_takes_words_or_rates(value, expected):
    assert AcmeConfig(authz_reuse_valid=value).authz_reuse_valid == expected


@pytest.mark.parametrize("value", [1.5, -0.1, "sometimes", True])
def test_config_refuses_other_values(value):
    with pytest.raises(ValueError, match="authz_reuse_pending"):
        AcmeConfig(authz_reuse_pending=value)


def test_the_default_is_never_for_both():
    config = AcmeConfig()
    assert config.effective("authz_reuse_valid") == config.effective("authz_reuse_pending") == 0


@pytest.mark.parametrize("percent, rate", [("0", 0.0), ("50", 0.5), ("100", 1.0)])
def test_pebble_authzreuse_is_the_valid_reuse_rate(percent, rate):
    settings = from_pebble(None, {"PEBBLE_AUTHZREUSE": percent}).settings
    assert settings["authz_reuse_valid"] == rate
    assert "authz_reuse_pending" not in settings


def test_pebble_authzreuse_must_be_a_percentage():
    with pytest.raises(ValueError, match="PEBBLE_AUTHZREUSE"):
        from_pebble(None, {"PEBBLE_AUTHZREUSE": "half"})


def test_serve_flags_set_reuse():
    from pytest_acme.cli import _parser, plan

    args = _parser().parse_args(["serve", "--authz-reuse-valid", "always",
                                 "--authz-reuse-pending", "0.3"])
    settings = plan(args, {})["settings"]
    assert AcmeConfig(**settings).authz_reuse_pending == 0.3
    assert settings["authz_reuse_valid"] == "always"


@pytest.mark.acme(authz_reuse_valid="always")
def test_reuse_is_in_the_timeline(acme_server):
    acme = account_client(acme_server)
    first = validated(acme_server, acme, ["t.example.test"])
    acme.new_order(make_csr(["t.example.test"]))
    reused = [e for e in acme_server.events if e.reason == "Reused"]
    assert len(reused) == 1 and "t.example.test" in reused[0].message
    assert reused[0].id == first.body.authorizations[0].rsplit("/", 1)[1]
    assert isinstance(reused[0].time, dt.datetime)
