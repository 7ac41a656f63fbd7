"""Copy me: what a certificate service (CN + SANs, client-supplied CSR, re-issue,
"list my orders") and a controller (what happened to each order?) check.

Re-issuing the same names is a *new* order (orders are immutable); the
account's ``orders`` list shows both; the server's event timeline shows what
happened to each, with server-clock times.
"""

import datetime

import josepy
from acme import client, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def new_client(server):
    key = josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    net = client.ClientNetwork(key, alg=josepy.ES256, verify_ssl=server.ca_bundle)
    acme = client.ClientV2(client.ClientV2.get_directory(server.directory_url, net), net)
    acme.new_account(messages.NewRegistration(terms_of_service_agreed=True))
    return acme


def csr_from_domains(domains):
    """CN is the first domain, SANs are all of them (as such services build CSRs)."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domains[0])]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in domains]), False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def issue(server, responder, acme, domains):
    """Order, solve http-01 through the responder fixture, finalize."""
    order = acme.new_order(csr_from_domains(domains))
    for authz in order.authorizations:
        challb = next(c for c in authz.body.challenges if c.chall.typ == "http-01")
        response, key_authorization = challb.chall.response_and_validation(acme.net.key)
        responder.publish(challb.chall.encode("token"), key_authorization)
        acme.answer_challenge(challb, response)
    server.wait_idle()
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=30)
    return acme.begin_finalization(acme.poll_authorizations(order, deadline))


def test_reissue_is_a_new_order_and_both_are_listed(acme_server, acme_http01_responder):
    acme = new_client(acme_server)
    domains = ["shop.example.test", "www.shop.example.test"]
    first = issue(acme_server, acme_http01_responder, acme, domains)
    again = issue(acme_server, acme_http01_responder, acme, domains)
    assert first.uri != again.uri
    assert first.body.certificate != again.body.certificate

    account = acme.net.post(acme.net.account.uri, None).json()
    listed = acme.net.post(account["orders"], None).json()["orders"]
    assert listed == [first.uri, again.uri]


def test_what_happened_to_an_order(acme_server, acme_http01_responder):
    acme = new_client(acme_server)
    order = issue(acme_server, acme_http01_responder, acme, ["api.example.test"])
    order_id = order.uri.rsplit("/", 1)[1]
    reasons = [e.reason for e in acme_server.events if order_id in e.order_ids]
    assert reasons[0] == "Created"
    assert "ChallengeValid" in reasons and "OrderReady" in reasons
    assert reasons[-2:] == ["CertificateIssued", "OrderValid"]
