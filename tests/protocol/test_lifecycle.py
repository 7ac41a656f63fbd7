"""How one object's change carries to the others (pytest_acme.protocol.lifecycle)."""

from __future__ import annotations

import datetime as dt
import random
from typing import List, Tuple

import josepy
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from pytest_acme.protocol import lifecycle, problems
from pytest_acme.protocol.identifiers import Identifier
from pytest_acme.protocol.resources import CHALLENGE_TYPES, Account, Authorization, Challenge, Order, rfc3339
from pytest_acme.protocol.states import Event, IllegalTransition, Status
from pytest_acme.store import Store

S = Status
T0 = dt.datetime(2030, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
ORDER_LIFE = dt.timedelta(hours=1)
AUTHZ_LIFE = dt.timedelta(hours=2)

JWK = josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1()).public_key())


class Urls:
    def account(self, id): return f"https://acme.test/acct/{id}"
    def account_orders(self, id): return f"https://acme.test/acct/{id}/orders"
    def order(self, id): return f"https://acme.test/order/{id}"
    def finalize(self, id): return f"https://acme.test/order/{id}/finalize"
    def authz(self, id): return f"https://acme.test/authz/{id}"
    def challenge(self, id): return f"https://acme.test/chall/{id}"
    def certificate(self, id): return f"https://acme.test/cert/{id}"


class Recorder:
    """An observer that remembers every transition."""

    def __init__(self) -> None:
        self.seen: List[Tuple[str, str, Status, Event, Status]] = []

    def __call__(self, obj, old, event) -> None:
        self.seen.append((obj.kind, obj.id, old, event, obj.status))

    def kinds(self) -> List[Tuple[str, Event, Status]]:
        return [(k, e, new) for k, _, _, e, new in self.seen]


@pytest.fixture
def store() -> Store:
    return Store(random.Random(1))


@pytest.fixture
def account(store: Store) -> Account:
    acct = Account(id=store.new_id(), jwk=JWK, thumbprint="thumb", created=T0)
    store.add_account(acct)
    return acct


@pytest.fixture
def obs() -> Recorder:
    return Recorder()


def dns(v):
    return Identifier("dns", v)


def ip(v):
    return Identifier("ip", v)


def new_order(store, account, *idents, now=T0, order_life=ORDER_LIFE, authz_life=AUTHZ_LIFE,
              **kw) -> Order:
    return lifecycle.create_order(
        store, account, list(idents or [dns("example.com")]), now,
        order_lifetime=order_life, authz_lifetime=authz_life, **kw
    )


def authzs(store, order) -> List[Authorization]:
    return store.authzs_of_order(order)


def challenge(authz: Authorization, type_: str) -> Challenge:
    (found,) = [c for c in authz.challenges if c.type == type_]
    return found


def validate(store, order, obs, now=T0, type_="http-01"):
    """Pass one challenge of every authorization of ``order``."""
    for authz in authzs(store, order):
        ch = challenge(authz, type_ if type_ in [c.type for c in authz.challenges] else "dns-01")
        assert lifecycle.start_validation(store, ch, now, obs)
        lifecycle.finish_validation(store, ch, None, now, obs)


# -- create_order -------------------------------------------------------------------------


def test_create_order_makes_one_authz_per_identifier(store, account):
    idents = [dns("example.com"), dns("*.example.com"), ip("192.0.2.1"), ip("2001:db8::1")]
    order = new_order(store, account, *idents)
    assert order.status is S.PENDING
    assert order.account_id == account.id
    assert order.identifiers == idents
    assert order.created == T0
    assert len(order.authz_ids) == 4 == len(set(order.authz_ids))
    assert store.orders[order.id] is order
    assert account.order_ids == [order.id]
    got = authzs(store, order)
    assert [a.identifier for a in got] == idents
    for a in got:
        assert a.status is S.PENDING
        assert a.account_id == account.id
        assert a.order_ids == [order.id]
        assert a.expires == T0 + AUTHZ_LIFE
        for c in a.challenges:
            assert c.status is S.PENDING
            assert c.authz_id == a.id
            assert store.challenges[c.id] is c
    tokens = [c.token for a in got for c in a.challenges]
    assert len(set(tokens)) == len(tokens)
    assert all(len(t) >= 22 for t in tokens)  # 128 bits, base64url


