"""Pre-authorization (RFC 8555 §7.4.1) and what a newOrder may reuse.

``newAuthz`` makes an authorization outside any order; a later newOrder of the
same account for that identifier uses it (:mod:`pytest_acme.protocol.reuse`).
Reuse of the account's other authorizations follows ``authz_reuse_valid`` and
``authz_reuse_pending``; with ``reuse_identical_orders`` (Boulder) a newOrder for
the same identifiers returns the account's pending or ready order itself.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Callable, List, Optional

from ..protocol import lifecycle, problems
from ..protocol.identifiers import Identifier, parse_identifiers, refuse_blocked
from ..protocol.resources import Account, Authorization, Order
from ..protocol.reuse import ReusePolicy, reusable
from ..protocol.states import Status
from .exchange import Exchange, Reply, authz_reply, endpoint, require_payload

if TYPE_CHECKING:
    from .app import AcmeApp


def reuse_for(app: "AcmeApp", account: Account, now: dt.datetime
              ) -> Callable[[Identifier], Optional[Authorization]]:
    """The ``reuse`` callback of :func:`lifecycle.create_order` for this server's policy
    (caller holds the store lock)."""
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
    (identifier,) = parse_identifiers([payload["identifier"]])
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
                                            issuer_domain_names=app.config.caa_identities)
        authz.preauthorized = True
        app.store.add_authz(authz)
        app.record(authz, "Created", f"authorization pre-created (newAuthz) for "
                   f"{identifier.value} offering {', '.join(c.type for c in authz.challenges)}")
        reply = authz_reply(app, ex, authz)
    reply.status = 201
    reply.headers.append(("Location", ex.urls.authz(authz.id)))
    return reply
