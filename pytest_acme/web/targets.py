"""What a request names, for the faults that may fire on it: the orders and the
account its URL or its JWS ``kid`` point at, worked out before the signature is
checked.

A fault that answers instead of the handler is so recorded against what it hit
(the timeline, ``server.requests``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Mapping, Optional, Tuple

import josepy

from ..protocol import problems
from ..store import Store
from .exchange import Exchange
from .routes import Urls

if TYPE_CHECKING:
    from .app import AcmeApp


def claimed_account(body: bytes, urls: Urls) -> Optional[str]:
    """The account id in the protected ``kid`` of a JWS body, unverified (None if
    the body does not say one): only to attribute a fault that fired before the
    signature was checked."""
    try:
        jws = json.loads(body)
        protected = json.loads(josepy.b64.b64decode(jws["protected"]))
        kid = protected["kid"]
    except Exception:  # noqa: BLE001 - anything unreadable names no account
        return None
    return urls.account_id_from_kid(kid) if isinstance(kid, str) else None


def target_of(store: Store, endpoint: str, args: Mapping[str, Any], ex: Exchange,
              body: Optional[bytes]) -> Tuple[Tuple[str, ...], Optional[str]]:
    """The orders and the account a request names, as far as its URL and its JWS
    tell before the signature is checked: the object its URL names (an order,
    finalize, authorization, challenge, certificate or account URL), else the
    account of the JWS ``kid``.  For attributing faults that fire on it."""
    found = args.get("id")
    order_ids: Tuple[str, ...] = ()
    account_id = None
    with store.lock:
        if endpoint in ("order", "finalize") and found in store.orders:
            order_ids, account_id = (found,), store.orders[found].account_id
        elif endpoint == "authz" and found in store.authzs:
            authz = store.authzs[found]
            order_ids, account_id = tuple(authz.order_ids), authz.account_id
        elif endpoint == "challenge" and found in store.challenges:
            parent = store.authzs.get(store.challenges[found].authz_id)
            if parent is not None:
                order_ids, account_id = tuple(parent.order_ids), parent.account_id
        elif endpoint in ("certificate", "certificate_alternate") and (
                found in store.certificates):
            cert = store.certificates[found]
            order_ids, account_id = (cert.order_id,), cert.account_id
        elif endpoint in ("account", "account_orders") and found in store.accounts:
            account_id = found
    if account_id is None and ex.signed is not None and ex.signed.account is not None:
        account_id = ex.signed.account.id
    if account_id is None and body:
        account_id = claimed_account(body, ex.urls)
        if account_id is not None and account_id not in store.accounts:
            account_id = None
    return order_ids, account_id


class FaultTarget:
    """What one request names (:func:`target_of`), for the faults that may fire on
    it; it keeps the body it had to read, for the signature check that follows."""

    __slots__ = ("_app", "_endpoint", "_args", "_ex", "_signed", "_body", "_refused", "_answer",
                 "fired")

    def __init__(self, app: "AcmeApp", endpoint: str, args: Mapping[str, Any], ex: Exchange,
                 signed: bool) -> None:
        self._app, self._endpoint, self._args, self._ex = app, endpoint, args, ex
        self._signed = signed
        self._body: Optional[bytes] = None
        self._refused: Optional[problems.Problem] = None
        self._answer: Tuple[Tuple[str, ...], Optional[str]] = ((), None)
        self.fired = False

    def body(self) -> bytes:
        """The request body, read once (a refusal to read it is raised every time)."""
        if self._refused is not None:
            raise self._refused
        if self._body is None:
            try:
                self._body = self._ex.read_body(self._app.config.max_body_bytes)
            except problems.Problem as p:
                self._refused = p
                raise
        return self._body

    def resolve(self) -> None:
        """Work out the orders and account (takes the store lock: call it before a
        fault hook, never inside one)."""
        body = None
        if self._signed:
            try:
                body = self.body()
            except problems.Problem:
                body = None  # too large to read: the URL has to do (authenticate says why)
        self._answer = target_of(self._app.store, self._endpoint, self._args, self._ex, body)

    def __call__(self) -> Tuple[Tuple[str, ...], Optional[str]]:
        """``(order ids, account id)``; a fault asking marks the request as faulted."""
        self.fired = True
        return self._answer