@pytest.mark.parametrize(
    "ident,types",
    [
        (dns("example.com"), ["http-01", "dns-01", "tls-alpn-01"]),
        (dns("*.example.com"), ["dns-01"]),
        (ip("192.0.2.1"), ["http-01", "tls-alpn-01"]),
        (ip("2001:db8::1"), ["http-01", "tls-alpn-01"]),
    ],
    ids=str,
)
def test_challenge_types_per_identifier_by_default(store, account, ident, types):
    """Let's Encrypt's offer: the RFC 8555 three, dns-01 alone for a wildcard."""
    assert lifecycle.challenge_types(ident) == types
    order = new_order(store, account, ident)
    (authz,) = authzs(store, order)
    assert [c.type for c in authz.challenges] == types


@pytest.mark.parametrize(
    "ident,types",
    [
        (dns("example.com"), ["http-01", "dns-01", "tls-alpn-01", "dns-account-01",
                              "dns-persist-01"]),
        (dns("*.example.com"), ["dns-01", "dns-account-01", "dns-persist-01"]),
        (ip("192.0.2.1"), ["http-01", "tls-alpn-01"]),
    ],
    ids=str,
)
def test_challenge_types_per_identifier_with_the_drafts(store, account, ident, types):
    assert lifecycle.challenge_types(ident, CHALLENGE_TYPES) == types
    order = new_order(store, account, ident, offered=CHALLENGE_TYPES)
    (authz,) = authzs(store, order)
    assert [c.type for c in authz.challenges] == types


def test_wildcard_authz_json_names_the_base_and_says_wildcard(store, account):
    order = new_order(store, account, dns("*.example.com"), dns("example.com"),
                      offered=CHALLENGE_TYPES)
    wild, plain = authzs(store, order)
    doc = wild.to_json(Urls(), T0)
    assert doc["identifier"] == {"type": "dns", "value": "example.com"}
    assert doc["wildcard"] is True
    assert [c["type"] for c in doc["challenges"]] == ["dns-01", "dns-account-01", "dns-persist-01"]
    doc = plain.to_json(Urls(), T0)
    assert doc["identifier"] == {"type": "dns", "value": "example.com"}
    assert "wildcard" not in doc


@pytest.mark.parametrize(
    "order_life,authz_life,expected",
    [
        (dt.timedelta(hours=1), dt.timedelta(hours=2), dt.timedelta(hours=1)),
        (dt.timedelta(hours=3), dt.timedelta(hours=2), dt.timedelta(hours=2)),
        (dt.timedelta(hours=2), dt.timedelta(hours=2), dt.timedelta(hours=2)),
    ],
)
def test_order_expires_at_the_earliest_of_order_and_authz_lifetimes(
    store, account, order_life, authz_life, expected
):
    order = new_order(store, account, order_life=order_life, authz_life=authz_life)
    assert order.expires == T0 + expected
    assert all(a.expires == T0 + authz_life for a in authzs(store, order))


def test_create_order_keeps_not_before_and_not_after(store, account):
    nb, na = T0, T0 + dt.timedelta(days=7)
    order = new_order(store, account, not_before=nb, not_after=na)
    assert (order.not_before, order.not_after) == (nb, na)
    doc = order.to_json(Urls(), T0, store.authz)
    assert doc["notBefore"] == "2030-01-01T12:00:00Z"
    assert doc["notAfter"] == "2030-01-08T12:00:00Z"


# -- validation ---------------------------------------------------------------------------


