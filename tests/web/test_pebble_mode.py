"""Pebble mode: under ``pebble=True`` the server looks as Pebble does to its users
(terms of service, issuer names, leaves without a CN, RSA key sizes, Pebble's
problem types and wording, the domain blocklist), each part also switchable
alone; without it, Let's Encrypt's behaviour stays."""

from __future__ import annotations

import json
import math
import random
import re

import pytest
import requests
from acme import messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from werkzeug.test import Client

from helpers import (
    account_client,
    answer_all,
    deadline,
    finalize_problem,
    issue_leaf,
    make_csr,
    new_order,
    obtain,
    post,
    post_unchecked,
    sans,
    split_chain,
    verify_chain,
)
from jws_client import PROBLEM, b64, sign
from pytest_acme.standalone.management import make_management_app

#: Pebble's terms of service (wfe.go's ToSURL).
PEBBLE_TERMS = "data:text/plain,Do%20what%20thou%20wilt"

pytestmark = pytest.mark.acme(validation="always_valid")
pebble = pytest.mark.acme(pebble=True, validation="always_valid")


def common_names(name: x509.Name) -> list:
    return [a.value for a in name.get_attributes_for_oid(NameOID.COMMON_NAME)]


# -- terms of service -------------------------------------------------------------


@pebble
def test_pebble_mode_advertises_pebbles_terms(acme_server):
    acme = account_client(acme_server, register=False)
    assert acme.directory.meta.terms_of_service == PEBBLE_TERMS


def test_default_mode_advertises_its_own_terms_page(acme_server):
    acme = account_client(acme_server, register=False)
    assert acme.directory.meta.terms_of_service == acme_server.url + "/terms"


@pebble
def test_pebble_mode_refuses_new_account_without_agreement_as_pebble_does(acme_server):
    acme = account_client(acme_server, register=False)
    for registration in (messages.NewRegistration(),
                         messages.NewRegistration(terms_of_service_agreed=False)):
        response = post_unchecked(acme, acme.directory["newAccount"],
                                  registration.to_partial_json())
        assert response.status_code == 403
        problem = response.json()
        assert problem == {"type": PROBLEM + "agreementRequired", "status": 403,
                           "detail": "Provided account did not agree to the terms of service"}
        assert f'<{PEBBLE_TERMS}>;rel="terms-of-service"' in response.headers["Link"]
        assert response.headers["Replay-Nonce"]
    acme.new_account(messages.NewRegistration(terms_of_service_agreed=True))


def test_default_mode_takes_new_account_without_agreement(acme_server):
    acme = account_client(acme_server, register=False)
    regr = acme.new_account(messages.NewRegistration())
    assert regr.body.status == "valid"


@pytest.mark.acme(pebble=True, require_terms_agreement=False)
def test_pebble_mode_can_leave_out_the_agreement_part(acme_server):
    acme = account_client(acme_server, register=False)
    assert acme.new_account(messages.NewRegistration()).body.status == "valid"


# -- issuer names and the leaf's subject ------------------------------------------


_PEBBLE_ROOT = re.compile(r"^Pebble Root CA [0-9a-f]{6}$")
_PEBBLE_INTERMEDIATE = re.compile(r"^Pebble Intermediate CA [0-9a-f]{6}$")


@pebble
def test_suite_reads_pebbles_issuer_names_in_the_issued_chain(acme_server):
    """What suites written against Pebble check: the leaf's issuer is "Pebble
    Intermediate CA ...", which the root "Pebble Root CA ..." signed."""
    acme = account_client(acme_server)
    chain = split_chain(obtain(acme_server, acme,
                               new_order(acme, ["www.pebble.test"])).content)
    leaf, intermediate = chain
    assert leaf.issuer.rfc4514_string().startswith("CN=Pebble Intermediate CA ")
    assert _PEBBLE_INTERMEDIATE.match(common_names(intermediate.subject)[0])
    assert intermediate.subject == leaf.issuer
    assert len(intermediate.subject) == 1  # one CN, no organization, as Pebble's
    assert _PEBBLE_ROOT.match(common_names(intermediate.issuer)[0])
    verify_chain(chain, acme_server.app.ca.roots_pem)


