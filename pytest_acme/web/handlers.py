"""One short function per endpoint.

This module holds the core of RFC 8555 (directory, accounts, orders,
authorizations, challenges, certificates); the endpoints of larger topics sit
beside it and register the same way: ``authorizations`` (newAuthz),
``certs`` (ARI, CRL, alternate chains), ``revocation``, ``key_change`` and
``plain_get`` (Boulder's GET).  What they share is in :mod:`.exchange`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple

from ..protocol import lifecycle, problems
from ..protocol.ari import check_replacement
from ..protocol.csr import accept_csr
from ..protocol.identifiers import Identifier, parse_identifiers, refuse_blocked
from ..protocol.inputs import timestamp, whole_number
from ..protocol.profiles import choose_profile
from ..protocol.resources import Account, Authorization, Challenge, Order, rfc3339
from ..protocol.reuse import ReusePolicy, reusable
from ..protocol.states import Event, Status, transition
from .eab import external_account
from .exchange import (
    Exchange,
    JsonBody,
    Reply,
    account_reply,
    authz_reply,
    endpoint,
    order_reply,
    owned,
    require_listed,
    require_payload,
    require_post_as_get,
    validation_wait,
)
from .jws import JWK, b64url_decode

if TYPE_CHECKING:
    from .app import AcmeApp


# -- unsigned ----------------------------------------------------------------


@endpoint("directory", auth=None)
def directory(app: "AcmeApp", ex: Exchange) -> Reply:
    urls = ex.urls
    meta: JsonBody = {"externalAccountRequired": app.config.eab_required}
    terms = app.terms_url(urls)
    if terms:
        meta["termsOfService"] = terms
    meta["caaIdentities"] = list(app.config.caa_identities)  # RFC 8555 §7.1.1
    if app.config.profiles:  # draft-ietf-acme-profiles §3
        meta["profiles"] = {n: p.description for n, p in app.config.profiles.items()}
    meta.update(app.config.meta)
    return Reply(
        {
            "newNonce": urls.build("new_nonce"),
            "newAccount": urls.build("new_account"),
            "newOrder": urls.build("new_order"),
            "revokeCert": urls.build("revoke_cert"),
            "keyChange": urls.build("key_change"),
            # RFC 8555 §7.1.1: newAuthz only when pre-authorization is offered.
            **({"newAuthz": urls.build("new_authz")} if app.config.effective("new_authz")
               else {}),
            "renewalInfo": urls.build("renewal_info_base"),  # RFC 9773 §3
            "meta": meta,
        }
    )


@endpoint("terms", auth=None)
def terms(app: "AcmeApp", ex: Exchange) -> Reply:
    text = b"pytest-acme test CA: certificates from this server are for tests only.\n"
    return Reply(text, content_type="text/plain; charset=utf-8")


@endpoint("new_nonce", auth=None)
def new_nonce(app: "AcmeApp", ex: Exchange) -> Reply:
    # RFC 8555 §7.2: 200 for HEAD, 204 for GET; the app adds the nonce.
    return Reply(None, status=200 if ex.method == "HEAD" else 204)


# -- accounts ----------------------------------------------------------------

_MAILTO = re.compile(r"^mailto:([^@\s,?]+)@([A-Za-z0-9.-]+\.[A-Za-z]{2,63})\Z")


def _contacts(value: Any) -> List[str]:
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise problems.Malformed("'contact' must be an array of URL strings")
    for contact in value:
        if not contact.startswith("mailto:"):
            raise problems.UnsupportedContact(
                f"contact {contact[:100]!r} is not supported; only 'mailto:' URLs are"
            )
        if not _MAILTO.match(contact):
            raise problems.InvalidContact(
                f"contact {contact[:100]!r} is not a single 'mailto:user@example.com' address "
                "(no header fields, no several addresses)"
            )
    return list(value)


def _bool(payload: JsonBody, name: str) -> bool:
    value = payload.get(name, False)
    if not isinstance(value, bool):
        raise problems.Malformed(f"'{name}' must be true or false, got {value!r}")
    return value


@endpoint("new_account", auth=JWK)
def new_account(app: "AcmeApp", ex: Exchange) -> Reply:
    payload = require_payload(ex, "newAccount")
    assert ex.signed is not None
    jwk = ex.signed.jwk
    thumbprint = app.thumbprint(jwk)
    with app.store.lock:
        existing = app.store.accounts_by_thumbprint.get(thumbprint)
        if existing is not None:
            # RFC 8555 §7.3.1: the key already has an account; say where it is.
            if existing.status is not Status.VALID:
                raise problems.Unauthorized(
                    f"the account for this key is {existing.status.value}; use a new key"
                )
            return account_reply(app, ex, existing)
        if _bool(payload, "onlyReturnExisting"):
            raise problems.AccountDoesNotExist(
                "no account exists for this key (onlyReturnExisting was set)",
                pebble=("accountDoesNotExist",
                        "unable to find existing account for only-return-existing request"),
            )
        agreed = _bool(payload, "termsOfServiceAgreed")
        terms = app.terms_url(ex.urls)
        # RFC 8555 §7.3: a server with terms may require the client to agree (checked
        # before the contacts and the binding, as Pebble does).
        if app.config.effective("require_terms_agreement") and terms and not agreed:
            raise problems.UserActionRequired(
                f"agree to the terms of service at {terms} by sending "
                "'termsOfServiceAgreed': true",
                extra={"instance": terms},
                headers={"Link": f'<{terms}>;rel="terms-of-service"'},
                pebble=("agreementRequired",
                        "Provided account did not agree to the terms of service"),
            )
        contact = _contacts(payload.get("contact", []))
        eab_kid = external_account(app, ex, payload)
        account = Account(
            id=app.store.new_id(),
            jwk=jwk,
            thumbprint=thumbprint,
            created=app.clock.now(),
            contact=contact,
            terms_agreed=agreed,
            eab_kid=eab_kid,
        )
        app.store.add_account(account)
        app.record(account, "AccountCreated", f"account {account.id} created"
                   + (f", bound to external account {eab_kid}" if eab_kid else ""))
        return account_reply(app, ex, account, status=201)


def _own_account(ex: Exchange, id: str) -> Account:
    account = ex.account
    if account.id != id:
        raise problems.Unauthorized(
            "the account URL does not match the 'kid' that signed this request"
        )
    return account


@endpoint("account")
def account(app: "AcmeApp", ex: Exchange, id: str) -> Reply:
    acct = _own_account(ex, id)
    assert ex.signed is not None
    payload = ex.signed.payload
    if payload is None:
        return account_reply(app, ex, acct)
    with app.store.lock:
        status = payload.get("status")
        if status is not None:
            if status != "deactivated":
                raise problems.Malformed(
                    f"an account's status can only be set to 'deactivated', not {status!r}"
                )
            transition(acct, Event.DEACTIVATE, app.observe)
        if "contact" in payload:
            acct.contact = _contacts(payload["contact"])
        if _bool(payload, "termsOfServiceAgreed"):
            acct.terms_agreed = True
        return account_reply(app, ex, acct)


@endpoint("account_orders")
def account_orders(app: "AcmeApp", ex: Exchange, id: str) -> Reply:
    acct = _own_account(ex, id)
    require_post_as_get(ex)
    try:
        cursor = whole_number(ex.request.args.get("cursor", "0"), "'cursor' (a page number)")
    except ValueError as e:
        raise problems.Malformed(str(e)) from None
    size = app.config.orders_per_page
    now = app.clock.now()
    with app.store.lock:
        # RFC 8555 §7.1.2.1: include pending orders, leave out invalid ones.
        ids = [
            o for o in acct.order_ids
            if app.store.orders[o].status_at(now, app.store.authz) is not Status.INVALID
        ]
    page = ids[cursor * size:(cursor + 1) * size]
    headers = []
    if (cursor + 1) * size < len(ids):
        headers.append(("Link", f'<{ex.urls.account_orders(id, cursor + 1)}>;rel="next"'))
    return Reply({"orders": [ex.urls.order(o) for o in page]}, headers=headers)


# -- orders ------------------------------------------------------------------


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

    def pick(identifier: Identifier) -> Optional[Authorization]:
        return reusable(app.store.authzs_for(account.id, identifier), account.id, identifier,
                        now, policy, app.faults.draw)

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
    identifiers = parse_identifiers(payload.get("identifiers"))
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
        running = _running(app, [c for a in app.store.authzs_of_order(found)
                                 for c in a.challenges], app.clock.now())
    _settle(app, running)
    with app.store.lock:
        return order_reply(app, ex, found, poll=True)


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
        rsa_keys = app.config.effective("rsa_keys")
        csr = None
        if not app.config.effective("refused_csr_fails_order"):
            # Pebble: the CSR is checked while the order is ready, and stays so if refused.
            lifecycle.require_ready(store, found, now, app.observe)
            csr = accept_csr(der, found.identifiers, ex.account.jwk.key, rsa_keys,
                             strict=app.config.strict_csr)
        lifecycle.begin_finalize(store, found, now, app.observe)
        try:
            injected = app.faults.csr_problem(found.id)
            if injected is not None:
                raise injected
            if csr is None:
                csr = accept_csr(der, found.identifiers, ex.account.jwk.key, rsa_keys,
                                 strict=app.config.strict_csr)
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


# -- authorizations and challenges ------------------------------------------


def _running(app: "AcmeApp", challenges: List[Challenge], now: dt.datetime) -> List[str]:
    """The ids of those ``challenges`` whose validation is running now and will end
    without outside help: not those still inside ``validation_delay``, which stay
    ``processing`` by design (caller holds the lock)."""
    delay = dt.timedelta(seconds=app.config.validation_delay)
    return [c.id for c in challenges if c.status is Status.PROCESSING
            and (c.answered is None or c.answered + delay <= now)]


def _settle(app: "AcmeApp", running: List[str]) -> None:
    """Let a read find finished the validations its client started: wait for them,
    at most ``poll_wait`` seconds, holding no lock.

    RFC 8555 §7.5.1 has a client poll until the status is final; a poll answered
    ``processing`` costs it a sleep (a whole second with certbot's ``acme``), while
    the validation behind it, on loopback, ends a few milliseconds later.  A slow
    responder still reads ``processing`` once the wait is over, so every client sees
    the sequence of states it would see without the wait, only sooner.
    """
    if running and app.config.poll_wait > 0:
        app.workers.wait_for(running, app.config.poll_wait)


@endpoint("authz")
def authz(app: "AcmeApp", ex: Exchange, id: str) -> Reply:
    assert ex.signed is not None
    with app.store.lock:
        found: Authorization = owned(
            app, ex, app.store.authzs, id, "authorization", lambda a: a.account_id
        )
        payload = ex.signed.payload
        if payload is not None:
            # RFC 8555 §7.5.2: the only update a client may make is deactivation.
            if payload.get("status") != "deactivated":
                raise problems.Malformed(
                    "an authorization can only be updated with {\"status\": \"deactivated\"}"
                )
            lifecycle.deactivate_authorization(app.store, found, app.clock.now(), app.observe)
            return authz_reply(app, ex, found)
        running = _running(app, found.challenges, app.clock.now())
    _settle(app, running)
    with app.store.lock:
        return authz_reply(app, ex, found)


@endpoint("challenge")
def challenge(app: "AcmeApp", ex: Exchange, id: str) -> Reply:
    assert ex.signed is not None
    store = app.store
    with store.lock:
        if id in store.challenges:  # as Boulder: "no such challenge" before "not yours"
            require_listed(app, ex, store.challenges[id])
        found: Challenge = owned(
            app, ex, store.challenges, id, "challenge",
            lambda c: store.authzs[c.authz_id].account_id,
        )
        authz_obj = store.authz(found.authz_id)
        start = False
        now = app.clock.now()
        if ex.signed.payload is not None:
            # RFC 8555 §7.5.1: any JSON object (normally {}) asks for validation.
            start = lifecycle.start_validation(store, found, now, app.observe)
        if start:
            found.answered = now
            # The answer reads processing, as at Let's Encrypt and Pebble; the
            # polls that follow find the validation done (see _settle), so the
            # honest Retry-After is 0 unless validation_delay holds it back.
            body = found.to_json(ex.urls)
            retry_after = validation_wait(app, [found], now) or (
                "0" if app.config.poll_wait > 0 else None)
        running = [] if start else _running(app, [found], now)
    if start:
        app.record(found, "ValidationStarted",
                   f"{found.type} validation of {authz_obj.identifier.value} started")
        app.workers.submit(app.validate, found.id, ex.urls.account(ex.account.id), now,
                           key=found.id)
    else:
        _settle(app, running)
        with store.lock:
            body = found.to_json(ex.urls)
            retry_after = validation_wait(app, [found], app.clock.now())
    headers = [("Link", f'<{ex.urls.authz(found.authz_id)}>;rel="up"')]
    if body["status"] in ("pending", "processing"):
        headers.append(("Retry-After", retry_after or str(app.config.authz_retry_after)))
    return Reply(body, headers=headers)


# -- certificates ------------------------------------------------------------


@endpoint("certificate")
def certificate(app: "AcmeApp", ex: Exchange, id: str) -> Reply:
    require_post_as_get(ex)
    with app.store.lock:
        cert = owned(app, ex, app.store.certificates, id, "certificate", lambda c: c.account_id)
    # RFC 8555 §7.4.2: each alternate chain is linked with rel="alternate".
    links = [("Link", f'<{ex.urls.build("certificate_alternate", id=id, n=str(n))}>;'
                      'rel="alternate"') for n in range(1, len(app.ca.chains))]
    return Reply(cert.chain_pem, headers=links, content_type="application/pem-certificate-chain")


#: The handlers of this module, for :mod:`.endpoints`.
HANDLERS = (
    directory,
    terms,
    new_nonce,
    new_account,
    account,
    account_orders,
    new_order,
    order,
    finalize,
    authz,
    challenge,
    certificate,
)