def test_successful_validation_makes_authz_valid_and_order_ready_when_all_are(
    store, account, obs
):
    order = new_order(store, account, dns("a.example.com"), dns("b.example.com"))
    a, b = authzs(store, order)
    ch = challenge(a, "http-01")
    assert lifecycle.start_validation(store, ch, T0, obs) is True
    assert ch.status is S.PROCESSING
    lifecycle.finish_validation(store, ch, None, T0 + dt.timedelta(seconds=5), obs)
    assert ch.status is S.VALID
    assert ch.validated == T0 + dt.timedelta(seconds=5)
    assert a.status is S.VALID
    assert order.status is S.PENDING  # b is still pending
    assert order.status_at(T0, store.authz) is S.PENDING

    ch2 = challenge(b, "dns-01")
    assert lifecycle.start_validation(store, ch2, T0, obs)
    lifecycle.finish_validation(store, ch2, None, T0, obs)
    assert b.status is S.VALID
    assert order.status is S.READY
    assert order.status_at(T0, store.authz) is S.READY
    # The untried challenges stay pending.
    assert [c.status for c in a.challenges] == [S.VALID, S.PENDING, S.PENDING]
    assert obs.kinds() == [
        ("challenge", Event.START, S.PROCESSING),
        ("challenge", Event.SUCCEED, S.VALID),
        ("authorization", Event.VALIDATE, S.VALID),
        ("challenge", Event.START, S.PROCESSING),
        ("challenge", Event.SUCCEED, S.VALID),
        ("authorization", Event.VALIDATE, S.VALID),
        ("order", Event.AUTHORIZED, S.READY),
    ]


def test_validation_failure_invalidates_challenge_authz_and_order(store, account, obs):
    order = new_order(store, account, dns("a.example.com"), dns("b.example.com"))
    a, b = authzs(store, order)
    ch = challenge(a, "http-01")
    lifecycle.start_validation(store, ch, T0, obs)
    error = problems.IncorrectResponse("the key authorization did not match")
    lifecycle.finish_validation(store, ch, error, T0, obs)
    assert ch.status is S.INVALID
    assert ch.error is error
    assert ch.validated is None
    assert a.status is S.INVALID
    assert b.status is S.PENDING
    assert order.status is S.INVALID
    assert isinstance(order.error, problems.IncorrectResponse)
    assert order.error.detail == "the key authorization did not match"
    assert order.error.identifier == {"type": "dns", "value": "a.example.com"}
    assert ch.error.identifier == {"type": "dns", "value": "a.example.com"}
    doc = order.to_json(Urls(), T0, store.authz)
    assert doc["status"] == "invalid"
    assert doc["error"]["type"] == "urn:ietf:params:acme:error:incorrectResponse"
    assert doc["error"]["identifier"] == {"type": "dns", "value": "a.example.com"}
    chdoc = ch.to_json(Urls())
    assert chdoc["status"] == "invalid"
    assert chdoc["error"]["detail"] == "the key authorization did not match"
    assert obs.kinds()[-3:] == [
        ("challenge", Event.FAIL, S.INVALID),
        ("authorization", Event.FAIL, S.INVALID),
        ("order", Event.FAIL, S.INVALID),
    ]


def test_only_one_challenge_per_authz_can_be_attempted(store, account, obs):
    order = new_order(store, account)
    (authz,) = authzs(store, order)
    http, dns01, alpn = authz.challenges[:3]
    assert lifecycle.start_validation(store, http, T0, obs)
    with pytest.raises(problems.Malformed) as info:
        lifecycle.start_validation(store, dns01, T0, obs)
    assert "http-01 challenge of this authorization is already processing" in info.value.detail
    assert "only one challenge per authorization" in info.value.detail
    assert dns01.status is S.PENDING
    lifecycle.finish_validation(store, http, None, T0, obs)
    # Once valid, the authorization is no longer pending: the others cannot start.
    with pytest.raises(problems.Malformed) as info:
        lifecycle.start_validation(store, alpn, T0, obs)
    assert "is valid" in info.value.detail
    assert alpn.status is S.PENDING


@pytest.mark.parametrize("passed", [False, True], ids=["processing", "valid"])
def test_repeated_start_returns_false(store, account, obs, passed):
    order = new_order(store, account)
    (authz,) = authzs(store, order)
    ch = challenge(authz, "http-01")
    assert lifecycle.start_validation(store, ch, T0, obs) is True
    if passed:
        lifecycle.finish_validation(store, ch, None, T0, obs)
    before = list(obs.seen)
    assert lifecycle.start_validation(store, ch, T0, obs) is False
    assert obs.seen == before
    assert ch.status is (S.VALID if passed else S.PROCESSING)


