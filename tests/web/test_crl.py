"""CRLs (RFC 5280 §5): one per issuing intermediate, named in every certificate's CRL
Distribution Points, served as application/pkix-crl, signed by the intermediate, with
reason codes, and current after every revocation."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from helpers import account_client, links, new_order, obtain, post, split_chain
from jws_client import b64

pytestmark = pytest.mark.acme(validation="always_valid")


def issue(server, acme, name):
    return split_chain(obtain(server, acme, new_order(acme, [name])).content)


def crl_url(cert: x509.Certificate) -> str:
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    assert not points.critical
    (point,) = points.value
    (name,) = point.full_name
    return name.value


def fetch(server, url: str) -> x509.CertificateRevocationList:
    response = requests.get(url, verify=server.ca_bundle, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/pkix-crl"
    return x509.load_der_x509_crl(response.content)


def revoke(acme, cert: x509.Certificate, reason: int) -> None:
    der = b64(cert.public_bytes(Encoding.DER))
    post(acme, acme.directory["revokeCert"], {"certificate": der, "reason": reason})


def number(crl: x509.CertificateRevocationList) -> int:
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def this_update(crl: x509.CertificateRevocationList) -> dt.datetime:
    if hasattr(crl, "last_update_utc"):
        return crl.last_update_utc
    return crl.last_update.replace(tzinfo=dt.timezone.utc)


def test_every_certificate_names_a_verifiable_crl(acme_server):
    acme = account_client(acme_server)
    leaf, inter = issue(acme_server, acme, "crl.example.test")
    url = crl_url(leaf)
    assert url.startswith(acme_server.url) and url.endswith("/crl/0")
    crl = fetch(acme_server, url)
    assert crl.issuer == inter.subject == leaf.issuer
    assert crl.is_signature_valid(inter.public_key())
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == \
        inter.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert len(crl) == 0 and number(crl) >= 1
    assert abs(this_update(crl) - acme_server.clock.now()) < dt.timedelta(seconds=5)


def test_revocations_appear_with_their_reasons(acme_server):
    acme = account_client(acme_server)
    first, _ = issue(acme_server, acme, "a.example.test")
    second, _ = issue(acme_server, acme, "b.example.test")
    kept, _ = issue(acme_server, acme, "c.example.test")
    before = fetch(acme_server, crl_url(first))
    assert fetch(acme_server, crl_url(first)).public_bytes(Encoding.DER) == \
        before.public_bytes(Encoding.DER)  # unchanged: the cached CRL
    acme_server.clock.advance(60)
    revoke(acme, first, 1)  # keyCompromise
    revoke(acme, second, 0)  # unspecified: RFC 5280 leaves the reason out
    crl = fetch(acme_server, crl_url(first))
    assert number(crl) > number(before)
    entry = crl.get_revoked_certificate_by_serial_number(first.serial_number)
    assert entry is not None
    revoked_at = acme_server.lookup(acme_server.orders()[0].certificate_url).revoked_at
    when = getattr(entry, "revocation_date_utc", None) or \
        entry.revocation_date.replace(tzinfo=dt.timezone.utc)
    assert when == revoked_at.replace(microsecond=0)
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == \
        x509.ReasonFlags.key_compromise
    other = crl.get_revoked_certificate_by_serial_number(second.serial_number)
    assert other is not None and len(other.extensions) == 0
    assert crl.get_revoked_certificate_by_serial_number(kept.serial_number) is None


def test_the_crl_follows_the_server_clock(acme_server):
    acme = account_client(acme_server)
    leaf, _ = issue(acme_server, acme, "clock.example.test")
    revoke(acme, leaf, 4)
    first = fetch(acme_server, crl_url(leaf))
    acme_server.clock.advance(dt.timedelta(hours=13))  # past half the CRL's day
    later = fetch(acme_server, crl_url(leaf))
    assert number(later) > number(first)
    assert this_update(later) - this_update(first) >= dt.timedelta(hours=13)
    assert len(later) == 1
    acme_server.clock.advance(dt.timedelta(days=91))  # the certificate has expired
    assert len(fetch(acme_server, crl_url(leaf))) == 0


def test_reset_empties_the_crl(acme_server):
    acme = account_client(acme_server)
    leaf, _ = issue(acme_server, acme, "reset.example.test")
    revoke(acme, leaf, 5)
    assert len(fetch(acme_server, crl_url(leaf))) == 1
    acme_server.reset()
    assert len(fetch(acme_server, crl_url(leaf))) == 0


@pytest.mark.acme(alternate_roots=1, chain_length=2)
def test_the_crl_verifies_under_every_chain(acme_server):
    acme = account_client(acme_server)
    response = obtain(acme_server, acme, new_order(acme, ["alt.example.test"]))
    default = split_chain(response.content)
    url = links(response, "alternate")[0]
    alternate = split_chain(acme.net.post(url, None).content)
    crl = fetch(acme_server, crl_url(default[0]))
    assert default[1] != alternate[1]
    for chain in (default, alternate):
        assert crl.is_signature_valid(chain[1].public_key())
        assert not crl.is_signature_valid(chain[2].public_key())  # not the upper one


@pytest.mark.parametrize("path", ["/crl/1", "/crl/x", "/crl/"])
def test_unknown_crls_are_404_problems(acme_server, path):
    response = requests.get(acme_server.url + path, verify=acme_server.ca_bundle, timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