@pebble
def test_pebble_mode_issuers_have_rsa_keys_as_pebbles(acme_server):
    acme = account_client(acme_server)
    chain = split_chain(obtain(acme_server, acme, new_order(acme, ["rsa.pebble.test"])).content)
    assert isinstance(chain[1].public_key(), rsa.RSAPublicKey)
    assert chain[1].public_key().key_size == 2048
    mgmt = Client(make_management_app(acme_server))
    assert mgmt.get("/root-keys/0").get_data().startswith(b"-----BEGIN RSA PRIVATE KEY-----")


def test_default_mode_issuers_have_ecdsa_keys(acme_server):
    acme = account_client(acme_server)
    chain = split_chain(obtain(acme_server, acme, new_order(acme, ["ec.example.test"])).content)
    assert isinstance(chain[1].public_key(), ec.EllipticCurvePublicKey)


@pebble
def test_pebble_mode_leaves_have_no_common_name(acme_server):
    leaf = issue_leaf(acme_server, account_client(acme_server), ["a.pebble.test", "b.pebble.test"])
    assert len(leaf.subject) == 0
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical  # RFC 5280 §4.2.1.6: an empty subject makes the SAN critical
    assert set(san.value.get_values_for_type(x509.DNSName)) == {"a.pebble.test", "b.pebble.test"}


@pebble
def test_pebble_mode_leaves_have_no_common_name_whatever_the_profile(acme_server):
    acme = account_client(acme_server)
    leaf = issue_leaf(acme_server, acme, ["classic.pebble.test"], profile="classic")
    assert common_names(leaf.subject) == []


def test_default_mode_keeps_its_names_and_the_common_name(acme_server):
    acme = account_client(acme_server)
    chain = split_chain(obtain(acme_server, acme, new_order(acme, ["le.example.test"])).content)
    assert common_names(chain[0].subject) == ["le.example.test"]
    issuer = common_names(chain[1].subject)[0]
    assert issuer.startswith("pytest-acme intermediate ")
    assert "Pebble" not in chain[1].issuer.rfc4514_string()


@pytest.mark.acme(pebble=True, leaf_common_name=True, ca_names="pytest-acme")
def test_each_pebble_part_can_be_left_out(acme_server):
    acme = account_client(acme_server)
    chain = split_chain(obtain(acme_server, acme, new_order(acme, ["cn.pebble.test"])).content)
    assert common_names(chain[0].subject) == ["cn.pebble.test"]
    assert common_names(chain[1].subject)[0].startswith("pytest-acme intermediate ")


@pytest.mark.acme(ca_names="pebble", chain_length=3, alternate_roots=1)
def test_pebble_names_on_longer_and_alternate_chains_alone(acme_server):
    ca = acme_server.app.ca
    for chain in ca.chains:
        assert _PEBBLE_ROOT.match(common_names(chain.root.cert.subject)[0])
        for issuer in chain.intermediates:
            assert _PEBBLE_INTERMEDIATE.match(common_names(issuer.cert.subject)[0])
    # One issuing key and one issuing subject: a leaf verifies through every chain.
    assert ca.chains[0].intermediates[0].subject == ca.chains[1].intermediates[0].subject
    assert ca.chains[0].root.subject != ca.chains[1].root.subject
    leaf = issue_leaf(acme_server, account_client(acme_server), ["alone.example.test"])
    assert common_names(leaf.subject) == ["alone.example.test"]  # only the names changed


# -- RSA keys ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def huge_exponent_key():
    """A 3072-bit RSA key with a 3071-bit public exponent: each signature check with
    it costs about 20 ms, so it must be refused before any is made."""
    base = rsa.generate_private_key(65537, 3072).private_numbers()
    p, q = base.p, base.q
    phi = (p - 1) * (q - 1)
    rng = random.Random(3071)
    while True:
        e = rng.getrandbits(3071) | (1 << 3070) | 1
        if math.gcd(e, phi) == 1:
            break
    d = pow(e, -1, phi)
    return rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p),
                                 rsa.RSAPublicNumbers(e, p * q)).private_key()


