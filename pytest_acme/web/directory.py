"""The unsigned endpoints every client starts with: the directory (RFC 8555
§7.1.1), the terms of service, and newNonce (§7.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .exchange import Exchange, JsonBody, Reply, endpoint

if TYPE_CHECKING:
    from .app import AcmeApp


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


#: The handlers of this module, for :mod:`.endpoints`.
HANDLERS = (directory, terms, new_nonce)
