"""Account key rollover (RFC 8555 §7.3.5): the outer JWS is signed by the old key,
the inner one by the new key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol import problems
from .exchange import Exchange, Reply, account_reply, endpoint, refuse_blocked_key, require_payload
from .jws import parse_jwk, verify_inner

if TYPE_CHECKING:
    from .app import AcmeApp


@endpoint("key_change")
def key_change(app: "AcmeApp", ex: Exchange) -> Reply:
    """Replace the account key: the outer JWS is signed by the old key (``kid``),
    the inner one, its payload, by the new key."""
    payload = require_payload(ex, "keyChange")
    assert ex.signed is not None
    new_key, change = verify_inner(payload, ex.signed.url, app.config.algorithms,
                                   app.config.effective("rsa_keys"))
    account = ex.account
    account_url = ex.urls.account(account.id)
    named = change.get("account")
    if named != account_url:
        other = ex.urls.account_id_from_kid(named) if isinstance(named, str) else None
        if other is not None and other in app.store.accounts:
            # Another account's key is not this account's to change.
            raise problems.Unauthorized(
                f"the key-change 'account' {named} is another account; an account can only "
                f"roll over its own key ({account_url})")
        raise problems.Malformed(
            f"the key-change 'account' must be the URL of the account that signs the outer "
            f"JWS, {account_url}")
    try:
        old_key = parse_jwk(change.get("oldKey"), app.config.effective("rsa_keys"))
    except problems.Problem as p:
        raise problems.Malformed(f"the key-change 'oldKey' is not a usable JWK: {p.detail}") \
            from None
    if app.thumbprint(old_key) != account.thumbprint:
        raise problems.Malformed("the key-change 'oldKey' is not the account's current key")
    thumbprint = app.thumbprint(new_key)
    refuse_blocked_key(app, new_key)
    with app.store.lock:
        owner = app.store.accounts_by_thumbprint.get(thumbprint)
        if owner is not None:
            # §7.3.5: 409 Conflict, with the Location of the account that has the key.
            raise problems.Malformed(
                "the new key already belongs to an account" if owner is not account
                else "the new key is the account's current key",
                status=409, headers={"Location": ex.urls.account(owner.id)})
        del app.store.accounts_by_thumbprint[account.thumbprint]
        account.jwk, account.thumbprint = new_key, thumbprint
        app.store.accounts_by_thumbprint[thumbprint] = account
        app.record(account, "AccountKeyChanged", f"account {account.id} has a new key")
    return account_reply(app, ex, account)


#: The handlers of this module, for :mod:`.endpoints`.
HANDLERS = (key_change,)
