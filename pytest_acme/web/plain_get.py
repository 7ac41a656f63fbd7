"""Plain GET of orders, authorizations, challenges and certificates (Boulder).

RFC 8555 §6.3 reads every resource with POST-as-GET, so by default a GET is
refused with 405.  Boulder still answers unauthenticated GETs for these four
(its acme-divergences.md, §6.3; Let's Encrypt's production does), and clients
written against it may rely on that: ``plain_get=True`` (or ``boulder=True``)
answers them, with the same body a POST-as-GET would get.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Tuple

from werkzeug.exceptions import MethodNotAllowed

from .exchange import (
    Exchange,
    Handler,
    Reply,
    authz_reply,
    certificate_reply,
    challenge_reply,
    find,
    order_reply,
    require_listed,
)

if TYPE_CHECKING:
    from .app import AcmeApp


def order(app: "AcmeApp", ex: Exchange, id: str) -> Reply:
    with app.store.lock:
        return order_reply(app, ex, find(ex, app.store.orders, id, "order"), poll=True)


def authz(app: "AcmeApp", ex: Exchange, id: str) -> Reply:
    with app.store.lock:
        return authz_reply(app, ex, find(ex, app.store.authzs, id, "authorization"))


def challenge(app: "AcmeApp", ex: Exchange, id: str) -> Reply:
    with app.store.lock:
        found = find(ex, app.store.challenges, id, "challenge")
        require_listed(app, ex, found)
        return challenge_reply(app, ex, found, app.clock.now())


def certificate(app: "AcmeApp", ex: Exchange, id: str) -> Reply:
    with app.store.lock:
        cert = find(ex, app.store.certificates, id, "certificate")
    return certificate_reply(app, ex, cert)


#: What a plain GET of each endpoint is answered with, when ``plain_get`` is on.
GET_HANDLERS = {"order": order, "authz": authz, "challenge": challenge,
                "certificate": certificate}


def route(app: "AcmeApp", endpoint: str) -> Tuple[Handler, None]:
    """The handler for a GET of ``endpoint``.

    Raises:
        MethodNotAllowed: plain GET is off (the app answers it as a 405 problem).
    """
    if endpoint in GET_HANDLERS and app.config.effective("plain_get"):
        return GET_HANDLERS[endpoint], None
    raise MethodNotAllowed(valid_methods=["POST"])
