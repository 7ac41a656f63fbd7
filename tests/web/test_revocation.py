"""Revocation (RFC 8555 §7.6): by the issuing account, by the certificate's own key,
and by another account that holds valid authorizations for every name."""

from __future__ import annotations

import josepy
import pytest
import trustme
from acme import client, messages
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from helpers import (
    account_client,
    answer_all,
    deadline,
    ec_key,
    make_csr,
    post,
    revoke,
    split_chain,
)
from jws_client import PROBLEM, b64

pytestmark = pytest.mark.acme(validation="always_valid")



def issue(server, acme, names, key=None):
    key = key or ec_key()
    order = acme.new_order(make_csr(names, key))
    answer_all(acme, order)
    server.wait_idle()
    order = acme.begin_finalization(acme.poll_authorizations(order, deadline()))
    return split_chain(acme.net.post(order.body.certificate, None).content)[0], key


def status(server, cert: x509.Certificate):
    record = server.app.store.certificates_by_serial[cert.serial_number]
    return record.revoked_at, record.revocation_reason


def test_the_directory_names_revoke_cert(acme_server):
    acme = account_client(acme_server)
    assert acme.directory["revokeCert"].endswith("/acme/revoke-cert")


def test_revoke_by_the_issuing_account_with_a_reason(acme_server):
    acme = account_client(acme_server)
    cert, _ = issue(acme_server, acme, ["r.example.test"])
    revoke(acme, cert, 4)
    revoked_at, reason = status(acme_server, cert)
    assert revoked_at is not None and reason == 4
    with pytest.raises(messages.Error) as err:
        revoke(acme, cert, 0)
    assert err.value.typ == PROBLEM + "alreadyRevoked"
    assert "CertificateRevoked" in [e.reason for e in acme_server.events]


def test_revoke_with_the_certificate_key(acme_server):
    acme = account_client(acme_server)
    cert, key = issue(acme_server, acme, ["k.example.test"])
    net = client.ClientNetwork(josepy.JWKEC(key=key), alg=josepy.ES256,
                               verify_ssl=acme_server.ca_bundle)
    by_key = client.ClientV2(acme.directory, net)  # no account: signs with 'jwk'
    revoke(by_key, cert, 1)
    assert status(acme_server, cert)[1] == 1


def test_another_key_cannot_revoke_with_jwk(acme_server):
    acme = account_client(acme_server)
    cert, _ = issue(acme_server, acme, ["j.example.test"])
    net = client.ClientNetwork(josepy.JWKEC(key=ec_key()), alg=josepy.ES256,
                               verify_ssl=acme_server.ca_bundle)
    with pytest.raises(messages.Error) as err:
        revoke(client.ClientV2(acme.directory, net), cert, 0)
    assert err.value.typ == PROBLEM + "unauthorized"
    assert "certificate's key" in err.value.detail
    assert status(acme_server, cert) == (None, None)


def test_an_account_holding_the_authorizations_may_revoke(acme_server):
    issuer = account_client(acme_server)
    cert, _ = issue(acme_server, issuer, ["a.example.test", "b.example.test"])
    other = account_client(acme_server)
    # Without authorizations: refused, naming what is missing.
    with pytest.raises(messages.Error) as err:
        revoke(other, cert, 0)
    assert err.value.typ == PROBLEM + "unauthorized"
    assert "dns:a.example.test" in err.value.detail and "dns:b.example.test" in err.value.detail
    # With valid authorizations for both names (Pebble lacks this path).
    order = other.new_order(make_csr(["a.example.test", "b.example.test"]))
    answer_all(other, order)
    acme_server.wait_idle()
    revoke(other, cert, 0)
    assert status(acme_server, cert)[0] is not None


def der_b64(cert: x509.Certificate) -> str:
    return b64(cert.public_bytes(Encoding.DER))


@pytest.mark.parametrize("reason", [7, 11, -1, "1", True])
def test_bad_reasons_are_refused(acme_server, reason):
    acme = account_client(acme_server)
    cert, _ = issue(acme_server, acme, ["bad.example.test"])
    with pytest.raises(messages.Error) as err:
        post(acme, acme.directory["revokeCert"], {"certificate": der_b64(cert), "reason": reason})
    assert err.value.typ == PROBLEM + "badRevocationReason"
    assert "7 is unused" in err.value.detail
    assert status(acme_server, cert) == (None, None)


def test_unknown_and_garbage_certificates(acme_server):
    acme = account_client(acme_server)
    with pytest.raises(messages.Error) as err:
        post(acme, acme.directory["revokeCert"], {"certificate": "AAAA"})
    assert err.value.typ == PROBLEM + "malformed" and "DER X.509" in err.value.detail
    foreign = x509.load_pem_x509_certificate(
        trustme.CA().issue_cert("x.example.test").cert_chain_pems[0].bytes())
    with pytest.raises(messages.Error) as err:
        post(acme, acme.directory["revokeCert"], {"certificate": der_b64(foreign)})
    assert "not issued by this server" in err.value.detail