def rsa_account(server, bits=1024, exponent=65537):
    return account_client(server, rsa.generate_private_key(exponent, bits))


def raw_post(server, acme, url, payload, key, *, spoil_signature=False):
    nonce = requests.head(acme.directory["newNonce"], verify=server.ca_bundle,
                          timeout=10).headers["Replay-Nonce"]
    jws = sign(key, url, payload, nonce=nonce)
    if spoil_signature:
        jws["signature"] = b64(b"\0" * 384)
    return requests.post(url, data=json.dumps(jws), verify=server.ca_bundle, timeout=10,
                         headers={"Content-Type": "application/jose+json"})


@pebble
def test_pebble_mode_takes_1024_bit_rsa_account_and_csr_keys(acme_server):
    acme = rsa_account(acme_server, 1024)
    leaf = issue_leaf(acme_server, acme, ["rsa1024.pebble.test"],
                      key=rsa.generate_private_key(65537, 1024))
    assert leaf.public_key().key_size == 1024


@pebble
def test_pebble_mode_takes_small_odd_exponents(acme_server):
    acme = rsa_account(acme_server, 2048, exponent=3)
    assert acme.net.account.body.status == "valid"


def test_default_mode_refuses_1024_bit_rsa_account_keys(acme_server):
    with pytest.raises(messages.Error) as e:
        rsa_account(acme_server, 1024)
    assert e.value.typ == PROBLEM + "badPublicKey"
    assert "1024 bits" in e.value.detail and "2048 to 4096" in e.value.detail


@pebble
def test_pebble_mode_takes_p521_account_and_csr_keys(acme_server):
    acme = account_client(acme_server, ec.generate_private_key(ec.SECP521R1()))
    leaf = issue_leaf(acme_server, acme, ["p521.pebble.test"],
                      key=ec.generate_private_key(ec.SECP521R1()))
    assert leaf.public_key().curve.name == "secp521r1"


@pytest.mark.acme(validation="always_valid")
def test_default_mode_refuses_p521_and_rsa_over_4096_bits_as_lets_encrypt(acme_server):
    """Boulder's goodkey: P-256 and P-384, RSA of 2048 to 4096 bits."""
    with pytest.raises(messages.Error) as e:
        account_client(acme_server, ec.generate_private_key(ec.SECP521R1()))
    assert e.value.typ == PROBLEM + "badPublicKey"
    assert e.value.detail == "the EC account key is on curve secp521r1; use P-256 or P-384"
    acme = account_client(acme_server)
    for key, words in ((ec.generate_private_key(ec.SECP521R1()), "use P-256 or P-384"),
                       (rsa.generate_private_key(65537, 4104), "use 2048 to 4096 bits")):
        with pytest.raises(messages.Error) as e:
            issue_leaf(acme_server, acme, ["big.example.test"], key=key)
        assert e.value.typ == PROBLEM + "badCSR" and words in e.value.detail


def test_default_mode_refuses_exponents_other_than_65537(acme_server):
    with pytest.raises(messages.Error) as e:
        rsa_account(acme_server, 2048, exponent=3)
    assert e.value.typ == PROBLEM + "badPublicKey"
    assert "exponent 3" in e.value.detail and "65537" in e.value.detail


def test_default_mode_refuses_1024_bit_csr_keys(acme_server):
    acme = account_client(acme_server)
    order = new_order(acme, ["csr1024.example.test"])
    answer_all(acme, order)
    acme_server.wait_idle()
    csr = make_csr(["csr1024.example.test"], rsa.generate_private_key(65537, 1024))
    problem = finalize_problem(acme, order.uri, csr)
    assert problem["type"] == PROBLEM + "badCSR" and "1024 bits" in problem["detail"]


BOTH_MODES = pytest.mark.parametrize("mode", [
    "default", pytest.param("pebble", marks=pytest.mark.acme(pebble=True))])


