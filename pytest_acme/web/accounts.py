"""Accounts (RFC 8555 §7.3): newAccount with its contacts, terms agreement and
external account binding, an account's update and deactivation, and its orders
list (§7.1.2.1).

Key rollover is in :mod:`.key_change`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, List

from ..protocol import problems
from ..protocol.inputs import whole_number
from ..protocol.resources import Account
from ..protocol.states import Event, Status, transition
from .eab import external_account
from .exchange import (
    Exchange,
    JsonBody,
    Reply,
    account_reply,
    endpoint,
    refuse_blocked_key,
    require_payload,
    require_post_as_get,
)
from .jws import JWK

if TYPE_CHECKING:
    from .app import AcmeApp


_MAILTO = re.compile(r"^mailto:([^@\s,?]+)@([A-Za-z0-9.-]+\.[A-Za-z]{2,63})\Z")
#: The example domains (RFC 2606) Let's Encrypt refuses in contacts.
FORBIDDEN_CONTACT_DOMAINS = ("example.com", "example.net", "example.org")
#: Top-level domains reserved for special use (RFC 2606, RFC 6761, RFC 6762,
#: RFC 7686, RFC 9476, ICANN's .internal): not public suffixes, so Let's Encrypt
#: refuses a contact address under one.
RESERVED_TLDS = ("test", "example", "invalid", "localhost", "local", "onion", "alt",
                 "internal")


def _contacts(value: Any, rules: str = "rfc") -> List[str]:
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise problems.Malformed("'contact' must be an array of URL strings")
    for contact in value:
        if not contact.startswith("mailto:"):
            raise problems.UnsupportedContact(
                f"contact {contact[:100]!r} is not supported; only 'mailto:' URLs are"
            )
        match = _MAILTO.match(contact)
        if not match:
            raise problems.InvalidContact(
                f"contact {contact[:100]!r} is not a single 'mailto:user@example.com' address "
                "(no header fields, no several addresses)"
            )
        if rules == "letsencrypt":
            _letsencrypt_contact(contact, match.group(2).lower())
    return list(value)


def _letsencrypt_contact(contact: str, domain: str) -> None:
    """Refuse what Boulder's contact check refuses beyond the syntax."""
    if domain in FORBIDDEN_CONTACT_DOMAINS:
        raise problems.InvalidContact(
            f"contact {contact[:100]!r} is refused: Let's Encrypt refuses addresses at "
            "example.com, example.net and example.org (RFC 2606); give a real address or "
            "leave 'contact' out")
    tld = domain.rsplit(".", 1)[-1]
    if tld in RESERVED_TLDS:
        raise problems.InvalidContact(
            f"contact {contact[:100]!r} is refused: .{tld} is a reserved top-level domain, "
            "and Let's Encrypt takes only addresses under a public one; give a real address "
            "or leave 'contact' out")


def _keep_contacts(app: "AcmeApp", account: Account, contacts: List[str]) -> None:
    """Keep ``contacts`` on the account, or, under Let's Encrypt's rules (Boulder
    checks contacts and keeps none since 2025), note in its timeline that none
    were kept."""
    if app.config.effective("contact_rules") != "letsencrypt":
        account.contact = contacts
    elif contacts:
        app.record(account, "ContactsNotKept",
                   f"{len(contacts)} contact(s) checked and not kept, as Let's Encrypt "
                   "keeps none (contact_rules='letsencrypt')")


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
    refuse_blocked_key(app, jwk)
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
        rules = app.config.effective("contact_rules")
        contact = _contacts(payload.get("contact", []), rules)
        eab_kid = external_account(app, ex, payload)
        account = Account(
            id=app.store.new_id(),
            jwk=jwk,
            thumbprint=thumbprint,
            created=app.clock.now(),
            terms_agreed=agreed,
            eab_kid=eab_kid,
        )
        app.store.add_account(account)
        app.record(account, "AccountCreated", f"account {account.id} created"
                   + (f", bound to external account {eab_kid}" if eab_kid else ""))
        _keep_contacts(app, account, contact)
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
            _keep_contacts(app, acct, _contacts(payload["contact"],
                                                app.config.effective("contact_rules")))
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


#: The handlers of this module, for :mod:`.endpoints`.
HANDLERS = (new_account, account, account_orders)