def test_start_after_failure_is_refused(store, account, obs):
    order = new_order(store, account)
    (authz,) = authzs(store, order)
    ch = challenge(authz, "http-01")
    lifecycle.start_validation(store, ch, T0, obs)
    lifecycle.finish_validation(store, ch, problems.Connection("refused"), T0, obs)
    with pytest.raises(problems.Malformed, match="is invalid"):
        lifecycle.start_validation(store, ch, T0, obs)
    with pytest.raises(problems.Malformed, match="create a new order"):
        lifecycle.start_validation(store, challenge(authz, "dns-01"), T0, obs)


def test_start_on_an_expired_authz_is_refused(store, account, obs):
    order = new_order(store, account)
    (authz,) = authzs(store, order)
    with pytest.raises(problems.Malformed) as info:
        lifecycle.start_validation(store, authz.challenges[0], T0 + AUTHZ_LIFE, obs)
    assert "is expired" in info.value.detail
    assert authz.challenges[0].status is S.PENDING


def test_result_after_the_authz_expired_is_moot(store, account, obs):
    order = new_order(store, account)
    (authz,) = authzs(store, order)
    ch = challenge(authz, "http-01")
    lifecycle.start_validation(store, ch, T0, obs)
    later = T0 + AUTHZ_LIFE + dt.timedelta(seconds=1)
    lifecycle.finish_validation(store, ch, None, later, obs)
    assert ch.status is S.INVALID
    assert isinstance(ch.error, problems.Malformed)
    assert "expired" in ch.error.detail
    assert authz.status is S.PENDING
    assert authz.status_at(later) is S.EXPIRED
    assert order.status is S.PENDING
    assert order.status_at(later, store.authz) is S.INVALID


def test_finish_on_a_challenge_that_is_not_processing_does_nothing(store, account, obs):
    order = new_order(store, account)
    (authz,) = authzs(store, order)
    ch = challenge(authz, "http-01")
    lifecycle.finish_validation(store, ch, None, T0, obs)
    assert ch.status is S.PENDING
    assert authz.status is S.PENDING
    assert obs.seen == []


def test_one_authz_shared_by_two_orders_moves_both(store, account, obs):
    # Authorization reuse: the store links one authz to several orders.
    first = new_order(store, account)
    (authz,) = authzs(store, first)
    second = Order(id=store.new_id(), account_id=account.id, identifiers=[authz.identifier],
                   authz_ids=[authz.id], created=T0, expires=T0 + ORDER_LIFE)
    store.add_order(second, [authz])
    authz.order_ids.append(second.id)
    ch = challenge(authz, "http-01")
    lifecycle.start_validation(store, ch, T0, obs)
    lifecycle.finish_validation(store, ch, None, T0, obs)
    assert first.status is S.READY
    assert second.status is S.READY


# -- finalize ---------------------------------------------------------------------------


def test_begin_finalize_moves_a_ready_order_to_processing(store, account, obs):
    order = new_order(store, account, dns("example.com"), ip("192.0.2.1"))
    validate(store, order, obs)
    assert order.status is S.READY
    lifecycle.begin_finalize(store, order, T0, obs)
    assert order.status is S.PROCESSING
    assert obs.kinds()[-1] == ("order", Event.FINALIZE, S.PROCESSING)
    lifecycle.complete_issuance(order, "cert-1", obs)
    assert order.status is S.VALID
    assert order.certificate_id == "cert-1"
    doc = order.to_json(Urls(), T0, store.authz)
    assert doc["status"] == "valid"
    assert doc["certificate"] == "https://acme.test/cert/cert-1"


def _not_ready(store, order, obs, now=T0) -> str:
    with pytest.raises(problems.OrderNotReady) as info:
        lifecycle.begin_finalize(store, order, now, obs)
    assert info.value.status == 403
    return info.value.detail


def test_begin_finalize_pending(store, account, obs):
    order = new_order(store, account)
    detail = _not_ready(store, order, obs)
    assert detail == "the order is pending: not every authorization is valid yet"
    assert order.status is S.PENDING


