"""Copy me: a black-box test of a service that polls the CA itself, without sleeping.

A certificate service under test waits between polls as its CA asks
(``Retry-After``); in production it sleeps.  Give it a sleep function, and in
the test hand it ``acme_server.wait_idle``: each "sleep" returns as soon as the
server has no validation or issuance left to run, so the next poll sees the
result and the test takes milliseconds, not seconds.  ``wait_idle(seconds)``
waits at most that long, so a service that polls while nothing is left to do
goes on at once, and one the server keeps busy longer gets a ``TimeoutError``
naming the jobs still running.

(A service whose orders stay ``processing`` because of a ``hold_processing``
fault waits on the server *clock*: move it with ``acme_server.clock.advance``.)
"""

import time

import josepy
import pytest
from acme import client, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pytest_acme.faults import hold_processing


class CertificateService:
    """The code under test: obtains a certificate, polling as the CA asks."""

    def __init__(self, directory_url, ca_bundle, publish_http01, sleep=time.sleep):
        key = josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
        net = client.ClientNetwork(key, alg=josepy.ES256, verify_ssl=ca_bundle)
        self.acme = client.ClientV2(client.ClientV2.get_directory(directory_url, net), net)
        self.acme.new_account(messages.NewRegistration(terms_of_service_agreed=True))
        self.publish_http01 = publish_http01
        self.sleep = sleep
        self.waits = []

    def _poll(self, url, done):
        """POST-as-GET ``url`` until its status is in ``done``, waiting Retry-After."""
        while True:
            response = self.acme.net.post(url, None)
            body = response.json()
            if body["status"] in done:
                return body
            seconds = int(response.headers.get("Retry-After", "1"))
            self.waits.append(seconds)
            self.sleep(seconds)

    def obtain(self, name):
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
               .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
        order = self.acme.new_order(csr)
        for authz in order.authorizations:
            challb = next(c for c in authz.body.challenges if c.chall.typ == "http-01")
            response, key_authorization = challb.chall.response_and_validation(self.acme.net.key)
            self.publish_http01(challb.chall.encode("token"), key_authorization)
            self.acme.answer_challenge(challb, response)
            authz_body = self._poll(authz.uri, {"valid", "invalid"})
            if authz_body["status"] == "invalid":
                raise RuntimeError(f"{name}: {authz_body['challenges']}")
        self.acme.begin_finalization(order)
        done = self._poll(order.uri, {"valid", "invalid"})
        return self.acme.net.post(done["certificate"], None).text


# hold_processing(polls=1): the first read after finalize says "processing", so the
# service is sure to be asked to wait at least once.
@pytest.mark.acme(finalize="async", faults=[hold_processing(polls=1, retry_after=3)])
def test_the_service_waits_for_the_server_not_for_the_clock(acme_server, acme_http01_responder):
    service = CertificateService(acme_server.directory_url, acme_server.ca_bundle,
                                 acme_http01_responder.publish, sleep=acme_server.wait_idle)
    chain = service.obtain("polled.example.test")

    assert chain.startswith("-----BEGIN CERTIFICATE-----")
    # It was asked to wait 3 s (and 1 s for each poll of a pending authorization,
    # if any); each wait ended when the server was idle instead.
    assert 3 in service.waits
    assert acme_server.faults.fired[0].fault.kind == "hold_processing"