@BOTH_MODES
def test_huge_exponent_account_key_is_refused_before_its_signature_is_checked(
        acme_server, huge_exponent_key, mode):
    acme = account_client(acme_server, register=False)
    # The signature is spoilt: had it been checked, the answer would say so.
    response = raw_post(acme_server, acme, acme.directory["newAccount"],
                        {"termsOfServiceAgreed": True}, huge_exponent_key, spoil_signature=True)
    assert response.status_code == 400
    assert response.json()["type"] == PROBLEM + "badPublicKey"
    assert "3071-bit number" in response.json()["detail"]
    assert response.headers["Replay-Nonce"]


@BOTH_MODES
def test_huge_exponent_csr_key_is_refused_before_its_signature_is_checked(
        acme_server, huge_exponent_key, mode):
    acme = account_client(acme_server)
    order = new_order(acme, ["huge-e.example.test"])
    answer_all(acme, order)
    acme_server.wait_idle()
    der = x509.load_pem_x509_csr(make_csr(["huge-e.example.test"], huge_exponent_key)) \
        .public_bytes(serialization.Encoding.DER)
    spoilt = der[:-8] + bytes(8)  # the signature's last bytes
    problem = finalize_problem(acme, order.uri, x509.load_der_x509_csr(spoilt).public_bytes(
        serialization.Encoding.PEM))
    assert problem["type"] == PROBLEM + "badCSR"
    assert "3071-bit number" in problem["detail"]


# -- refusals: Pebble's type and wording -------------------------------------------


def problem_of(response):
    assert response.headers["Content-Type"] == "application/problem+json", response.text
    assert response.headers["Replay-Nonce"]
    return response.status_code, response.json()["type"][len(PROBLEM):], response.json()["detail"]


def pending_order(server, names=("wording.example.test",)):
    acme = account_client(server)
    return acme, new_order(acme, list(names))


def ready_order(server, names):
    acme, order = pending_order(server, names)
    answer_all(acme, order)
    server.wait_idle()
    return acme, order


@pebble
def test_pebble_wording_of_a_bad_nonce(acme_server):
    acme = account_client(acme_server)
    jws = sign(acme.account_private_key, acme.directory["newOrder"],
               {"identifiers": [{"type": "dns", "value": "n.test"}]}, nonce="AAAA",
               kid=acme.net.account.uri)
    response = requests.post(acme.directory["newOrder"], data=json.dumps(jws), timeout=10,
                             verify=acme_server.ca_bundle,
                             headers={"Content-Type": "application/jose+json"})
    assert problem_of(response) == (400, "badNonce", "JWS has an invalid anti-replay nonce: AAAA")


@pebble
def test_pebble_wording_of_an_injected_bad_nonce(acme_server):
    """What PEBBLE_WFE_NONCEREJECT arms: Pebble words it as any invalid nonce."""
    acme = account_client(acme_server)
    acme_server.faults.bad_nonce(times=1)
    response = post_unchecked(acme, acme.directory["newOrder"],
                              {"identifiers": [{"type": "dns", "value": "n.test"}]})
    status, type_, detail = problem_of(response)
    assert (status, type_) == (400, "badNonce")
    assert detail.startswith("JWS has an invalid anti-replay nonce")


def test_default_wording_of_a_bad_nonce_says_what_to_do(acme_server):
    acme = account_client(acme_server)
    jws = sign(acme.account_private_key, acme.directory["newOrder"], {}, nonce="AAAA",
               kid=acme.net.account.uri)
    response = requests.post(acme.directory["newOrder"], data=json.dumps(jws), timeout=10,
                             verify=acme_server.ca_bundle,
                             headers={"Content-Type": "application/jose+json"})
    status, type_, detail = problem_of(response)
    assert (status, type_) == (400, "badNonce")
    assert "unknown or already used; retry with the Replay-Nonce" in detail