def test_begin_finalize_processing(store, account, obs):
    order = new_order(store, account)
    validate(store, order, obs)
    lifecycle.begin_finalize(store, order, T0, obs)
    detail = _not_ready(store, order, obs)
    assert detail == "the order is processing: it is already being finalized"
    assert order.status is S.PROCESSING


def test_begin_finalize_valid(store, account, obs):
    order = new_order(store, account)
    validate(store, order, obs)
    lifecycle.begin_finalize(store, order, T0, obs)
    lifecycle.complete_issuance(order, "c", obs)
    detail = _not_ready(store, order, obs)
    assert detail == "the order is valid: it was already finalized and has a certificate"


def test_begin_finalize_invalid(store, account, obs):
    order = new_order(store, account)
    (authz,) = authzs(store, order)
    ch = challenge(authz, "http-01")
    lifecycle.start_validation(store, ch, T0, obs)
    lifecycle.finish_validation(store, ch, problems.DNS("NXDOMAIN"), T0, obs)
    detail = _not_ready(store, order, obs)
    assert detail == "the order is invalid (NXDOMAIN); create a new order"


@pytest.mark.parametrize("validated", [False, True], ids=["pending", "ready"])
def test_begin_finalize_expired(store, account, obs, validated):
    order = new_order(store, account)
    if validated:
        validate(store, order, obs)
        assert order.status is S.READY
    after = order.expires + dt.timedelta(seconds=1)
    detail = _not_ready(store, order, obs, now=after)
    # The advice is given once, after the reason the order records.
    assert detail == ("the order is invalid (the order expired at 2030-01-01T13:00:00Z); "
                      "create a new order")
    assert order.status is S.INVALID
    # Not malformed: orderNotReady, what Let's Encrypt answers to its finalization.
    assert isinstance(order.error, problems.OrderNotReady)
    assert order.error.detail == "the order expired at 2030-01-01T13:00:00Z"
    assert ("order", Event.EXPIRE, S.INVALID) in obs.kinds()


def test_begin_finalize_exactly_at_expires_is_too_late(store, account, obs):
    order = new_order(store, account)
    validate(store, order, obs)
    _not_ready(store, order, obs, now=order.expires)
    assert order.status is S.INVALID


def test_begin_finalize_just_before_expires_works(store, account, obs):
    order = new_order(store, account)
    validate(store, order, obs)
    lifecycle.begin_finalize(store, order, order.expires - dt.timedelta(microseconds=1), obs)
    assert order.status is S.PROCESSING


def test_a_failed_authorization_is_named_once_with_the_advice_once(store, account, obs):
    order = new_order(store, account)
    (authz,) = authzs(store, order)
    lifecycle.deactivate_authorization(store, authz, T0, obs)
    detail = _not_ready(store, order, obs)
    assert detail == ("the order is invalid (the authorization for example.com was "
                      "deactivated); create a new order")
    order = new_order(store, account)
    (authz,) = authzs(store, order)
    late = authz.expires  # the order (1 h) expired first: its own expiry is the reason
    assert "the order expired at" in _not_ready(store, order, obs, now=late)


@pytest.mark.parametrize("fraction", [0, 1, 999_999])
def test_expiries_are_stored_in_whole_seconds_as_they_are_shown(store, account, fraction):
    """What a client reads in ``expires`` is the instant the server enforces."""
    now = T0 + dt.timedelta(microseconds=fraction)
    order = new_order(store, account, now=now)
    (authz,) = authzs(store, order)
    assert order.expires == T0 + ORDER_LIFE and authz.expires == T0 + AUTHZ_LIFE
    for obj in (order, authz):
        shown = obj.to_json(Urls(), now, store.authz) if obj is order else obj.to_json(Urls(), now)
        assert shown["expires"] == rfc3339(obj.expires)
        assert obj.expires.microsecond == 0
    # Live one microsecond before the instant shown, expired at it.
    before = order.expires - dt.timedelta(microseconds=1)
    assert order.status_at(before, store.authz) is S.PENDING
    assert order.status_at(order.expires, store.authz) is S.INVALID
    assert authz.status_at(authz.expires - dt.timedelta(microseconds=1)) is S.PENDING
    assert authz.status_at(authz.expires) is S.EXPIRED