# -- Let's Encrypt's reasons (revocation_rules) ----------------------------------------


def by_key(server, acme, key):
    net = client.ClientNetwork(josepy.JWKEC(key=key), alg=josepy.ES256,
                               verify_ssl=server.ca_bundle)
    return client.ClientV2(acme.directory, net)  # no account: signs with 'jwk'


@pytest.mark.parametrize("reason", [2, 3, 6, 8, 9, 10])
def test_reasons_lets_encrypt_refuses_from_subscribers_are_refused(acme_server, reason):
    acme = account_client(acme_server)
    cert, _ = issue(acme_server, acme, ["why.example.test"])
    with pytest.raises(messages.Error) as err:
        revoke(acme, cert, reason)
    assert err.value.typ == PROBLEM + "badRevocationReason"
    assert err.value.detail == (
        f"reason {reason} is not one Let's Encrypt takes from subscribers; use 0 (unspecified), "
        "1 (keyCompromise), 4 (superseded), 5 (cessationOfOperation)")
    assert status(acme_server, cert) == (None, None)


def test_the_certificate_key_revokes_for_key_compromise_whatever_it_asks(acme_server):
    acme = account_client(acme_server)
    cert, key = issue(acme_server, acme, ["kc.example.test"])
    revoke(by_key(acme_server, acme, key), cert, 0)
    assert status(acme_server, cert)[1] == 1


def test_the_certificate_key_re_revokes_for_key_compromise_once(acme_server):
    acme = account_client(acme_server)
    cert, key = issue(acme_server, acme, ["rekc.example.test"])
    revoke(acme, cert, 4)
    first_at = status(acme_server, cert)[0]
    revoke(by_key(acme_server, acme, key), cert, 4)  # Boulder: now keyCompromise
    assert status(acme_server, cert) == (first_at, 1)
    with pytest.raises(messages.Error) as err:
        revoke(by_key(acme_server, acme, key), cert, 1)
    assert err.value.typ == PROBLEM + "alreadyRevoked"
    with pytest.raises(messages.Error) as err:
        revoke(acme, cert, 1)  # the account: already revoked, whatever the reason
    assert err.value.typ == PROBLEM + "alreadyRevoked"


def test_another_account_holding_the_names_revokes_for_cessation_of_operation(acme_server):
    issuer = account_client(acme_server)
    cert, _ = issue(acme_server, issuer, ["moved.example.test"])
    other = account_client(acme_server)
    order = other.new_order(make_csr(["moved.example.test"]))
    answer_all(other, order)
    acme_server.wait_idle()
    revoke(other, cert, 1)
    assert status(acme_server, cert)[1] == 5


@pytest.mark.parametrize("settings", [
    pytest.param(None, marks=pytest.mark.acme(revocation_rules="rfc"), id="rfc"),
    pytest.param(None, marks=pytest.mark.acme(pebble=True), id="pebble"),
])
def test_rfc_rules_record_any_rfc_5280_reason_as_given(acme_server, settings):
    acme = account_client(acme_server)
    cert, key = issue(acme_server, acme, ["any.example.test"])
    revoke(acme, cert, 3)
    assert status(acme_server, cert)[1] == 3
    other, other_key = issue(acme_server, acme, ["any2.example.test"])
    revoke(by_key(acme_server, acme, other_key), other, 0)
    assert status(acme_server, other)[1] == 0


def test_a_key_that_revoked_its_certificate_is_blocked_as_at_boulder(acme_server):
    acme = account_client(acme_server)
    cert, key = issue(acme_server, acme, ["blocked.example.test"])
    revoke(by_key(acme_server, acme, key), cert, 1)
    # No CSR may use the key again...
    order = acme.new_order(make_csr(["blocked.example.test"], key))
    answer_all(acme, order)
    acme_server.wait_idle()
    with pytest.raises(messages.Error) as err:
        acme.finalize_order(acme.poll_authorizations(order, deadline()), deadline())
    assert err.value.typ == PROBLEM + "badCSR" and "keyCompromise" in err.value.detail
    # ... nor any account.
    with pytest.raises(messages.Error) as err:
        account_client(acme_server, key)
    assert err.value.typ == PROBLEM + "badPublicKey" and "forbidden" in err.value.detail
    # A fresh key is fine; reset() forgets the blocked keys.
    issue(acme_server, acme, ["blocked.example.test"])
    acme_server.reset()
    account_client(acme_server, key)


def test_the_issuing_account_saying_key_compromise_blocks_nothing(acme_server):
    acme = account_client(acme_server)
    cert, key = issue(acme_server, acme, ["notblocked.example.test"])
    revoke(acme, cert, 1)
    issue(acme_server, acme, ["notblocked.example.test"], key)


@pytest.mark.acme(revocation_rules="rfc")
def test_rfc_rules_block_no_key(acme_server):
    acme = account_client(acme_server)
    cert, key = issue(acme_server, acme, ["free.example.test"])
    revoke(by_key(acme_server, acme, key), cert, 1)
    issue(acme_server, acme, ["free.example.test"], key)
