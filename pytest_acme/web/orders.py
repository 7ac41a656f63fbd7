"""Orders (RFC 8555 §7.4): newOrder with its identifiers, validity, profile,
ARI ``replaces`` and the reuse of authorizations and orders; reading an order;
finalize, which checks the CSR and hands the order to issuance."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from ..protocol import lifecycle, problems
from ..protocol.ari import check_replacement
from ..protocol.csr import accept_csr
from ..protocol.identifiers import MAX_LABELS, Identifier, parse_identifiers, refuse_blocked
from ..protocol.inputs import timestamp
from ..protocol.profiles import choose_profile
from ..protocol.resources import Account, Authorization, Order, rfc3339
from ..protocol.reuse import ReusePolicy, reusable, reuse_cutoff
from ..protocol.states import Status
from .exchange import (
    Exchange,
    JsonBody,
    Reply,
    endpoint,
    order_reply,
    owned,
    require_payload,
    require_post_as_get,
)
from .jws import b64url_decode
from .polling import running_validations, settle

if TYPE_CHECKING:
    from .app import AcmeApp


def _timestamp(payload: JsonBody, name: str) -> Optional[dt.datetime]:
    """RFC 8555 §7.4: notBefore and notAfter are RFC 3339 ``date-time`` strings."""
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise problems.Malformed(f"'{name}' must be an RFC 3339 timestamp string")
    try:
        return timestamp(value, f"'{name}'")
    except ValueError as e:
        raise problems.Malformed(str(e)) from None


#: How far ahead of now a requested notBefore or notAfter may lie, beyond the
#: longest validity this server issues: a test asks for "now" or "soon", and a
#: year 9999 is a client bug (Boulder refuses both fields; see new_order).
VALIDITY_HORIZON = dt.timedelta(days=3653)


def _validity(app: "AcmeApp", payload: JsonBody, now: dt.datetime,
              profile: Optional[str] = None) -> Tuple[Optional[dt.datetime], Optional[dt.datetime]]:
    """notBefore/notAfter (RFC 8555 §7.4): honoured when sensible, refused otherwise."""
    not_before, not_after = _timestamp(payload, "notBefore"), _timestamp(payload, "notAfter")
    if not_before is None and not_after is None:
        return None, None
    seconds = app.config.certificate_validity
    if profile is not None:
        seconds = (app.config.profiles or {})[profile].lifetime(seconds)
    longest = dt.timedelta(seconds=seconds)
    # Bounded before any arithmetic: 9999-12-31 + the validity is past datetime.max.
    # (Dates far in the past need no bound: they end in the past, refused below.)
    latest = now + longest + VALIDITY_HORIZON
    for name, when in (("notBefore", not_before), ("notAfter", not_after)):
        if when is not None and when > latest:
            raise problems.Malformed(
                f"{name} {rfc3339(when)} is too far ahead of now ({rfc3339(now)}): this "
                f"server issues certificates valid for at most {longest}, starting within "
                f"{VALIDITY_HORIZON.days} days; leave notBefore/notAfter out to let it choose")
    start = not_before or now
    end = not_after or start + longest
    if end <= now:
        raise problems.Malformed(f"notAfter {rfc3339(end)} is in the past")
    if end <= start:
        raise problems.Malformed("notAfter must be later than notBefore")
    if end - start > longest:
        raise problems.Malformed(
            f"the requested validity ({end - start}) is longer than this server issues "
            f"({longest}); ask for less or leave notBefore/notAfter out"
        )
    return not_before, not_after


def refuse_past_pending_limits(app: "AcmeApp", account: Account, now: dt.datetime) -> None:
    """Refuse a new order while the account, or the server, has as many unfinished
    orders as ``max_pending_orders_per_account`` (``max_pending_orders``) allows.

    Let's Encrypt answers ``rateLimited`` with "too many currently pending orders"
    (Boulder's ``PendingOrdersPerAccount``); RFC 8555 §6.6 lets a server say when to
    come back with ``Retry-After``: here, when the oldest counted order expires (a
    finished one frees its place sooner).  The limits also bound the store: finished
    orders are forgotten past ``max_orders``, unfinished ones never are.
    """
    config = app.config
    for owner, limit, setting in (
            (account.id, config.max_pending_orders_per_account,
             "max_pending_orders_per_account"),
            (None, config.max_pending_orders, "max_pending_orders")):
        if limit is None:
            continue
        unfinished = app.store.unfinished_orders(owner, now, limit)
        if len(unfinished) < limit:
            continue
        wait = max(1, math.ceil(min(o.expires for o in unfinished).timestamp()
                                - now.timestamp()))
        if owner is not None:
            what = (f"this account has {len(unfinished)} pending, ready or processing "
                    f"orders, the most {setting} allows; finalize them, or")
        else:
            what = (f"the server holds {len(unfinished)} pending, ready or processing "
                    f"orders of all its accounts, the most {setting} allows;")
        raise problems.RateLimited(
            f"too many currently pending orders: {what} retry after {wait} s, when the "
            "oldest expires",
            headers={"Retry-After": str(wait)})


def reuse_for(app: "AcmeApp", account: Account, now: dt.datetime
              ) -> Callable[[Identifier], Optional[Authorization]]:
    """The ``reuse`` callback of :func:`lifecycle.create_order` for this server's policy
    (caller holds the store lock): the account's pre-authorizations (newAuthz), and
    its other authorizations as ``authz_reuse_valid`` and ``authz_reuse_pending`` allow."""
    policy = ReusePolicy(valid=app.config.effective("authz_reuse_valid"),
                         pending=app.config.effective("authz_reuse_pending"))

    min_left = reuse_cutoff(dt.timedelta(seconds=app.config.order_expiry))

    def pick(identifier: Identifier) -> Optional[Authorization]:
        return reusable(app.store.authzs_for(account.id, identifier), account.id, identifier,
                        now, policy, app.faults.draw, min_left)

    return pick


def identical_order(app: "AcmeApp", account: Account, identifiers: List[Identifier],
                    profile: Any, now: dt.datetime) -> Optional[Order]:
    """With ``reuse_identical_orders``: the account's newest pending or ready order for
    exactly these identifiers (Boulder's order reuse), else None.

    Boulder also requires the same certificate profile: ``profile`` must equal the
    order's ``profile`` attribute (None or empty when no profile was asked for).
    """
    if not app.config.effective("reuse_identical_orders"):
        return None
    wanted = sorted(set(identifiers))
    for order_id in reversed(account.order_ids):
        order = app.store.orders[order_id]
        if (sorted(set(order.identifiers)) == wanted
                and (getattr(order, "profile", None) or None) == (profile or None)
                and order.status_at(now, app.store.authz) in (Status.PENDING, Status.READY)):
            return order
    return None


@endpoint("new_order")
def new_order(app: "AcmeApp", ex: Exchange) -> Reply:
    payload = require_payload(ex, "newOrder")
    identifiers = parse_identifiers(payload.get("identifiers"),
                                    MAX_LABELS[app.config.effective("name_rules")])
    refuse_blocked(identifiers, app.config.domain_blocklist)
    profile = choose_profile(app.config.profiles or {}, app.config.profile_default,
                             payload.get("profile"))
    now = app.clock.now()
    if not app.config.effective("order_validity_fields") and (
            payload.get("notBefore") or payload.get("notAfter")):
        # Boulder's acme-divergences.md, §7.4: the fields are refused, not ignored.
        raise problems.Malformed("NotBefore and NotAfter are not supported: this server "
                                 "sets the validity itself; leave them out of newOrder")
    not_before, not_after = _validity(app, payload, now, profile)
    with app.store.lock:
        existing = identical_order(app, ex.account, identifiers, profile, now)
        if existing is not None and existing.replaces == (payload.get("replaces") or None):
            return order_reply(app, ex, existing, status=201)
        refuse_past_pending_limits(app, ex.account, now)
        replaces = None
        if payload.get("replaces") not in (None, ""):  # RFC 9773 §5
            replaces = check_replacement(app.store, [i.key_id for i in app.ca.issuers],
                                         ex.account.id, payload["replaces"], identifiers, now)
        order = lifecycle.create_order(
            app.store,
            ex.account,
            identifiers,
            now,
            order_lifetime=dt.timedelta(seconds=app.config.order_expiry),
            authz_lifetime=dt.timedelta(seconds=app.config.authorization_lifetime),
            not_before=not_before,
            not_after=not_after,
            reuse=reuse_for(app, ex.account, now),
            observer=app.observe,
            offered=app.config.challenge_types,
            issuer_domain_names=app.config.caa_identities,
            shuffle=app.config.effective("shuffle"),
        )
        order.profile, order.replaces = profile, replaces
        app.store.retire(app.config.max_orders, now)
        app.record(order, "Created", "order created for " + ", ".join(
            i.value for i in identifiers))
        if replaces is not None:
            app.record(order, "Replaces", f"the order replaces certificate {replaces}")
        for authz in app.store.authzs_of_order(order):
            if authz.order_ids[0] != order.id or authz.preauthorized:
                app.record(authz, "Reused", f"authorization for {authz.identifier.value} "
                           f"({authz.status_at(now).value}) reused by order {order.id}")
                continue
            app.record(authz, "Created", f"authorization created for {authz.identifier.value} "
                       f"offering {', '.join(c.type for c in authz.challenges)}")
        return order_reply(app, ex, order, status=201)


@endpoint("order")
def order(app: "AcmeApp", ex: Exchange, id: str) -> Reply:
    require_post_as_get(ex)
    with app.store.lock:
        found = owned(app, ex, app.store.orders, id, "order", lambda o: o.account_id)
        running = running_validations(app, [c for a in app.store.authzs_of_order(found)
                                 for c in a.challenges], app.clock.now())
    settle(app, running)
    with app.store.lock:
        return order_reply(app, ex, found, poll=True)


def csr_rules(app: "AcmeApp") -> Dict[str, Any]:
    """The settings :func:`~pytest_acme.protocol.csr.accept_csr` applies, from the
    server's configuration."""
    config = app.config
    return {"rsa_keys": config.effective("rsa_keys"), "strict": config.strict_csr,
            "cn_is_name": config.effective("name_rules") == "letsencrypt",
            "signatures": config.effective("csr_signatures"),
            "blocked_keys": app.store.blocked_keys,
            "refuse_must_staple": config.effective("refuse_must_staple")
            and not (config.ocsp or config.ocsp_responder_url)}


@endpoint("finalize")
def finalize(app: "AcmeApp", ex: Exchange, id: str) -> Reply:
    payload = require_payload(ex, "finalize")
    if "csr" not in payload:
        raise problems.Malformed("finalize needs 'csr': the base64url DER of a PKCS#10 CSR")
    der = b64url_decode(payload["csr"], "'csr'")
    app.recheck_caa(id, ex.account.id, ex.urls.account(ex.account.id))
    store, now = app.store, app.clock.now()
    with store.lock:
        found: Order = owned(app, ex, store.orders, id, "order", lambda o: o.account_id)
        app.faults.before_finalize(found, now)
        if app.faults.race(found.id, found.status_at(now, store.authz), finalize=True):
            raise problems.OrderNotReady(
                "the order is pending: not every authorization is valid yet",
                pebble=("orderNotReady", 'Order\'s status ("pending") was not ready'))
        app.record(found, "FinalizeReceived", "finalize request with a CSR")
        rules = csr_rules(app)
        csr = None
        if not app.config.effective("refused_csr_fails_order"):
            # Pebble: the CSR is checked while the order is ready, and stays so if refused.
            lifecycle.require_ready(store, found, now, app.observe)
            csr = accept_csr(der, found.identifiers, ex.account.jwk.key, **rules)
        lifecycle.begin_finalize(store, found, now, app.observe)
        try:
            injected = app.faults.csr_problem(found.id)
            if injected is not None:
                raise injected
            if csr is None:
                csr = accept_csr(der, found.identifiers, ex.account.jwk.key, **rules)
        except problems.BadCSR as p:
            lifecycle.fail_order(found, p, app.observe)
            raise
        for warning in csr.warnings:
            app.record(found, "CSRWarning", warning)
        app.faults.on_finalize(found.id, now)
    if app.config.finalize == "async":
        app.workers.submit(app.issue, found.id, csr, ex.urls)
    else:
        app.issue(found.id, csr, ex.urls)
    with store.lock:
        return order_reply(app, ex, found)


#: The handlers of this module, for :mod:`.endpoints`.
HANDLERS = (new_order, order, finalize)