@pebble
def test_pebble_wording_of_an_unknown_account(acme_server):
    acme = account_client(acme_server)
    kid = acme.net.account.uri + "0"
    acme.net.account = messages.RegistrationResource(body=messages.Registration(), uri=kid)
    response = post_unchecked(acme, acme.directory["newOrder"], {"identifiers": []})
    assert problem_of(response) == (400, "accountDoesNotExist", f"Account {kid} not found.")


@pebble
def test_pebble_wording_of_a_malformed_jws(acme_server):
    acme = account_client(acme_server, register=False)
    response = requests.post(acme.directory["newAccount"], data="{not json", timeout=10,
                             verify=acme_server.ca_bundle,
                             headers={"Content-Type": "application/jose+json"})
    assert problem_of(response) == (400, "malformed", "Parse error reading JWS")


@pebble
def test_pebble_type_and_wording_of_an_unsupported_identifier(acme_server):
    acme = account_client(acme_server)
    response = post_unchecked(acme, acme.directory["newOrder"],
                              {"identifiers": [{"type": "email", "value": "a@example.test"}]})
    assert problem_of(response) == (400, "malformed",
                                    "Order includes unknown identifier type email")


def test_default_type_of_an_unsupported_identifier(acme_server):
    acme = account_client(acme_server)
    response = post_unchecked(acme, acme.directory["newOrder"],
                              {"identifiers": [{"type": "email", "value": "a@example.test"}]})
    assert problem_of(response)[:2] == (400, "unsupportedIdentifier")


@pebble
def test_pebble_wording_of_an_order_not_ready(acme_server):
    acme, order = pending_order(acme_server, ["notready.pebble.test"])
    problem = finalize_problem(acme, order.uri, make_csr(["notready.pebble.test"]))
    assert problem == {"type": PROBLEM + "orderNotReady", "status": 403,
                       "detail": 'Order\'s status ("pending") was not ready'}


@pebble
@pytest.mark.parametrize("csr_names,detail", [
    (["b.pebble.test"], 'CSR is missing Order domain "a.pebble.test"'),
    (["a.pebble.test", "b.pebble.test"],
     "Order includes different number of DNSnames identifiers than CSR specifies"),
    (["a.pebble.test", "127.0.0.1"],
     "Order includes different number of IP address identifiers than CSR specifies"),
])
def test_pebble_type_and_wording_of_a_csr_that_does_not_match(acme_server, csr_names, detail):
    acme, order = ready_order(acme_server, ["a.pebble.test"])
    problem = finalize_problem(acme, order.uri, make_csr(csr_names))
    assert problem == {"type": PROBLEM + "unauthorized", "status": 403, "detail": detail}


def cn_only_csr(name: str) -> bytes:
    """A CSR naming ``name`` in its subject CN and having no subjectAltName."""
    return x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])).sign(
        ec.generate_private_key(ec.SECP256R1()), hashes.SHA256()).public_bytes(
        serialization.Encoding.PEM)


@pebble
def test_pebble_mode_refuses_a_csr_with_a_cn_and_no_san_as_pebble(acme_server):
    acme, order = ready_order(acme_server, ["cn.pebble.test"])
    problem = finalize_problem(acme, order.uri, cn_only_csr("cn.pebble.test"))
    assert problem == {  # as Pebble 2.4.0 answers it
        "type": PROBLEM + "unauthorized", "status": 403,
        "detail": "Order includes different number of DNSnames identifiers than CSR specifies"}


@pytest.mark.acme(validation="always_valid")
def test_default_mode_takes_a_csr_with_a_cn_and_no_san_as_lets_encrypt(acme_server):
    acme, order = ready_order(acme_server, ["cn.example.test"])
    order = acme.finalize_order(
        order.update(csr_pem=cn_only_csr("cn.example.test")), deadline())
    assert sans(split_chain(order.fullchain_pem)[0]) == {"cn.example.test"}


def pss_csr(name: str) -> bytes:
    """A CSR for ``name`` signed with RSA-PSS, which Boulder refuses and Pebble takes."""
    return x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).add_extension(
        x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False).sign(
        rsa.generate_private_key(public_exponent=65537, key_size=2048), hashes.SHA256(),
        rsa_padding=padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    ).public_bytes(serialization.Encoding.PEM)


