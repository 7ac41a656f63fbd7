"""A CSR whose PKCS#10 ``version`` is not 0, finalized over HTTPS with certbot's
``acme`` library: accepted with a warning in the order's timeline, as Let's
Encrypt and Pebble accept it (Go's parser ignores the field), refused with
``badCSR`` under ``strict_csr``; its signature is checked as sent either way.

The CSRs are made with ``asn1crypto``: cryptography cannot build or load them.
"""

from __future__ import annotations

from typing import Any, Dict

import pytest
from acme import messages
from asn1crypto import csr as asn1_csr
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from helpers import account_client, answer_all, make_csr, post, sans, split_chain
from jws_client import PROBLEM, b64

pytestmark = pytest.mark.acme(validation="always_valid")


def with_version(pem: bytes, version: int, key: Any = None) -> bytes:
    """The DER of the CSR ``pem`` with ``version``: signed again with ``key``
    over the new CertificationRequestInfo, or (no key) keeping the old signature."""
    der = x509.load_pem_x509_csr(pem).public_bytes(Encoding.DER)
    request = asn1_csr.CertificationRequest.load(der)
    request["certification_request_info"]["version"] = version
    if key is not None:
        info = request["certification_request_info"].dump()
        if isinstance(key, rsa.RSAPrivateKey):
            request["signature"] = key.sign(info, padding.PKCS1v15(), hashes.SHA256())
        else:
            request["signature"] = key.sign(info, ec.ECDSA(hashes.SHA256()))
    return request.dump()


def ready(acme, names, key) -> messages.OrderResource:
    order = acme.new_order(make_csr(names, key))
    answer_all(acme, order)
    return order


def finalize(acme, server, order: messages.OrderResource, der: bytes) -> Dict[str, Any]:
    server.wait_idle()
    return post(acme, order.body.finalize, {"csr": b64(der)}).json()


@pytest.mark.parametrize("version, key_type", [(2, "ec"), (1, "rsa")])
def test_a_csr_of_another_version_is_accepted_with_a_warning(acme_server, version, key_type):
    acme = account_client(acme_server)
    key = (ec.generate_private_key(ec.SECP256R1()) if key_type == "ec"
           else rsa.generate_private_key(public_exponent=65537, key_size=2048))
    names = ["v.example.test", "www.v.example.test"]
    order = ready(acme, names, key)
    done = finalize(acme, acme_server, order, with_version(make_csr(names, key), version, key))
    assert done["status"] == "valid"
    leaf = split_chain(post(acme, done["certificate"], None).content)[0]
    assert sans(leaf) == set(names)
    assert leaf.public_key().public_numbers() == key.public_key().public_numbers()
    warnings = [e for e in acme_server.order(order.uri).events if e.reason == "CSRWarning"]
    assert len(warnings) == 1
    assert f"the CSR's version is {version}, not 0 (v1)" in warnings[0].message
    assert "RFC 2986" in warnings[0].message and "strict_csr" in warnings[0].message
    assert "Warning  CSRWarning" in acme_server.describe(order.uri)


def test_a_plain_csr_has_no_warning(acme_server):
    acme = account_client(acme_server)
    key = ec.generate_private_key(ec.SECP256R1())
    order = ready(acme, ["plain.example.test"], key)
    done = finalize(acme, acme_server, order, with_version(make_csr(["plain.example.test"], key),
                                                           0, key))
    assert done["status"] == "valid"
    assert not [e for e in acme_server.order(order.uri).events if e.reason == "CSRWarning"]


def test_the_signature_is_checked_over_the_request_info_as_sent(acme_server):
    """Version 2 with the signature of the version-0 request: refused."""
    acme = account_client(acme_server)
    key = ec.generate_private_key(ec.SECP256R1())
    order = ready(acme, ["sig.example.test"], key)
    der = with_version(make_csr(["sig.example.test"], key), 2)
    with pytest.raises(messages.Error) as err:
        finalize(acme, acme_server, order, der)
    assert err.value.typ == PROBLEM + "badCSR"
    assert "self-signature does not verify" in err.value.detail
    assert post(acme, order.uri, None).json()["status"] == "invalid"


@pytest.mark.acme(strict_csr=True)
def test_strict_csr_refuses_another_version_and_says_what_to_do(acme_server):
    acme = account_client(acme_server)
    key = ec.generate_private_key(ec.SECP256R1())
    order = ready(acme, ["strict.example.test"], key)
    with pytest.raises(messages.Error) as err:
        finalize(acme, acme_server, order, with_version(make_csr(["strict.example.test"], key),
                                                        2, key))
    assert err.value.typ == PROBLEM + "badCSR"
    assert err.value.detail == (
        "the CSR's version is 2, but PKCS#10 defines only 0 (v1, RFC 2986 §4.1): make the "
        "CSR with version 0 (this server runs with strict_csr; Let's Encrypt accepts other "
        "versions)")
    body = post(acme, order.uri, None).json()
    assert body["status"] == "invalid" and body["error"]["type"] == PROBLEM + "badCSR"
    # A version-0 CSR is still fine.
    order = ready(acme, ["strict.example.test"], key)
    assert finalize(acme, acme_server, order,
                    with_version(make_csr(["strict.example.test"], key), 0, key))["status"] \
        == "valid"


def test_serve_has_a_strict_csr_flag():
    from pytest_acme import AcmeConfig
    from pytest_acme.cli import _parser, plan

    strict = plan(_parser().parse_args(["serve", "--strict-csr"]), {})["settings"]
    assert AcmeConfig(**strict).strict_csr is True
    default = plan(_parser().parse_args(["serve"]), {})["settings"]
    assert AcmeConfig(**default).strict_csr is False
