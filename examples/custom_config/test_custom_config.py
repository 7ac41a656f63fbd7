"""The tests under this directory get the server ``conftest.py`` configures:
Boulder's rules, asynchronous finalize with ``Retry-After: 2``, orders that live
10 minutes.  Each test below shows one of those settings at work, as a client
sees it.
"""

import datetime

import josepy
import pytest
from acme import client, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


class Payload(josepy.JSONDeSerializable):
    """A JSON payload as it is, signed and sent by the client's own JWS code."""

    def __init__(self, payload):
        self.payload = payload

    def to_partial_json(self):
        return self.payload

    @classmethod
    def from_json(cls, jobj):
        return cls(jobj)


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


def test_orders_live_as_long_as_the_conftest_says(acme_server):
    acme = new_client(acme_server)
    order = acme.new_order(csr_for("short.example.test"))
    lifetime = order.body.expires - acme_server.clock.now()
    assert datetime.timedelta(seconds=595) <= lifetime <= datetime.timedelta(seconds=600)


def test_like_lets_encrypt_an_identical_pending_order_is_reused(acme_server):
    # RFC 8555 lets a server make a new order every time; Boulder hands back the
    # account's pending order for the same names instead.
    acme = new_client(acme_server)
    first = acme.new_order(csr_for("same.example.test"))
    again = acme.new_order(csr_for("same.example.test"))
    assert again.uri == first.uri


@pytest.mark.acme(reuse_identical_orders=False)
def test_a_marker_changes_one_setting_for_one_test(acme_server):
    acme = new_client(acme_server)
    first = acme.new_order(csr_for("same.example.test"))
    again = acme.new_order(csr_for("same.example.test"))
    assert again.uri != first.uri
    assert acme_server.config.boulder  # the rest of the conftest's settings still hold


def test_finalize_answers_processing_and_asks_for_a_poll_in_2_seconds(acme_server, acme_dns):
    acme = new_client(acme_server)
    order = acme.new_order(csr_for("slow.example.test"))
    for authz in order.authorizations:
        challb = next(c for c in authz.body.challenges if c.chall.typ == "dns-01")
        response, txt_value = challb.chall.response_and_validation(acme.net.key)
        acme_dns.set_txt(challb.chall.validation_domain_name(authz.body.identifier.value),
                         txt_value)
        acme.answer_challenge(challb, response)
    acme_server.wait_idle()
    order = acme.poll_authorizations(order, datetime.datetime.now() + datetime.timedelta(seconds=30))
    csr_der = x509.load_pem_x509_csr(order.csr_pem).public_bytes(serialization.Encoding.DER)
    reply = acme.net.post(order.body.finalize, Payload({"csr": josepy.encode_b64jose(csr_der)}))
    assert reply.json()["status"] == "processing"
    assert reply.headers["Retry-After"] == "2"