@pytest.mark.acme(validation="always_valid")
def test_default_mode_refuses_a_csr_signed_with_rsa_pss_as_lets_encrypt(acme_server):
    acme, order = ready_order(acme_server, ["pss.example.test"])
    problem = finalize_problem(acme, order.uri, pss_csr("pss.example.test"))
    assert problem["type"] == PROBLEM + "badCSR" and "RSASSA-PSS" in problem["detail"]


@pytest.mark.acme(pebble=True, validation="always_valid")
def test_pebble_mode_takes_a_csr_signed_with_rsa_pss_as_pebble(acme_server):
    acme, order = ready_order(acme_server, ["pss.pebble.test"])
    order = acme.finalize_order(order.update(csr_pem=pss_csr("pss.pebble.test")), deadline())
    assert sans(split_chain(order.fullchain_pem)[0]) == {"pss.pebble.test"}


def test_default_type_of_a_csr_that_does_not_match(acme_server):
    acme, order = ready_order(acme_server, ["a.example.test"])
    problem = finalize_problem(acme, order.uri, make_csr(["b.example.test"]))
    assert (problem["type"], problem["status"]) == (PROBLEM + "badCSR", 400)


@pytest.mark.acme(pebble=True, problem_details="pytest-acme")
def test_pebble_mode_can_keep_the_default_wording(acme_server):
    acme, order = pending_order(acme_server, ["own.pebble.test"])
    problem = finalize_problem(acme, order.uri, make_csr(["own.pebble.test"]))
    assert problem["detail"] == "the order is pending: not every authorization is valid yet"


# -- names -------------------------------------------------------------------------

ELEVEN_LABELS = "a.b.c.d.e.f.g.h.i.example.test"


@pytest.mark.acme(pebble=True, validation="always_valid")
def test_pebble_mode_takes_names_of_more_than_ten_labels_as_pebble(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr([ELEVEN_LABELS, "*." + ELEVEN_LABELS]))
    assert {i.value for i in order.body.identifiers} == {ELEVEN_LABELS, "*." + ELEVEN_LABELS}


@pytest.mark.acme(pebble=True, name_rules="letsencrypt")
def test_pebble_mode_can_take_lets_encrypts_label_limit(acme_server):
    acme = account_client(acme_server)
    with pytest.raises(messages.Error) as e:
        acme.new_order(make_csr([ELEVEN_LABELS]))
    assert e.value.typ == PROBLEM + "rejectedIdentifier" and "at most 10" in e.value.detail


@pytest.mark.acme(pebble=True)
def test_pebble_mode_refuses_a_trailing_dot_as_pebble(acme_server):
    acme = account_client(acme_server)
    response = post_unchecked(acme, acme.directory["newOrder"], {"identifiers": [
        {"type": "dns", "value": "dot.example.test."}]})
    assert problem_of(response) == (  # as Pebble 2.4.0 answers it
        400, "malformed",
        'Order included a DNS identifier with a value ending in a period: "dot.example.test."\n')


@pytest.mark.acme(pebble=True, problem_details="pytest-acme")
def test_pebble_mode_can_word_a_trailing_dot_its_own_way(acme_server):
    acme = account_client(acme_server)
    response = post_unchecked(acme, acme.directory["newOrder"], {"identifiers": [
        {"type": "dns", "value": "ok.example.test"}, {"type": "dns", "value": "dot.example.test."},
        {"type": "dns", "value": "also.example.test."}]})
    body = response.json()
    assert body["type"] == PROBLEM + "rejectedIdentifier" and "ends in a dot" in body["detail"]
    assert [s["identifier"]["value"] for s in body["subproblems"]] == [
        "dot.example.test.", "also.example.test."]


# -- the domain blocklist ----------------------------------------------------------


@pytest.mark.acme(pebble=True, domain_blocklist=["blocked-domain.example"])
@pytest.mark.parametrize("name", ["blocked-domain.example", "x.blocked-domain.example",
                                  "*.blocked-domain.example"])
