"""Pre-authorization (RFC 8555 §7.4.1).

``newAuthz`` makes an authorization outside any order; a later newOrder of the
same account for that identifier uses it (:mod:`pytest_acme.protocol.reuse`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ..protocol import lifecycle, problems
from ..protocol.identifiers import parse_identifiers, refuse_blocked
from .exchange import Exchange, Reply, authz_reply, endpoint, require_payload

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


#: The handlers of this module, for :mod:`.endpoints`.
HANDLERS = (new_authz,)
