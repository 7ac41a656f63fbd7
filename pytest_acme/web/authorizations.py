"""Authorizations and challenges (RFC 8555 §7.5): reading and deactivating an
authorization, answering a challenge (which starts its validation), and
pre-authorization (newAuthz, §7.4.1).

``newAuthz`` makes an authorization outside any order; a later newOrder of the
same account for that identifier uses it (:mod:`pytest_acme.protocol.reuse`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ..protocol import lifecycle, problems
from ..protocol.identifiers import MAX_LABELS, parse_identifiers, refuse_blocked
from ..protocol.resources import Authorization, Challenge
from .exchange import (
    Exchange,
    Reply,
    authz_reply,
    challenge_reply,
    endpoint,
    owned,
    require_listed,
    require_payload,
)
from .polling import running_validations, settle

if TYPE_CHECKING:
    from .app import AcmeApp


@endpoint("new_authz")
def new_authz(app: "AcmeApp", ex: Exchange) -> Reply:
    """Pre-authorize one identifier (RFC 8555 §7.4.1); 201 with the authorization."""
    if not app.config.effective("new_authz"):
        raise problems.Malformed(
            "pre-authorization is switched off on this server (new_authz=False; the directory "
            "has no newAuthz): create an order with newOrder instead", status=404)
    payload = require_payload(ex, "newAuthz")
    if "identifier" not in payload:
        raise problems.Malformed("newAuthz needs 'identifier': {\"type\": \"dns\", \"value\": ...}")
    (identifier,) = parse_identifiers([payload["identifier"]],
                                      MAX_LABELS[app.config.effective("name_rules")])
    refuse_blocked([identifier], app.config.domain_blocklist)
    if identifier.wildcard:
        # §7.4.1: pre-authorization cannot authorize wildcard names.
        raise problems.Malformed(
            f"{identifier.value} is a wildcard, which cannot be pre-authorized (RFC 8555 "
            "§7.4.1); order it with newOrder, which authorizes it through dns-01")
    now = app.clock.now()
    expires = now + dt.timedelta(seconds=app.config.authorization_lifetime)
    with app.store.lock:
        authz = lifecycle.new_authorization(app.store, ex.account, identifier, expires,
                                            offered=app.config.challenge_types,
                                            issuer_domain_names=app.config.caa_identities,
                                            shuffle=app.config.effective("shuffle"))
        authz.preauthorized = True
        app.store.add_authz(authz)
        app.record(authz, "Created", f"authorization pre-created (newAuthz) for "
                   f"{identifier.value} offering {', '.join(c.type for c in authz.challenges)}")
        reply = authz_reply(app, ex, authz)
    reply.status = 201
    reply.headers.append(("Location", ex.urls.authz(authz.id)))
    return reply


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
        running = running_validations(app, found.challenges, app.clock.now())
    settle(app, running)
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
            # polls that follow find the validation done (see polling.settle), so the
            # honest Retry-After is 0 unless validation_delay holds it back.
            reply = challenge_reply(app, ex, found, now, started=True)
        running = [] if start else running_validations(app, [found], now)
    if start:
        app.record(found, "ValidationStarted",
                   f"{found.type} validation of {authz_obj.identifier.value} started")
        app.workers.submit(app.validate, found.id, ex.urls.account(ex.account.id), now,
                           key=found.id)
        return reply
    settle(app, running)
    with store.lock:
        return challenge_reply(app, ex, found, app.clock.now())


#: The handlers of this module, for :mod:`.endpoints`.
HANDLERS = (authz, challenge, new_authz)
