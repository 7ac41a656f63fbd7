"""Copy me: test an ACME client against pytest-acme.

Here the client under test is certbot's ``acme`` library; put yours in its
place.  The ``acme_server`` fixture is a real RFC 8555 server on a free port,
reset before every test, with an HTTPS certificate your client trusts through
``acme_server.ca_bundle``.
"""

import datetime

import josepy
import pytest
from acme import client, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def new_client(server):
    key = josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    net = client.ClientNetwork(key, alg=josepy.ES256, verify_ssl=server.ca_bundle)
    acme = client.ClientV2(client.ClientV2.get_directory(server.directory_url, net), net)
    acme.new_account(messages.NewRegistration(terms_of_service_agreed=True))
    return acme


def csr_for(*names):
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([x509.DNSName(n) for n in names])
    csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
           .add_extension(san, critical=False).sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM)


def answer_challenges(server, acme, order):
    """Solve dns-01: publish the TXT record in the server's DNS zone (what a
    client's DNS hook does), then tell the server to look."""
    for authz in order.authorizations:
        challb = next(c for c in authz.body.challenges if c.chall.typ == "dns-01")
        response, txt_value = challb.chall.response_and_validation(acme.net.key)
        server.dns.set_txt(challb.chall.validation_domain_name(authz.body.identifier.value),
                           txt_value)
        acme.answer_challenge(challb, response)


def test_client_obtains_a_certificate(acme_server):
    acme = new_client(acme_server)
    order = acme.new_order(csr_for("example.test", "*.example.test"))
    answer_challenges(acme_server, acme, order)
    acme_server.wait_idle()  # the server checks the TXT records in the background, like a CA
    order = acme.poll_authorizations(order, datetime.datetime.now() + datetime.timedelta(seconds=30))
    order = acme.begin_finalization(order)
    chain = x509.load_pem_x509_certificates(acme.net.post(order.body.certificate, None).content)
    names = chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(names.get_values_for_type(x509.DNSName)) == ["*.example.test", "example.test"]
    assert chain[1].subject == chain[0].issuer  # leaf, then the intermediate


def test_client_notices_an_expired_order(acme_server):
    acme = new_client(acme_server)
    order = acme.new_order(csr_for("late.example.test"))
    answer_challenges(acme_server, acme, order)
    acme_server.wait_idle()
    acme_server.clock.advance(datetime.timedelta(days=1))  # no waiting: move the server's clock
    with pytest.raises(messages.Error) as excinfo:
        acme.begin_finalization(order)
    assert excinfo.value.code == "orderNotReady"
    assert "expired" in excinfo.value.detail


@pytest.mark.acme(finalize="async", order_expiry=600)
def test_client_polls_a_processing_order(acme_server):
    acme = new_client(acme_server)
    order = acme.new_order(csr_for("slow.example.test"))
    answer_challenges(acme_server, acme, order)
    acme_server.wait_idle()
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=30)
    order = acme.finalize_order(acme.poll_authorizations(order, deadline), deadline)
    assert order.fullchain_pem.count("BEGIN CERTIFICATE") == 2