def test_an_order_validated_after_it_expired_never_becomes_ready(store, account, obs):
    """Its authorization outlives it (1 h order, 2 h authorization): validated
    after the order's expiry, the authorization is valid, and the order is stored
    invalid, never ready, and says so in its transitions."""
    order = new_order(store, account)
    (authz,) = authzs(store, order)
    ch = challenge(authz, "http-01")
    lifecycle.start_validation(store, ch, T0, obs)
    late = order.expires + dt.timedelta(minutes=1)
    lifecycle.finish_validation(store, ch, None, late, obs)
    assert authz.status is S.VALID
    assert order.status is S.INVALID
    assert isinstance(order.error, problems.OrderNotReady)
    assert ("order", Event.AUTHORIZED, S.READY) not in obs.kinds()
    assert obs.kinds()[-1] == ("order", Event.EXPIRE, S.INVALID)
    # Validated at the very instant the order shows as its expiry: the same.
    order = new_order(store, account, dns("at.example.com"))
    (authz,) = authzs(store, order)
    ch = challenge(authz, "http-01")
    lifecycle.start_validation(store, ch, T0, obs)
    lifecycle.finish_validation(store, ch, None, order.expires, obs)
    assert (authz.status, order.status) == (S.VALID, S.INVALID)


def test_begin_finalize_deactivated(store, account, obs):
    order = new_order(store, account)
    validate(store, order, obs)
    (authz,) = authzs(store, order)
    lifecycle.deactivate_authorization(store, authz, T0, obs)
    detail = _not_ready(store, order, obs)
    assert detail.startswith("the order is invalid")
    assert "deactivated" in detail


# -- settle_expiry -------------------------------------------------------------------------


def test_settle_expiry_stores_the_expiry_of_order_and_authzs(store, account, obs):
    order = new_order(store, account, dns("a.example.com"), dns("b.example.com"),
                      order_life=AUTHZ_LIFE)
    a, b = authzs(store, order)
    validate_one = challenge(a, "http-01")
    lifecycle.start_validation(store, validate_one, T0, obs)
    lifecycle.finish_validation(store, validate_one, None, T0, obs)
    later = T0 + AUTHZ_LIFE
    # Reads already show the expiry; the stored statuses do not.
    assert (a.status, b.status, order.status) == (S.VALID, S.PENDING, S.PENDING)
    assert (a.status_at(later), b.status_at(later)) == (S.EXPIRED, S.EXPIRED)
    assert order.status_at(later, store.authz) is S.INVALID
    lifecycle.settle_expiry(store, order, later, obs)
    assert (a.status, b.status, order.status) == (S.EXPIRED, S.EXPIRED, S.INVALID)
    assert isinstance(order.error, problems.OrderNotReady)
    assert order.error.detail == "the order expired at 2030-01-01T14:00:00Z"
    assert order.to_json(Urls(), later, store.authz)["error"]["detail"] == order.error.detail
    assert obs.kinds()[-3:] == [
        ("authorization", Event.EXPIRE, S.EXPIRED),
        ("authorization", Event.EXPIRE, S.EXPIRED),
        ("order", Event.EXPIRE, S.INVALID),
    ]


def test_settle_expiry_before_expiry_changes_nothing(store, account, obs):
    order = new_order(store, account)
    lifecycle.settle_expiry(store, order, order.expires - dt.timedelta(seconds=1), obs)
    assert order.status is S.PENDING
    assert obs.seen == []


def test_settle_expiry_only_the_order_expired(store, account, obs):
    order = new_order(store, account)  # order 1h, authz 2h
    (authz,) = authzs(store, order)
    when = T0 + ORDER_LIFE
    lifecycle.settle_expiry(store, order, when, obs)
    assert order.status is S.INVALID
    assert authz.status is S.PENDING
    assert obs.kinds() == [("order", Event.EXPIRE, S.INVALID)]


