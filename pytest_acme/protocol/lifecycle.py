"""How one object's change carries to the others (RFC 8555 §7.1.6).

A challenge result moves its authorization, and the authorization moves every
order that holds it; finalization and issuance move the order.  These
functions do no I/O and take no locks: the caller holds the store lock and
passes the instant (``now``) and an observer that hears every transition.
The objects are reached through :class:`.records.Records` (the server's store
satisfies it), so nothing here depends on how they are kept.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from typing import Callable, List, Optional, Sequence, Tuple

from . import problems
from .identifiers import IP, Identifier
from .records import Records
from .resources import (
    CHALLENGE_TYPES,
    DEFAULT_CHALLENGE_TYPES,
    DNS_01,
    DNS_ACCOUNT_01,
    DNS_PERSIST_01,
    HTTP_01,
    TLS_ALPN_01,
    Account,
    Authorization,
    Challenge,
    Order,
    rfc3339,
)
from .states import Event, Observer, Status, can, expired, transition, whole_seconds

#: The challenges that prove control through DNS records, the only kind a
#: wildcard can use.
DNS_CHALLENGES = (DNS_01, DNS_ACCOUNT_01, DNS_PERSIST_01)


def challenge_types(identifier: Identifier,
                    offered: Sequence[str] = DEFAULT_CHALLENGE_TYPES) -> List[str]:
    """Which of the ``offered`` challenges (in their order) may prove ``identifier``.

    A wildcard can only be proven through DNS (RFC 8555 §7.1.3); an IP address
    has no DNS name to put a TXT record under (RFC 8738 §7).
    """
    usable: Tuple[str, ...]
    if identifier.wildcard:
        usable = DNS_CHALLENGES
    elif identifier.type == IP:
        usable = (HTTP_01, TLS_ALPN_01)
    else:
        usable = CHALLENGE_TYPES
    return [t for t in offered if t in usable]


def require_provable(identifiers: Sequence[Identifier], offered: Sequence[str]) -> None:
    """Refuse identifiers that none of the ``offered`` challenge types can prove.

    Raises:
        RejectedIdentifier: with one subproblem per such identifier.
    """
    unprovable = [i for i in identifiers if not challenge_types(i, offered)]
    if unprovable:
        raise problems.RejectedIdentifier(
            "none of the challenge types this server offers ("
            + ", ".join(offered) + ") can prove "
            + ", ".join(i.value for i in unprovable)
            + " (wildcards need dns-01, dns-account-01 or dns-persist-01; IP addresses "
            "http-01 or tls-alpn-01)",
            subproblems=[problems.RejectedIdentifier(
                f"no offered challenge type can prove {i.value}", identifier=i.to_json())
                for i in unprovable])


def create_order(
    store: Records,
    account: Account,
    identifiers: List[Identifier],
    now: dt.datetime,
    *,
    order_lifetime: dt.timedelta,
    authz_lifetime: dt.timedelta,
    not_before: Optional[dt.datetime] = None,
    not_after: Optional[dt.datetime] = None,
    reuse: Optional[Callable[[Identifier], Optional[Authorization]]] = None,
    observer: Optional[Observer] = None,
    offered: Sequence[str] = DEFAULT_CHALLENGE_TYPES,
    issuer_domain_names: Sequence[str] = (),
    shuffle: str = "none",
) -> Order:
    """A new order with one authorization per identifier: an existing one that
    ``reuse`` offers, or a new pending one.  An order whose authorizations are all
    valid already is ready.  New authorizations offer the ``offered`` challenge
    types where usable (see :func:`new_authorization`).

    ``shuffle`` (see :data:`SHUFFLES`) ``"all"`` lists the order's identifiers and
    authorizations each in an order of their own, as Pebble does;
    ``"challenges"`` and ``"all"`` shuffle each new authorization's challenges."""
    require_provable(identifiers, offered)
    order_id = store.new_id()
    authzs: List[Authorization] = []
    for ident in identifiers:
        existing = reuse(ident) if reuse is not None else None
        if existing is not None:
            existing.order_ids.append(order_id)
            authzs.append(existing)
            continue
        authz = new_authorization(store, account, ident, now + authz_lifetime,
                                  offered=offered, issuer_domain_names=issuer_domain_names,
                                  shuffle=shuffle)
        authz.order_ids.append(order_id)
        authzs.append(authz)
    listed, authz_ids = list(identifiers), [a.id for a in authzs]
    if shuffle == "all":
        _permute(order_id, listed, authz_ids)
    order = Order(
        id=order_id,
        account_id=account.id,
        identifiers=listed,
        authz_ids=authz_ids,
        created=now,
        # An order cannot outlive the authorizations it needs.  Expiries are
        # whole seconds, as the JSON shows them.
        expires=min([whole_seconds(now + order_lifetime)] + [a.expires for a in authzs]),
        not_before=not_before,
        not_after=not_after,
    )
    store.add_order(order, authzs)
    authorize_if_complete(store, order, now, observer)
    return order


