"""Which authorization a new order may reuse: pure function calls."""

from __future__ import annotations

import datetime as dt

from pytest_acme.protocol.identifiers import Identifier
from pytest_acme.protocol.resources import Authorization
from pytest_acme.protocol.reuse import ReusePolicy, reusable
from pytest_acme.protocol.states import Status

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
NAME = Identifier("dns", "a.example.test")
ALWAYS = ReusePolicy(valid=1.0, pending=1.0)


def authz(id, status=Status.VALID, account="acct", ident=NAME, hours=1, pre=False):
    return Authorization(id=id, account_id=account, identifier=ident,
                         expires=NOW + dt.timedelta(hours=hours), challenges=[],
                         status=status, preauthorized=pre)


def pick(authzs, policy=ALWAYS, draw=lambda rate: rate >= 1):
    found = reusable(authzs, "acct", NAME, NOW, policy, draw)
    return found.id if found else None


def test_valid_is_preferred_to_pending_then_the_latest_expiry():
    assert pick([authz("p", Status.PENDING, hours=9), authz("v1", hours=2),
                 authz("v2", hours=3)]) == "v2"


def test_other_accounts_identifiers_and_dead_statuses_do_not_qualify():
    assert pick([authz("x", account="other"), authz("w", ident=Identifier("dns", "*.a.example.test")),
                 authz("d", Status.DEACTIVATED), authz("i", Status.INVALID),
                 authz("e", hours=-1)]) is None


def test_the_policy_rate_of_the_candidates_status_is_drawn():
    rates = []
    assert pick([authz("v")], ReusePolicy(valid=0.3, pending=0.7),
                lambda rate: rates.append(rate) or False) is None
    assert pick([authz("p", Status.PENDING)], ReusePolicy(valid=0.3, pending=0.7),
                lambda rate: rates.append(rate) or True) == "p"
    assert rates == [0.3, 0.7]


def test_a_preauthorization_is_used_whatever_the_policy():
    assert pick([authz("pre", Status.PENDING, pre=True)], ReusePolicy(),
                lambda rate: False) == "pre"