def test_pebble_mode_refuses_blocked_names_and_names_below_them(acme_server, name):
    acme = account_client(acme_server)
    response = post_unchecked(acme, acme.directory["newOrder"], {"identifiers": [
        {"type": "dns", "value": "fine.example"}, {"type": "dns", "value": name}]})
    assert problem_of(response) == (
        400, "rejectedIdentifier",
        f'Order included an identifier for which issuance is forbidden by policy: "{name}"')


@pytest.mark.acme(domain_blocklist=["blocked-domain.example"])
def test_blocklist_alone_refuses_with_its_own_wording_and_spares_lookalikes(acme_server):
    acme = account_client(acme_server)
    with pytest.raises(messages.Error) as e:
        acme.new_order(make_csr(["www.blocked-domain.example"]))
    assert e.value.typ == PROBLEM + "rejectedIdentifier"
    assert "blocked-domain.example and every name below it" in e.value.detail
    order = acme.new_order(make_csr(["xblocked-domain.example", "blocked-domain.example.org"]))
    assert order.body.status.name == "pending"
    with pytest.raises(messages.Error) as e:
        post(acme, acme.directory["newAuthz"],
             {"identifier": {"type": "dns", "value": "blocked-domain.example"}})
    assert e.value.typ == PROBLEM + "rejectedIdentifier"


# -- Retry-After of authorizations and of orders (Pebble's retryAfter) -------------


@pytest.mark.parametrize("authz,order", [
    pytest.param("1", "1", marks=pytest.mark.acme()),
    pytest.param("7", "7", marks=pytest.mark.acme(retry_after=7)),
    pytest.param("3", "5", marks=pytest.mark.acme(retry_after_authz=3, retry_after_order=5)),
    pytest.param("3", "9", marks=pytest.mark.acme(retry_after=9, retry_after_authz=3)),
], ids=["default", "one-value", "pebble-config", "one-overridden"])
def test_authorizations_and_orders_have_their_own_retry_after(acme_server, authz, order):
    acme = account_client(acme_server)
    response = post(acme, acme.directory["newOrder"],
                    {"identifiers": [{"type": "dns", "value": "retry.example.test"}]})
    assert response.headers["Retry-After"] == order
    authz_url = response.json()["authorizations"][0]
    authz_response = post(acme, authz_url, None)
    assert authz_response.headers["Retry-After"] == authz
    challenge_url = authz_response.json()["challenges"][0]["url"]
    assert post(acme, challenge_url, None).headers["Retry-After"] == authz


# -- a refused CSR ------------------------------------------------------------------


def order_status(acme, order):
    return post(acme, order.uri, None).json()["status"]


@pebble
def test_pebble_mode_leaves_the_order_ready_after_a_refused_csr(acme_server):
    """As Pebble: the client may send another CSR, and gets its certificate."""
    acme, order = ready_order(acme_server, ["again.pebble.test"])
    problem = finalize_problem(acme, order.uri, make_csr(["other.pebble.test"]))
    assert problem["type"] == PROBLEM + "unauthorized"
    assert order_status(acme, order) == "ready"
    problem = finalize_problem(acme, order.uri,
                               make_csr(["again.pebble.test"], acme.account_private_key))
    assert problem["type"] == PROBLEM + "badCSR"  # the account key: RFC 8555 §11.1
    assert order_status(acme, order) == "ready"
    order = acme.finalize_order(order.update(csr_pem=make_csr(["again.pebble.test"])),
                                deadline())
    assert order.body.status.name == "valid" and order.fullchain_pem


@pytest.mark.acme(boulder=True)
def test_boulder_mode_leaves_the_order_ready_after_a_refused_csr(acme_server):
    """As Boulder's RA: the CSR is checked before the order is marked processing."""
    acme, order = ready_order(acme_server, ["again.boulder.test"])
    problem = finalize_problem(acme, order.uri, make_csr(["other.boulder.test"]))
    assert problem["type"] == PROBLEM + "badCSR"
    assert order_status(acme, order) == "ready"
    order = acme.finalize_order(order.update(csr_pem=make_csr(["again.boulder.test"])),
                                deadline())
    assert order.body.status.name == "valid" and order.fullchain_pem