def authorize_if_complete(store: Records, order: Order, now: dt.datetime,
                          observer: Optional[Observer]) -> None:
    """pending → ready once every authorization is valid (RFC 8555 §7.1.6), but
    never for an order whose ``expires`` has come: that one is settled invalid
    instead, so it reads, is stored and shows in the timeline as expired."""
    if not can(order, Event.AUTHORIZED):
        return
    if expired(order.expires, now):
        settle_expiry(store, order, now, observer)
        return
    if all(a.status_at(now) is Status.VALID for a in store.authzs_of_order(order)):
        transition(order, Event.AUTHORIZED, observer)


#: How new objects list what they hold: ``"none"`` in a fixed order (the offered
#: challenge types' order, the identifiers' order of the request);
#: ``"challenges"`` each authorization's challenges in an order of its own, as
#: Let's Encrypt shuffles them; ``"all"`` also an order's identifiers and
#: authorizations, as Pebble shuffles them.
SHUFFLES = ("none", "challenges", "all")


def _permute(object_id: str, *lists: list) -> None:
    """Shuffle ``lists`` in place, each its own way, the same way every time for
    ``object_id`` (ids come from the server's seeded generator, so a seed
    replays the orders a run saw, whatever threads did in between)."""
    rng = random.Random(object_id)
    for items in lists:
        rng.shuffle(items)


def new_authorization(store: Records, account: Account, ident: Identifier,
                      expires: dt.datetime, *,
                      offered: Sequence[str] = DEFAULT_CHALLENGE_TYPES,
                      issuer_domain_names: Sequence[str] = (),
                      shuffle: str = "none") -> Authorization:
    """A pending authorization with its challenges (not yet in the store): the
    ``offered`` types that can prove ``ident``, in order unless ``shuffle`` (see
    :data:`SHUFFLES`) is not ``"none"``; a dns-persist-01 challenge names the CA by
    ``issuer_domain_names``.

    Raises:
        RejectedIdentifier: no offered type can prove ``ident``.
    """
    require_provable([ident], offered)
    authz_id = store.new_id()
    challenges = [
        Challenge(id=store.new_id(), type=t, token=store.token(), authz_id=authz_id,
                  issuer_domain_names=tuple(issuer_domain_names) if t == DNS_PERSIST_01
                  else (),
                  account_id=account.id if t == DNS_PERSIST_01 else None)
        for t in challenge_types(ident, offered)
    ]
    if shuffle != "none":
        _permute(authz_id, challenges)
    return Authorization(id=authz_id, account_id=account.id, identifier=ident,
                         expires=whole_seconds(expires), challenges=challenges)


def start_validation(
    store: Records, challenge: Challenge, now: dt.datetime, observer: Observer
) -> bool:
    """The client asked for ``challenge`` to be validated (RFC 8555 §7.5.1).

    Returns True when a validation must now run; False when the request is a
    repeat for a challenge already being validated or already valid.

    Raises:
        Malformed: the authorization is no longer pending, or another of its
            challenges is already being validated.
    """
    authz = store.authz(challenge.authz_id)
    if challenge.status in (Status.PROCESSING, Status.VALID):
        return False
    status = authz.status_at(now)
    if status != Status.PENDING:
        raise problems.Malformed(
            f"the authorization for {authz.identifier.value} is {status.value}, so its "
            "challenges can no longer be answered; create a new order"
        )
    busy = [c for c in authz.challenges if c.status is not Status.PENDING]
    if busy:
        raise problems.Malformed(
            f"the {busy[0].type} challenge of this authorization is already "
            f"{busy[0].status.value}; only one challenge per authorization may be attempted"
        )
    transition(challenge, Event.START, observer)
    return True


def finish_validation(
    store: Records,
    challenge: Challenge,
    error: Optional[problems.Problem],
    now: dt.datetime,
    observer: Observer,
) -> None:
    """Record a validation result and carry it to the authorization and orders."""
    authz = store.authz(challenge.authz_id)
    if challenge.status is not Status.PROCESSING:
        return  # reset, or forced elsewhere, while the validation ran
    if authz.status_at(now) is not Status.PENDING:
        # It expired (or was deactivated) while validating: the result is moot.
        error = error or problems.Malformed(
            f"the authorization expired at {rfc3339(authz.expires)} before validation ended"
        )
        challenge.error = error
        transition(challenge, Event.FAIL, observer)
        return
    if error is None:
        challenge.validated = now
        transition(challenge, Event.SUCCEED, observer)
        transition(authz, Event.VALIDATE, observer)
        for order in store.orders_of_authz(authz):
            authorize_if_complete(store, order, now, observer)
        return
    error.identifier = authz.identifier.to_json()
    challenge.error = error
    transition(challenge, Event.FAIL, observer)
    transition(authz, Event.FAIL, observer)
    for order in store.orders_of_authz(authz):
        if can(order, Event.FAIL):
            order.error = copy.copy(error)
            transition(order, Event.FAIL, observer)


