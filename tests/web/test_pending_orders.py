"""Pending-order limits: an account (and the server as a whole) may hold only so
many unfinished orders, as at Let's Encrypt ("too many currently pending
orders", Boulder's ``PendingOrdersPerAccount``); past them newOrder answers
``rateLimited`` (429) with ``Retry-After``, so a flood of orders cannot grow the
store without bound."""

from __future__ import annotations

import pytest
from acme import messages

from helpers import account_client, issue_leaf, make_csr, new_order, obtain, post_unchecked
from pytest_acme import AcmeConfig

pytestmark = pytest.mark.acme(validation="always_valid")

RATE_LIMITED = "urn:ietf:params:acme:error:rateLimited"


def order_response(acme, name):
    payload = {"identifiers": [{"type": "dns", "value": name}]}
    return post_unchecked(acme, acme.directory["newOrder"], payload)


def assert_rate_limited(response, setting):
    assert response.status_code == 429, response.text
    problem = response.json()
    assert problem["type"] == RATE_LIMITED
    assert "too many currently pending orders" in problem["detail"]
    assert setting in problem["detail"]
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["Replay-Nonce"]
    return problem


@pytest.mark.acme(max_pending_orders_per_account=2)
def test_an_account_past_its_pending_orders_is_rate_limited(acme_server):
    acme = account_client(acme_server)
    for i in range(2):
        new_order(acme, [f"p{i}.example.test"])
    # The real client surfaces the problem as it would Let's Encrypt's.
    with pytest.raises(messages.Error) as refused:
        acme.new_order(make_csr(["p2.example.test"]))
    assert refused.value.typ == RATE_LIMITED
    response = order_response(acme, "p2.example.test")
    assert_rate_limited(response, "max_pending_orders_per_account")
    # Retry-After names when the oldest order expires (one day by default; expiry
    # is kept in whole seconds, and a loaded machine may take a second meanwhile).
    expiry = int(acme_server.config.order_expiry)
    assert expiry - 2 <= int(response.headers["Retry-After"]) <= expiry
    assert len(acme_server.orders()) == 2
    # Another account is not held back by this one's orders.
    other = account_client(acme_server)
    new_order(other, ["other.example.test"])


@pytest.mark.acme(max_pending_orders_per_account=2)
def test_a_finished_order_frees_its_place(acme_server):
    acme = account_client(acme_server)
    issue_leaf(acme_server, acme, ["done.example.test"])       # valid: finished
    first = new_order(acme, ["p0.example.test"])
    new_order(acme, ["p1.example.test"])                        # two unfinished now
    assert order_response(acme, "p2.example.test").status_code == 429
    obtain(acme_server, acme, first)                            # valid: finished too
    assert order_response(acme, "p2.example.test").status_code == 201
    assert order_response(acme, "p3.example.test").status_code == 429


@pytest.mark.acme(max_pending_orders_per_account=1, nonce_lifetime=None)
def test_expired_orders_no_longer_count(acme_server):
    acme = account_client(acme_server)
    new_order(acme, ["p0.example.test"])
    response = order_response(acme, "p1.example.test")
    assert_rate_limited(response, "max_pending_orders_per_account")
    acme_server.clock.advance(int(response.headers["Retry-After"]))
    assert order_response(acme, "p1.example.test").status_code == 201


@pytest.mark.acme(max_pending_orders=3, max_pending_orders_per_account=None)
def test_the_server_wide_limit_counts_every_account(acme_server):
    first, second = account_client(acme_server), account_client(acme_server)
    new_order(first, ["a0.example.test"])
    new_order(first, ["a1.example.test"])
    new_order(second, ["b0.example.test"])
    for acme in (first, second, account_client(acme_server)):
        problem = assert_rate_limited(order_response(acme, "more.example.test"),
                                      "max_pending_orders")
        assert "of all its accounts" in problem["detail"]
    assert len(acme_server.orders()) == 3


@pytest.mark.acme(max_pending_orders_per_account=1, boulder=True)
def test_an_identical_order_is_still_returned_at_the_limit(acme_server):
    # Boulder returns the account's identical pending order before it counts: asking
    # again for the same names costs nothing and is not refused.
    acme = account_client(acme_server)
    order = new_order(acme, ["same.example.test"])
    again = order_response(acme, "same.example.test")
    assert again.status_code == 201, again.text
    assert again.headers["Location"] == order.uri
    assert order_response(acme, "different.example.test").status_code == 429


def test_the_defaults_are_lets_encrypts():
    config = AcmeConfig()
    assert config.max_pending_orders_per_account == 1000
    assert config.max_pending_orders == 2000


@pytest.mark.parametrize("name", ["max_pending_orders_per_account", "max_pending_orders"])
@pytest.mark.parametrize("value", [0, -1, True, 2.5, "10"])
def test_bad_limits_are_refused_with_their_names(name, value):
    with pytest.raises(ValueError, match=name):
        AcmeConfig(**{name: value})


@pytest.mark.parametrize("argv, expected", [
    ([], (1000, 2000)),
    (["--max-pending-orders-per-account", "5", "--max-pending-orders", "50"], (5, 50)),
    (["--max-pending-orders-per-account", "none", "--max-pending-orders", "none"],
     (None, None)),
])
def test_serve_flags(argv, expected):
    from pytest_acme.cli import _parser, plan

    config = AcmeConfig(**plan(_parser().parse_args(["serve", *argv]), {})["settings"])
    assert (config.max_pending_orders_per_account, config.max_pending_orders) == expected
