"""The state machines of pytest_acme.protocol.states, as plain calls."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import List, Tuple

import pytest

from pytest_acme.protocol.states import (
    EXPIRABLE,
    TRANSITIONS,
    Event,
    IllegalTransition,
    Status,
    can,
    derive_order_status,
    effective_status,
    table_edges,
    transition,
)

S, E = Status, Event

NOW = dt.datetime(2030, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
BEFORE = NOW - dt.timedelta(seconds=1)
AFTER = NOW + dt.timedelta(seconds=1)


@dataclass
class Obj:
    kind: str
    status: Status
    id: str = "obj-1"


def _edges() -> List[Tuple[str, Status, Event, Status]]:
    return [(kind, s, e, n) for kind, edges in table_edges().items() for s, e, n in edges]


def _missing() -> List[Tuple[str, Status, Event]]:
    out = []
    for kind, table in TRANSITIONS.items():
        for state in Status:
            for event in Event:
                if event not in table.get(state, {}):
                    out.append((kind, state, event))
    return out


def _id(value: object) -> str:
    return str(value)


# -- the table ----------------------------------------------------------------


def test_table_edges_lists_every_edge_of_the_table_exactly_once():
    edges = _edges()
    assert len(edges) == len(set(edges))
    expected = {
        (kind, s, e, n)
        for kind, table in TRANSITIONS.items()
        for s, events in table.items()
        for e, n in events.items()
    }
    assert set(edges) == expected
    assert set(table_edges()) == {"challenge", "authorization", "order", "account"}


def test_table_has_the_rfc_8555_edges():
    # A sample of RFC 8555 §7.1.6 written out by hand, so a table edit that drops
    # or bends one of them fails here even though the parametrized walk still passes.
    expected = {
        ("challenge", S.PENDING, E.START, S.PROCESSING),
        ("challenge", S.PROCESSING, E.SUCCEED, S.VALID),
        ("challenge", S.PROCESSING, E.FAIL, S.INVALID),
        ("authorization", S.PENDING, E.VALIDATE, S.VALID),
        ("authorization", S.PENDING, E.FAIL, S.INVALID),
        ("authorization", S.PENDING, E.EXPIRE, S.EXPIRED),
        ("authorization", S.PENDING, E.DEACTIVATE, S.DEACTIVATED),
        ("authorization", S.VALID, E.DEACTIVATE, S.DEACTIVATED),
        ("authorization", S.VALID, E.REVOKE, S.REVOKED),
        ("authorization", S.VALID, E.EXPIRE, S.EXPIRED),
        ("order", S.PENDING, E.AUTHORIZED, S.READY),
        ("order", S.PENDING, E.FAIL, S.INVALID),
        ("order", S.READY, E.FINALIZE, S.PROCESSING),
        ("order", S.PROCESSING, E.ISSUE, S.VALID),
        ("order", S.PROCESSING, E.FAIL, S.INVALID),
        ("account", S.VALID, E.DEACTIVATE, S.DEACTIVATED),
        ("account", S.VALID, E.REVOKE, S.REVOKED),
    }
    assert expected <= set(_edges())


@pytest.mark.parametrize(
    "final",
    [S.VALID, S.INVALID, S.DEACTIVATED, S.EXPIRED, S.REVOKED],
    ids=_id,
)
def test_final_states_have_no_way_out_except_valid_authorizations_and_accounts(final):
    for kind, table in TRANSITIONS.items():
        if final is S.VALID and kind in ("authorization", "account"):
            continue
        assert table.get(final, {}) == {}, (kind, final)


# -- every edge ---------------------------------------------------------------


@pytest.mark.parametrize("kind,state,event,new", _edges(), ids=_id)
def test_every_edge_moves_the_object_and_tells_the_observer(kind, state, event, new):
    obj = Obj(kind, state)
    heard = []
    assert can(obj, event)
    result = transition(obj, event, lambda o, old, ev: heard.append((o, old, ev, o.status)))
    assert result is new
    assert obj.status is new
    assert heard == [(obj, state, event, new)]
    assert heard[0][0] is obj


@pytest.mark.parametrize("kind,state,event,new", _edges(), ids=_id)
def test_every_edge_works_without_an_observer(kind, state, event, new):
    obj = Obj(kind, state)
    assert transition(obj, event) is new
    assert obj.status is new


# -- every missing edge -----------------------------------------------------------


@pytest.mark.parametrize("kind,state,event", _missing(), ids=_id)
def test_every_missing_edge_is_illegal_and_says_what_and_where(kind, state, event):
    obj = Obj(kind, state, id=f"{kind}-id-42")
    heard = []
    assert not can(obj, event)
    with pytest.raises(IllegalTransition) as info:
        transition(obj, event, lambda *a: heard.append(a))
    message = str(info.value)
    assert kind in message
    assert f"{kind}-id-42" in message
    assert state.value in message
    assert repr(event.value) in message
    assert info.value.obj is obj
    assert info.value.event is event
    # Nothing changed and nobody was told.
    assert obj.status is state
    assert heard == []


def test_missing_edges_cover_every_other_pair():
    n_edges = sum(len(list(edges)) for edges in table_edges().values())
    assert len(_missing()) + n_edges == len(TRANSITIONS) * len(Status) * len(Event)


def test_illegal_transition_lists_the_allowed_events():
    with pytest.raises(IllegalTransition) as info:
        transition(Obj("challenge", S.PENDING), E.SUCCEED)
    assert "allowed from pending: start, fail" in str(info.value)


def test_illegal_transition_from_a_final_state_says_none_allowed():
    with pytest.raises(IllegalTransition) as info:
        transition(Obj("order", S.VALID, id="o1"), E.FAIL)
    assert str(info.value) == (
        "order o1 is valid: event 'fail' is not allowed (allowed from valid: none)"
    )


def test_illegal_transition_is_a_runtime_error():
    assert issubclass(IllegalTransition, RuntimeError)


def test_observer_is_called_after_the_status_changed():
    obj = Obj("order", S.READY)
    seen = []
    transition(obj, E.FINALIZE, lambda o, old, ev: seen.append(o.status))
    assert seen == [S.PROCESSING]


def test_status_and_event_print_as_their_values():
    assert str(S.PROCESSING) == "processing"
    assert str(E.AUTHORIZED) == "authorized"
    assert S("deactivated") is S.DEACTIVATED


# -- expiry -------------------------------------------------------------------


def test_expiry_table_matches_rfc_8555():
    assert EXPIRABLE == {
        "authorization": {S.PENDING: S.EXPIRED, S.VALID: S.EXPIRED},
        "order": {S.PENDING: S.INVALID, S.READY: S.INVALID},
    }


@pytest.mark.parametrize(
    "kind,stored,read_after",
    [
        ("order", S.PENDING, S.INVALID),
        ("order", S.READY, S.INVALID),
        ("order", S.PROCESSING, S.PROCESSING),
        ("order", S.VALID, S.VALID),
        ("order", S.INVALID, S.INVALID),
        ("authorization", S.PENDING, S.EXPIRED),
        ("authorization", S.VALID, S.EXPIRED),
        ("authorization", S.INVALID, S.INVALID),
        ("authorization", S.DEACTIVATED, S.DEACTIVATED),
        ("authorization", S.REVOKED, S.REVOKED),
        ("challenge", S.PENDING, S.PENDING),
        ("account", S.VALID, S.VALID),
    ],
    ids=_id,
)
def test_effective_status_applies_expiry(kind, stored, read_after):
    # Before expires: the stored status.
    assert effective_status(kind, stored, NOW, BEFORE) is stored
    # At expires (inclusive) and after: the expired reading.
    assert effective_status(kind, stored, NOW, NOW) is read_after
    assert effective_status(kind, stored, NOW, AFTER) is read_after


@pytest.mark.parametrize("kind", ["order", "authorization"])
def test_no_expires_means_never_expired(kind):
    far = NOW + dt.timedelta(days=100000)
    assert effective_status(kind, S.PENDING, None, far) is S.PENDING


def test_derive_order_status_follows_stored_status_before_expiry():
    for stored in (S.PENDING, S.READY, S.PROCESSING, S.VALID, S.INVALID):
        assert derive_order_status(stored, NOW, [S.VALID], BEFORE) is stored


@pytest.mark.parametrize(
    "stored,expected", [(S.PENDING, S.INVALID), (S.READY, S.INVALID),
                        (S.PROCESSING, S.PROCESSING), (S.VALID, S.VALID)],
    ids=_id,
)
def test_derive_order_status_after_expires(stored, expected):
    assert derive_order_status(stored, NOW, [S.VALID], AFTER) is expected


@pytest.mark.parametrize("bad", [S.INVALID, S.DEACTIVATED, S.EXPIRED, S.REVOKED], ids=_id)
@pytest.mark.parametrize("stored", [S.PENDING, S.READY], ids=_id)
def test_a_bad_authorization_makes_a_pending_or_ready_order_invalid(stored, bad):
    assert derive_order_status(stored, NOW, [S.VALID, bad, S.PENDING], BEFORE) is S.INVALID
    assert derive_order_status(stored, NOW, [bad], BEFORE) is S.INVALID


@pytest.mark.parametrize("bad", [S.INVALID, S.DEACTIVATED, S.EXPIRED, S.REVOKED], ids=_id)
@pytest.mark.parametrize("stored", [S.PROCESSING, S.VALID], ids=_id)
def test_a_bad_authorization_does_not_touch_a_finalized_order(stored, bad):
    assert derive_order_status(stored, NOW, [bad], BEFORE) is stored


@pytest.mark.parametrize("stored", [S.PENDING, S.READY], ids=_id)
def test_pending_and_valid_authorizations_keep_the_order(stored):
    assert derive_order_status(stored, NOW, [S.PENDING, S.VALID], BEFORE) is stored


def test_derive_order_status_accepts_a_generator_of_authz_statuses():
    assert derive_order_status(S.PENDING, NOW, (s for s in [S.EXPIRED]), BEFORE) is S.INVALID