def deactivate_authorization(
    store: Records, authz: Authorization, now: dt.datetime, observer: Observer
) -> None:
    """The client gave up an authorization (RFC 8555 §7.5.2); orders waiting on it fail."""
    status = authz.status_at(now)
    if status not in (Status.PENDING, Status.VALID):
        raise problems.Malformed(
            f"the authorization is {status.value}; only pending or valid authorizations "
            "can be deactivated"
        )
    transition(authz, Event.DEACTIVATE, observer)
    for order in store.orders_of_authz(authz):
        if order.status in (Status.PENDING, Status.READY):
            order.error = problems.Unauthorized(
                f"the authorization for {authz.identifier.value} was deactivated"
            )
            transition(order, Event.FAIL, observer)


def settle_expiry(store: Records, order: Order, now: dt.datetime,
                  observer: Optional[Observer]) -> None:
    """Store the expiry that reads already show, before a write acts on the order.

    The ``error`` it records says what happened, not what to do: the advice
    belongs to the answer of the request that meets it (:func:`begin_finalize`).
    An expired order's error is ``orderNotReady``, the problem Let's Encrypt
    answers to its finalization (its status reads invalid there too).
    """
    for authz in store.authzs_of_order(order):
        if authz.status_at(now) is Status.EXPIRED and can(authz, Event.EXPIRE):
            transition(authz, Event.EXPIRE, observer)
    status = order.status_at(now, store.authz)
    if status is Status.INVALID and order.status in (Status.PENDING, Status.READY):
        if expired(order.expires, now):
            order.error = problems.OrderNotReady(
                f"the order expired at {rfc3339(order.expires)}")
            transition(order, Event.EXPIRE, observer)
        else:
            failed = next(a for a in store.authzs_of_order(order)
                          if a.status_at(now) not in (Status.PENDING, Status.VALID))
            order.error = problems.Unauthorized(
                f"the authorization for {failed.identifier.value} is "
                f"{failed.status_at(now).value}")
            transition(order, Event.FAIL, observer)


def expire_now(store: Records, order: Order, now: dt.datetime,
               observer: Optional[Observer]) -> None:
    """Bring ``order``'s expiry forward to ``now`` (never back) and store what that
    makes of it (:func:`settle_expiry`): a pending or ready order becomes invalid,
    as when its time comes."""
    order.expires = min(order.expires, whole_seconds(now))
    settle_expiry(store, order, now, observer)


def begin_finalize(store: Records, order: Order, now: dt.datetime, observer: Observer) -> None:
    """ready → processing, or :class:`OrderNotReady` saying why not."""
    require_ready(store, order, now, observer)
    transition(order, Event.FINALIZE, observer)


def require_ready(store: Records, order: Order, now: dt.datetime, observer: Observer) -> None:
    """Nothing if the order is ready to finalize, else :class:`OrderNotReady` saying
    why not (RFC 8555 §7.4: "orderNotReady" for an order that is not ready)."""
    settle_expiry(store, order, now, observer)
    status = order.status_at(now, store.authz)
    if status is Status.INVALID:
        why = order.error.detail if order.error is not None else "it can no longer be finalized"
        raise problems.OrderNotReady(f"the order is invalid ({why}); create a new order")
    if status is not Status.READY:
        why = {
            Status.PENDING: "not every authorization is valid yet",
            Status.PROCESSING: "it is already being finalized",
            Status.VALID: "it was already finalized and has a certificate",
        }[status]
        raise problems.OrderNotReady(f"the order is {status.value}: {why}", pebble=(
            "orderNotReady", f'Order\'s status ("{status.value}") was not ready'))


def complete_issuance(order: Order, certificate_id: str, observer: Observer) -> None:
    order.certificate_id = certificate_id
    transition(order, Event.ISSUE, observer)


def fail_order(order: Order, error: problems.Problem, observer: Observer) -> None:
    """pending, ready or processing → invalid (the CSR or issuance failed, or a test
    invalidated the order), recording ``error``."""
    order.error = error
    transition(order, Event.FAIL, observer)
