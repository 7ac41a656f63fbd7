"""Issued certificates: the certificate and its alternate chains (RFC 8555
§7.4.2), renewal information (RFC 9773) and CRLs (RFC 5280 §5).

Revocation is in :mod:`.revocation`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol import ari, problems
from ..protocol.inputs import whole_number
from ..protocol.resources import Certificate
from .exchange import Exchange, Reply, certificate_reply, endpoint, owned, require_post_as_get
from .routes import Urls

if TYPE_CHECKING:  # pragma: no cover
    from .app import AcmeApp

PKIX_CRL = "application/pkix-crl"


def renewal_window(app: "AcmeApp", cert: Certificate) -> ari.RenewalWindow:
    """What renewalInfo says about ``cert`` now: a test's window if one was set, a
    past window once revoked (as Boulder does), else Boulder's default window."""
    if cert.renewal_window is not None:
        return cert.renewal_window
    if cert.revoked_at is not None:
        return ari.revoked_window(app.clock.now())
    return ari.default_window(*ari.validity(cert.leaf))


@endpoint("renewal_info", auth=None)
def renewal_info(app: "AcmeApp", ex: Exchange, cert_id: str) -> Reply:
    """RFC 9773 §4: an unauthenticated GET of ``<renewalInfo>/<certID>``."""
    with app.store.lock:
        cert = ari.find_certificate(app.store, [i.key_id for i in app.ca.issuers], cert_id,
                                    "the certID")
        window = renewal_window(app, cert)
    # §4.3: Retry-After says when to ask again.
    return Reply(window.to_json(), headers=[
        ("Retry-After", str(app.config.renewal_info_retry_after))])


@endpoint("renewal_info_base", auth=None)
def renewal_info_base(app: "AcmeApp", ex: Exchange) -> Reply:
    raise problems.Malformed(
        "renewalInfo needs a certID: GET <renewalInfo>/<base64url(AKI keyIdentifier)>."
        "<base64url(serial)> (RFC 9773 §4.1)", status=404)


def crl_url(urls: Urls) -> str:
    """The URL of the issuing intermediate's CRL on ``urls``' host (what leaves
    name in their CRL Distribution Points)."""
    return urls.build("crl", index="0")


@endpoint("crl", auth=None)
def crl(app: "AcmeApp", ex: Exchange, index: str) -> Reply:
    """The CRL of issuing intermediate ``index`` (DER, ``application/pkix-crl``)."""
    try:
        der = app.crls.der(whole_number(index, "the CRL number"), app.clock.now())
    except ValueError:
        der = None
    if der is None:
        raise problems.Malformed(
            f"no CRL {index[:20]!r}: this server publishes /crl/0 .. "
            f"/crl/{len(app.ca.issuers) - 1}, one per issuing intermediate", status=404)
    return Reply(der, content_type=PKIX_CRL)


@endpoint("certificate_alternate")
def certificate_alternate(app: "AcmeApp", ex: Exchange, id: str, n: int) -> Reply:
    """Alternate chain ``n`` of a certificate: the same leaf, another root's chain."""
    require_post_as_get(ex)
    with app.store.lock:
        cert = owned(app, ex, app.store.certificates, id, "certificate", lambda c: c.account_id)
    if not 1 <= n < len(app.ca.chains):
        raise problems.Malformed(f"certificate {id} has no alternate chain {n}; it has "
                                 f"{len(app.ca.chains) - 1}", status=404)
    return certificate_reply(app, ex, cert, n)


@endpoint("certificate")
def certificate(app: "AcmeApp", ex: Exchange, id: str) -> Reply:
    require_post_as_get(ex)
    with app.store.lock:
        cert = owned(app, ex, app.store.certificates, id, "certificate", lambda c: c.account_id)
    return certificate_reply(app, ex, cert)  # each alternate chain linked (§7.4.2)


#: The handlers of this module, for :mod:`.endpoints`.
HANDLERS = (certificate, certificate_alternate, renewal_info, renewal_info_base, crl)