@pytest.mark.parametrize("status", [
    pytest.param("invalid", marks=pytest.mark.acme()),
    pytest.param("invalid", marks=pytest.mark.acme(pebble=True, refused_csr_fails_order=True)),
    pytest.param("invalid", marks=pytest.mark.acme(boulder=True, refused_csr_fails_order=True)),
], ids=["default", "pebble-part-left-out", "boulder-part-left-out"])
def test_otherwise_a_refused_csr_makes_the_order_invalid(acme_server, status):
    acme, order = ready_order(acme_server, ["once.example.test"])
    finalize_problem(acme, order.uri, make_csr(["other.example.test"]))
    assert order_status(acme, order) == status


@pytest.mark.acme(pebble=True, eab_required=True)
def test_pebble_mode_asks_for_agreement_before_the_binding_and_the_contacts(acme_server):
    acme = account_client(acme_server, register=False)
    response = post_unchecked(acme, acme.directory["newAccount"],
                              {"contact": ["mailto:not an address"]})
    assert problem_of(response)[:2] == (403, "agreementRequired")


@pebble
def test_pebble_wording_of_only_return_existing_without_an_account(acme_server):
    acme = account_client(acme_server, register=False)
    response = post_unchecked(acme, acme.directory["newAccount"],
                              {"onlyReturnExisting": True})
    assert problem_of(response) == (
        400, "accountDoesNotExist",
        "unable to find existing account for only-return-existing request")


@pebble
def test_pebble_mode_offers_no_pre_authorization(acme_server):
    acme = account_client(acme_server, register=False)
    assert "newAuthz" not in acme.directory.to_partial_json()


@pytest.mark.acme(pebble=True, new_authz=True)
def test_pebble_mode_can_keep_pre_authorization(acme_server):
    acme = account_client(acme_server, register=False)
    assert "newAuthz" in acme.directory.to_partial_json()


# -- the settings --------------------------------------------------------------------


def test_parts_follow_the_switch_unless_set():
    from pytest_acme import AcmeConfig
    from pytest_acme.config import PEBBLE_PARTS, RFC_DEFAULTS

    assert set(PEBBLE_PARTS) <= set(RFC_DEFAULTS)
    plain, peb = AcmeConfig(), AcmeConfig(pebble=True)
    for name, value in PEBBLE_PARTS.items():
        assert peb.effective(name) == value != plain.effective(name) == RFC_DEFAULTS[name]
    assert AcmeConfig(pebble=True, rsa_keys="letsencrypt").effective("rsa_keys") == "letsencrypt"
    assert AcmeConfig(boulder=True, pebble=True).effective("plain_get") is True  # Boulder's


@pytest.mark.parametrize("settings,words", [
    ({"ca_names": "boulder"}, "ca_names"),
    ({"rsa_keys": "any"}, "rsa_keys"),
    ({"name_rules": "any"}, "name_rules"),
    ({"csr_signatures": "any"}, "csr_signatures"),
    ({"problem_details": "go"}, "problem_details"),
    ({"domain_blocklist": "one.example"}, "domain_blocklist"),
    ({"domain_blocklist": ["."]}, "domain_blocklist"),
    ({"retry_after_authz": -1}, "retry_after_authz"),
    ({"retry_after_order": 1.5}, "retry_after_order"),
    ({"ca_key_type": "dsa"}, "ca_key_type"),
])
def test_bad_part_values_are_refused(settings, words):
    from pytest_acme import AcmeConfig

    with pytest.raises(ValueError, match=words):
        AcmeConfig(**settings)


def test_blocklist_names_are_normalised():
    from pytest_acme import AcmeConfig

    assert AcmeConfig(domain_blocklist=["Blocked.Example."]).domain_blocklist == \
        ("blocked.example",)
