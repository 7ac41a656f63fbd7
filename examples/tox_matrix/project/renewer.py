"""The code under test: obtain a certificate for some names over ACME (dns-01).

A stand-in for a client project's own code; its tests are in ``tests/``.
"""

import datetime

import josepy
from acme import client, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def obtain(directory_url, ca_bundle, names, publish_txt, wait=lambda: None):
    """Register an account, order ``names``, publish each dns-01 TXT record with
    ``publish_txt(name, value)``, finalize, and return the PEM chain.

    ``wait()`` is called once the challenges are answered (in production: let
    DNS settle; in a test: ``acme_server.wait_idle``).
    """
    key = josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    net = client.ClientNetwork(key, alg=josepy.ES256, verify_ssl=ca_bundle)
    acme = client.ClientV2(client.ClientV2.get_directory(directory_url, net), net)
    acme.new_account(messages.NewRegistration(terms_of_service_agreed=True))

    cert_key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
           .sign(cert_key, hashes.SHA256()))
    order = acme.new_order(csr.public_bytes(serialization.Encoding.PEM))
    for authz in order.authorizations:
        challb = next(c for c in authz.body.challenges if c.chall.typ == "dns-01")
        response, value = challb.chall.response_and_validation(acme.net.key)
        publish_txt(challb.chall.validation_domain_name(authz.body.identifier.value), value)
        acme.answer_challenge(challb, response)
    wait()
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=30)
    return acme.finalize_order(acme.poll_authorizations(order, deadline), deadline).fullchain_pem
