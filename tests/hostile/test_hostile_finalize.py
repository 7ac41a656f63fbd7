"""Hostile finalize requests (RFC 8555 §7.4): CSRs that must not be signed, and
finalize bodies of every wrong shape."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from helpers import make_csr
from jws_client import b64
from wsgi_world import case, csr_b64, run_case

NAMES = ("fin.test", "www.fin.test")


def finalize(w, payload, names=NAMES):
    """Finalize a fresh ready order of alice for ``names``."""
    alice = w.who("alice")
    _, body = w.ready_order(alice, *names)
    if callable(payload):
        payload = payload(w)
    return w.signed(alice, body["finalize"], payload)


def with_csr(pem_or_der):
    def payload(w):
        if isinstance(pem_or_der, bytes) and pem_or_der.startswith(b"-----"):
            return {"csr": csr_b64(pem_or_der)}
        return {"csr": b64(pem_or_der(w) if callable(pem_or_der) else pem_or_der)}
    return lambda w: finalize(w, payload)


def builder(names=NAMES, cn=None):
    b = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else []))
    return b.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=False)


def signed_by(key, algorithm=hashes.SHA256()):
    return builder().sign(key, algorithm).public_bytes(Encoding.DER)


def bad_self_signature(w):
    der = bytearray(signed_by(ec.generate_private_key(ec.SECP256R1())))
    der[-1] ^= 0x01
    return bytes(der)


def other_san(w):
    general = [x509.DNSName(n) for n in NAMES] + [x509.RFC822Name("a@fin.test")]
    return x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).add_extension(
        x509.SubjectAlternativeName(general), critical=False).sign(
        ec.generate_private_key(ec.SECP256R1()), hashes.SHA256()).public_bytes(Encoding.DER)


def account_key_csr(w):
    return make_csr(NAMES, w.who("alice").key)


CSR_CASES = [
    case("csr-extra-name", with_csr(make_csr(NAMES + ("extra.test",))), "badCSR", 400,
         "not in the order", "extra.test"),
    case("csr-missing-name", with_csr(make_csr(NAMES[:1])), "badCSR", 400, "missing",
         "www.fin.test"),
    case("csr-no-san", with_csr(make_csr(NAMES, san=False, common_name="fin.test")),
         "badCSR", 400, "no subjectAltName"),
    case("csr-cn-outside-sans", with_csr(make_csr(NAMES, common_name="other.test")),
         "badCSR", 400, "CN", "other.test"),
    case("csr-ca-true", with_csr(make_csr(NAMES, ca=True)), "badCSR", 400, "cA=TRUE"),
    case("csr-ip-instead-of-name", with_csr(make_csr(("fin.test", "192.0.2.1"))), "badCSR",
         400, "missing"),
    case("csr-other-san-type", with_csr(other_san), "badCSR", 400, "neither DNS names"),
    case("csr-invalid-dns-san", with_csr(make_csr(NAMES + ("bad name.test",))), "badCSR",
         400, "invalid DNS names"),
    case("csr-ipv4-mapped-ip-san", with_csr(make_csr(NAMES + ("::ffff:192.0.2.1",))),
         "badCSR", 400, "IPv4-mapped", "192.0.2.1 instead"),
    case("csr-bad-self-signature", with_csr(bad_self_signature), "badCSR", 400,
         "self-signature"),
    case("csr-rsa-1024", with_csr(lambda w: signed_by(rsa.generate_private_key(65537, 1024))),
         "badCSR", 400, "1024 bits"),
    case("csr-ec-secp256k1", with_csr(lambda w: signed_by(ec.generate_private_key(
        ec.SECP256K1()))), "badCSR", 400, "secp256k1"),
    case("csr-ed25519", with_csr(lambda w: signed_by(ed25519.Ed25519PrivateKey.generate(),
                                                     None)), "badCSR", 400, "not supported"),
    case("csr-dsa", with_csr(lambda w: signed_by(dsa.generate_private_key(2048))), "badCSR",
         400, "not supported"),
    case("csr-account-key", lambda w: finalize(w, lambda w: {"csr": csr_b64(
        account_key_csr(w))}), "badCSR", 400, "account key"),
    case("csr-garbage-der", with_csr(b"\x30\x03\x02\x01\x00"), "badCSR", 400, "PKCS#10"),
    case("csr-random-bytes", with_csr(bytes(range(200))), "badCSR", 400, "PKCS#10"),
    case("csr-empty", with_csr(b""), "badCSR", 400, "PKCS#10"),
    case("csr-a-certificate", with_csr(lambda w: w.issued(w.who("alice"), "c.test").cert_der),
         "badCSR", 400, "PKCS#10"),
    case("csr-truncated", with_csr(lambda w: signed_by(ec.generate_private_key(
        ec.SECP256R1()))[:-10]), "badCSR", 400, "PKCS#10"),
]

BODY_CASES = [
    case("csr-missing", lambda w: finalize(w, {}), "malformed", 400, "needs 'csr'"),
    case("csr-number", lambda w: finalize(w, {"csr": 5}), "malformed", 400, "base64url"),
    case("csr-null", lambda w: finalize(w, {"csr": None}), "malformed", 400, "base64url"),
    case("csr-pem-text", lambda w: finalize(w, {"csr": make_csr(NAMES).decode()}),
         "malformed", 400, "base64url"),
    case("csr-padded", lambda w: finalize(w, lambda w: {"csr": csr_b64(make_csr(NAMES))
                                                        + "="}), "malformed", 400, "padding"),
    case("finalize-post-as-get", lambda w: finalize(w, None), "malformed", 400,
         "needs a JSON object"),
    case("finalize-pending-order", lambda w: w.signed(
        w.who("alice"), w.order(w.who("alice"), "pending.test")[1]["finalize"],
        {"csr": csr_b64(make_csr(["pending.test"]))}), "orderNotReady", 403, "pending"),
    case("finalize-unknown-order", lambda w: w.signed(
        w.who("alice"), "http://localhost/acme/order/nope/finalize",
        {"csr": csr_b64(make_csr(NAMES))}), "malformed", 404, "no order"),
]


@pytest.mark.parametrize("send,type_,status,words", CSR_CASES + BODY_CASES)
def test_hostile_finalize(world, send, type_, status, words):
    run_case(world, send, type_, status, words)


def test_a_refused_csr_leaves_the_order_invalid_with_the_problem(world):
    alice = world.who("alice")
    url, body = world.ready_order(alice, *NAMES)
    run_case(world, lambda w: w.signed(alice, body["finalize"], {
        "csr": csr_b64(make_csr(NAMES, ca=True))}), "badCSR", 400, ["cA=TRUE"])
    order = world.signed(alice, url, None).get_json()
    assert order["status"] == "invalid"
    assert order["error"]["type"].endswith(":badCSR")


def test_finalizing_a_valid_order_again_is_order_not_ready(world):
    alice = world.who("alice")
    issued = world.issued(alice, "twice.test")
    run_case(world, lambda w: w.signed(alice, issued.body["finalize"], {
        "csr": csr_b64(make_csr(["twice.test"]))}), "orderNotReady", 403, ["valid"])
