"""Copy me: test a certificate service (``service.py``) against pytest-acme.

The service's own HTTP API is driven with Werkzeug's test client; behind it,
the service speaks ACME over HTTPS to the ``acme_server`` fixture with
certbot's ``acme`` library.  Its dns-01 records go into the server's zone
(``acme_dns``), its http-01 answers into ``acme_http01_responder``; the server
validates them for real.
"""

import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from service import CertificateService
from werkzeug.test import Client

from pytest_acme.faults import fail_challenge


@pytest.fixture
def api(acme_server, acme_dns, acme_http01_responder):
    service = CertificateService(
        acme_server.directory_url, acme_server.ca_bundle,
        solvers={"dns": acme_dns.set_txt, "http": acme_http01_responder.publish},
        wait=acme_server.wait_idle)
    return Client(service)


@pytest.fixture
def account(api):
    reply = api.post("/api/acme", json={"email": "owner@example.com"})
    assert reply.status_code == 201
    return reply.get_json()["id"]


def certificate_of(api, order_id):
    order = api.get(f"/api/order/{order_id}")
    assert order.get_json()["status"] == "valid", order.get_json()
    chain = api.get(order.headers["Location"]).get_data()
    return x509.load_pem_x509_certificates(chain)[0]


def names_of(cert):
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return cn, sans.get_values_for_type(x509.DNSName)


@pytest.mark.parametrize("kind", ["dns", "http"])
def test_an_order_gives_a_certificate_for_cn_then_sans(api, account, kind):
    reply = api.post("/api/order", json={"account": account, "type": kind,
                                         "domains": ["shop.example.test", "www.shop.example.test"]})
    assert reply.status_code == 201
    assert reply.get_json()["status"] == "valid"
    cert = certificate_of(api, reply.get_json()["id"])
    assert names_of(cert) == ("shop.example.test", ["shop.example.test", "www.shop.example.test"])


def test_the_users_key_or_csr_is_what_gets_certified(api, account):
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    by_key = api.post("/api/order", json={"account": account, "domains": ["k.example.test"],
                                          "key": key_pem}).get_json()
    assert certificate_of(api, by_key["id"]).public_key() == key.public_key()

    csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName("c.example.test")]), False)
           .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())
    by_csr = api.post("/api/order", json={"account": account, "domains": ["c.example.test"],
                                          "csr": csr}).get_json()
    assert certificate_of(api, by_csr["id"]).public_key() == key.public_key()


def test_the_same_request_again_is_the_same_order_and_reissue_is_a_new_one(
        api, account, acme_server):
    request = {"account": account, "domains": ["app.example.test"]}
    first = api.post("/api/order", json=request)
    again = api.post("/api/order", json=request)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]

    reissued = api.post("/api/order", json={**request, "reissue": True})
    assert reissued.status_code == 201
    old, new = (api.get(f"/api/order/{r.get_json()['id']}").get_json() for r in (first, reissued))
    # An ACME order cannot be changed: the re-issue is a new order at the CA,
    # with a new certificate.
    assert new["acme_order"] != old["acme_order"]
    assert (certificate_of(api, new["id"]).serial_number
            != certificate_of(api, old["id"]).serial_number)
    # The CA shows both orders for the one account.
    at_ca = [o.url for o in acme_server.orders() if "app.example.test" in str(o.identifiers)]
    assert sorted(at_ca) == sorted([old["acme_order"], new["acme_order"]])


def test_the_orders_of_an_account_are_listed(api, account):
    other = api.post("/api/acme", json={}).get_json()["id"]
    mine = [api.post("/api/order", json={"account": account, "domains": [name]}).get_json()["id"]
            for name in ("one.example.test", "two.example.test")]
    api.post("/api/order", json={"account": other, "domains": ["three.example.test"]})
    listed = api.get(f"/api/order?account={account}").get_json()["orders"]
    assert [o["id"] for o in listed] == mine
    assert [o["domains"] for o in listed] == [["one.example.test"], ["two.example.test"]]


@pytest.mark.parametrize("body, error", [
    ({"domains": ["x.example.test"]}, "'domains' and 'account' are required"),
    ({"account": 1}, "'domains' and 'account' are required"),
    ({"account": 1, "domains": ["x.example.test"], "type": "tls"}, "type must be one of"),
])
def test_a_bad_request_is_refused_before_any_acme(api, account, acme_server, body, error):
    reply = api.post("/api/order", json=body)
    assert reply.status_code == 400
    assert error in reply.get_json()["error"]
    assert acme_server.orders() == []


def test_a_csr_for_other_names_is_refused_by_the_ca(api, account):
    # The CA checks that the CSR names exactly the order's identifiers (RFC 8555
    # §7.4); the order is for a.example.test, the CSR adds b.example.test.
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a.example.test")]))
           .add_extension(x509.SubjectAlternativeName(
               [x509.DNSName("a.example.test"), x509.DNSName("b.example.test")]), False)
           .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())
    order = _post_and_read(api, {"account": account, "domains": ["a.example.test"], "csr": csr})
    assert order["status"] == "invalid"
    assert order["error"].startswith("urn:ietf:params:acme:error:badCSR: ")
    assert "b.example.test" in order["error"]


@pytest.mark.acme(faults=[fail_challenge("down.example.test", problem="connection")])
def test_a_failed_validation_makes_the_order_invalid_with_the_cas_reason(api, account):
    order = _post_and_read(api, {"account": account, "domains": ["down.example.test"]})
    assert order["status"] == "invalid"
    assert order["resolved_cert_id"] is None
    assert order["error"].startswith("urn:ietf:params:acme:error:connection: ")


def _post_and_read(api, body):
    reply = api.post("/api/order", data=json.dumps(body))
    return api.get(reply.headers["Location"]).get_json()