def test_settle_expiry_leaves_finalized_orders_alone(store, account, obs):
    order = new_order(store, account)
    validate(store, order, obs)
    lifecycle.begin_finalize(store, order, T0, obs)
    lifecycle.complete_issuance(order, "c", obs)
    (authz,) = authzs(store, order)
    much_later = T0 + dt.timedelta(days=30)
    lifecycle.settle_expiry(store, order, much_later, obs)
    assert order.status is S.VALID
    assert order.error is None
    assert authz.status is S.EXPIRED


def test_settle_expiry_is_idempotent(store, account, obs):
    order = new_order(store, account)
    later = T0 + AUTHZ_LIFE
    lifecycle.settle_expiry(store, order, later, obs)
    n = len(obs.seen)
    lifecycle.settle_expiry(store, order, later, obs)
    assert len(obs.seen) == n


# -- deactivate_authorization ---------------------------------------------------------------


@pytest.mark.parametrize("validated", [False, True], ids=["pending", "valid"])
def test_deactivate_authorization_invalidates_its_orders(store, account, obs, validated):
    order = new_order(store, account, dns("a.example.com"), dns("b.example.com"))
    if validated:
        validate(store, order, obs)
        assert order.status is S.READY
    a, b = authzs(store, order)
    lifecycle.deactivate_authorization(store, a, T0, obs)
    assert a.status is S.DEACTIVATED
    assert b.status is (S.VALID if validated else S.PENDING)
    assert order.status is S.INVALID
    assert isinstance(order.error, problems.Unauthorized)
    assert "a.example.com was deactivated" in order.error.detail
    assert obs.kinds()[-2:] == [
        ("authorization", Event.DEACTIVATE, S.DEACTIVATED),
        ("order", Event.FAIL, S.INVALID),
    ]


def test_deactivate_leaves_finalized_orders(store, account, obs):
    order = new_order(store, account)
    validate(store, order, obs)
    lifecycle.begin_finalize(store, order, T0, obs)
    (authz,) = authzs(store, order)
    lifecycle.deactivate_authorization(store, authz, T0, obs)
    assert authz.status is S.DEACTIVATED
    assert order.status is S.PROCESSING
    assert order.error is None


def test_deactivate_twice_is_refused(store, account, obs):
    order = new_order(store, account)
    (authz,) = authzs(store, order)
    lifecycle.deactivate_authorization(store, authz, T0, obs)
    with pytest.raises(problems.Malformed) as info:
        lifecycle.deactivate_authorization(store, authz, T0, obs)
    assert "the authorization is deactivated" in info.value.detail


def test_deactivate_an_expired_authorization_is_refused(store, account, obs):
    order = new_order(store, account)
    (authz,) = authzs(store, order)
    with pytest.raises(problems.Malformed) as info:
        lifecycle.deactivate_authorization(store, authz, T0 + AUTHZ_LIFE, obs)
    assert "the authorization is expired" in info.value.detail
    assert authz.status is S.PENDING


# -- fail_order -----------------------------------------------------------------------------


def test_fail_order_records_the_error(store, account, obs):
    order = new_order(store, account)
    validate(store, order, obs)
    lifecycle.begin_finalize(store, order, T0, obs)
    error = problems.BadCSR("the CSR's subject CN 'x' is not one of the order's identifiers")
    lifecycle.fail_order(order, error, obs)
    assert order.status is S.INVALID
    assert order.error is error
    assert obs.kinds()[-1] == ("order", Event.FAIL, S.INVALID)
    doc = order.to_json(Urls(), T0, store.authz)
    assert doc["error"]["type"] == "urn:ietf:params:acme:error:badCSR"


def test_fail_order_on_a_valid_order_is_a_server_bug(store, account, obs):
    order = new_order(store, account)
    validate(store, order, obs)
    lifecycle.begin_finalize(store, order, T0, obs)
    lifecycle.complete_issuance(order, "c", obs)
    with pytest.raises(IllegalTransition):
        lifecycle.fail_order(order, problems.ServerInternal("x"), obs)


def test_complete_issuance_needs_processing(store, account, obs):
    order = new_order(store, account)
    with pytest.raises(IllegalTransition):
        lifecycle.complete_issuance(order, "c", obs)
