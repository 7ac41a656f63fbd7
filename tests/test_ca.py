"""The in-memory certificate authority (pytest_acme.ca)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import random

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from pytest_acme.ca import CertificateAuthority
from pytest_acme.protocol.identifiers import Identifier

NOW = dt.datetime(2030, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
NOT_BEFORE = NOW - dt.timedelta(minutes=5)
NOT_AFTER = NOW + dt.timedelta(days=90)

EC_LEAF_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_LEAF_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

IDENTS = [
    Identifier("dns", "www.example.com"),
    Identifier("ip", "192.0.2.7"),
    Identifier("dns", "*.example.com"),
    Identifier("ip", "2001:db8::1"),
    Identifier("dns", "example.com"),
]


@pytest.fixture(scope="module", params=["ecdsa", "rsa"])
def ca(request) -> CertificateAuthority:
    return CertificateAuthority(request.param, random.Random(7), NOW)


@pytest.fixture(params=["ec-leaf", "rsa-leaf"])
def leaf_key(request):
    return EC_LEAF_KEY if request.param == "ec-leaf" else RSA_LEAF_KEY


def ext(cert: x509.Certificate, oid) -> x509.Extension:
    return cert.extensions.get_extension_for_oid(oid)


def issue(ca, key, idents=IDENTS):
    return ca.issue(key.public_key(), idents, NOT_BEFORE, NOT_AFTER)


# -- the issuers ------------------------------------------------------------------------------


def test_issuer_key_types():
    ec_ca = CertificateAuthority("ecdsa", random.Random(1), NOW)
    rsa_ca = CertificateAuthority("rsa", random.Random(1), NOW)
    for issuer in (ec_ca.root, ec_ca.intermediate):
        assert isinstance(issuer.cert.public_key(), ec.EllipticCurvePublicKey)
        assert issuer.cert.public_key().curve.name == "secp256r1"
    for issuer in (rsa_ca.root, rsa_ca.intermediate):
        assert isinstance(issuer.cert.public_key(), rsa.RSAPublicKey)
        assert issuer.cert.public_key().key_size == 2048


def test_root_is_self_signed(ca):
    root = ca.root.cert
    assert root.issuer == root.subject
    root.verify_directly_issued_by(root)
    bc = ext(root, ExtensionOID.BASIC_CONSTRAINTS)
    assert bc.critical and bc.value.ca and bc.value.path_length is None
    ku = ext(root, ExtensionOID.KEY_USAGE).value
    assert ku.key_cert_sign and ku.crl_sign
    ski = ext(root, ExtensionOID.SUBJECT_KEY_IDENTIFIER).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(root.public_key())


def test_intermediate_is_signed_by_the_root(ca):
    inter, root = ca.intermediate.cert, ca.root.cert
    assert inter.issuer == root.subject
    assert inter.subject != root.subject
    inter.verify_directly_issued_by(root)
    bc = ext(inter, ExtensionOID.BASIC_CONSTRAINTS).value
    assert bc.ca and bc.path_length == 0
    aki = ext(inter, ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
    root_ski = ext(root, ExtensionOID.SUBJECT_KEY_IDENTIFIER).value
    assert aki.key_identifier == root_ski.digest


def test_issuers_are_valid_now_and_backdated(ca):
    for cert in (ca.root.cert, ca.intermediate.cert):
        assert cert.not_valid_before_utc < NOW < cert.not_valid_after_utc
        assert cert.not_valid_before_utc <= NOW - dt.timedelta(minutes=30)


def test_pem_views(ca):
    assert ca.roots_pem == ca.root.cert.public_bytes(serialization.Encoding.PEM)
    assert x509.load_pem_x509_certificate(ca.roots_pem) == ca.root.cert
    key = serialization.load_pem_private_key(ca.intermediate.key_pem, None)
    assert key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == ca.intermediate.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert ca.chain == [ca.intermediate]


def test_two_cas_have_different_names_and_keys():
    a = CertificateAuthority("ecdsa", random.Random(1), NOW)
    b = CertificateAuthority("ecdsa", random.Random(2), NOW)
    assert a.root.cert.subject != b.root.cert.subject
    assert a.root.cert.public_key() != b.root.cert.public_key()


# -- leaves -------------------------------------------------------------------------------


def test_leaf_sans_are_exactly_the_identifiers(ca, leaf_key):
    leaf, _ = issue(ca, leaf_key)
    san = ext(leaf, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    assert san.value.get_values_for_type(x509.DNSName) == [
        "www.example.com", "*.example.com", "example.com"
    ]
    assert san.value.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("192.0.2.7"), ipaddress.ip_address("2001:db8::1")
    ]
    assert len(san.value) == len(IDENTS)
    assert not san.critical  # the subject is not empty


def test_leaf_cn_is_the_first_dns_name(ca, leaf_key):
    leaf, _ = issue(ca, leaf_key)
    cns = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert [a.value for a in cns] == ["www.example.com"]
    assert len(leaf.subject) == 1


def test_leaf_cn_is_never_an_ip(ca):
    idents = [Identifier("ip", "192.0.2.7"), Identifier("dns", "*.example.com")]
    leaf, _ = issue(ca, EC_LEAF_KEY, idents)
    cns = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert [a.value for a in cns] == ["*.example.com"]


def test_leaf_cn_skips_names_longer_than_64(ca):
    long_name = "a" * 60 + ".example.com"
    idents = [Identifier("dns", long_name), Identifier("dns", "short.example.com")]
    leaf, _ = issue(ca, EC_LEAF_KEY, idents)
    cns = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert [a.value for a in cns] == ["short.example.com"]
    dns_names = ext(leaf, ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value.get_values_for_type(
        x509.DNSName
    )
    assert dns_names == [long_name, "short.example.com"]


@pytest.mark.parametrize("ips", [["192.0.2.7"], ["2001:db8::1", "192.0.2.7"]])
def test_ip_only_leaf_has_empty_subject_and_critical_san(ca, ips):
    leaf, _ = issue(ca, EC_LEAF_KEY, [Identifier("ip", i) for i in ips])
    assert leaf.subject == x509.Name([])
    san = ext(leaf, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    assert san.critical
    assert san.value.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address(i) for i in ips]


def test_leaf_extensions(ca, leaf_key):
    leaf, _ = issue(ca, leaf_key)
    eku = ext(leaf, ExtensionOID.EXTENDED_KEY_USAGE).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    bc = ext(leaf, ExtensionOID.BASIC_CONSTRAINTS)
    assert bc.critical
    assert bc.value.ca is False
    ski = ext(leaf, ExtensionOID.SUBJECT_KEY_IDENTIFIER).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key())
    aki = ext(leaf, ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
    inter_ski = ext(ca.intermediate.cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER).value
    assert aki.key_identifier == inter_ski.digest
    ku = ext(leaf, ExtensionOID.KEY_USAGE)
    assert ku.critical
    assert ku.value.digital_signature
    assert not ku.value.key_cert_sign
    assert ku.value.key_encipherment is isinstance(leaf_key, rsa.RSAPrivateKey)


def test_leaf_carries_the_csr_key(ca, leaf_key):
    leaf, _ = issue(ca, leaf_key)
    assert leaf.public_key() == leaf_key.public_key()


def test_leaf_validity_is_exactly_as_given(ca, leaf_key):
    leaf, _ = issue(ca, leaf_key)
    assert leaf.not_valid_before_utc == NOT_BEFORE
    assert leaf.not_valid_after_utc == NOT_AFTER


def test_leaf_validity_drops_sub_second_parts(ca):
    # X.509 times have whole seconds: the fraction is cut, never rounded up, so
    # the certificate never claims validity past the requested notAfter.
    nb = NOT_BEFORE + dt.timedelta(microseconds=999_999)
    na = NOT_AFTER + dt.timedelta(microseconds=999_999)
    leaf, _ = ca.issue(EC_LEAF_KEY.public_key(), IDENTS, nb, na)
    assert leaf.not_valid_before_utc == NOT_BEFORE
    assert leaf.not_valid_after_utc == NOT_AFTER


def test_leaf_validity_beyond_2050_uses_generalized_time(ca):
    far = dt.datetime(2060, 6, 1, tzinfo=dt.timezone.utc)
    leaf, _ = ca.issue(EC_LEAF_KEY.public_key(), IDENTS, NOT_BEFORE, far)
    assert leaf.not_valid_after_utc == far


def test_serials_are_positive_and_differ(ca):
    serials = [issue(ca, EC_LEAF_KEY)[0].serial_number for _ in range(20)]
    serials += [ca.root.cert.serial_number, ca.intermediate.cert.serial_number]
    assert all(0 < s < 2**127 for s in serials)
    assert len(set(serials)) == len(serials)


def test_chain_verifies_leaf_to_intermediate_to_root(ca, leaf_key):
    leaf, chain_pem = issue(ca, leaf_key)
    certs = x509.load_pem_x509_certificates(chain_pem)
    assert certs == [leaf, ca.intermediate.cert]  # leaf first; the root is not sent
    assert leaf.issuer == ca.intermediate.cert.subject
    leaf.verify_directly_issued_by(ca.intermediate.cert)
    ca.intermediate.cert.verify_directly_issued_by(ca.root.cert)
    ca.root.cert.verify_directly_issued_by(ca.root.cert)


def test_leaf_does_not_verify_against_the_root_directly(ca):
    leaf, _ = issue(ca, EC_LEAF_KEY)
    # The issuer name differs, so cryptography refuses before checking the signature.
    with pytest.raises(ValueError):
        leaf.verify_directly_issued_by(ca.root.cert)


def test_leaf_from_another_ca_does_not_verify(ca):
    other = CertificateAuthority("ecdsa", random.Random(99), NOW)
    leaf, _ = issue(other, EC_LEAF_KEY)
    with pytest.raises((ValueError, InvalidSignature)):
        leaf.verify_directly_issued_by(ca.intermediate.cert)


def test_leaf_signed_by_an_impostor_with_the_same_names_does_not_verify(ca):
    # Same issuer name, different key: only the signature check can catch it.
    key_type = "rsa" if isinstance(ca.root.key, rsa.RSAPrivateKey) else "ecdsa"
    impostor = CertificateAuthority(key_type, random.Random(7), NOW)
    assert impostor.intermediate.cert.subject == ca.intermediate.cert.subject
    leaf, _ = issue(impostor, EC_LEAF_KEY)
    with pytest.raises(InvalidSignature):
        leaf.verify_directly_issued_by(ca.intermediate.cert)


def test_chain_verifies_with_the_x509_verifier(ca, leaf_key):
    from cryptography.x509.verification import PolicyBuilder, Store

    leaf, chain_pem = issue(ca, leaf_key)
    verifier = (
        PolicyBuilder()
        .store(Store([ca.root.cert]))
        .time(NOW)
        .build_server_verifier(x509.DNSName("www.example.com"))
    )
    chain = verifier.verify(leaf, [ca.intermediate.cert])
    assert chain == [leaf, ca.intermediate.cert, ca.root.cert]
    verifier_ip = (
        PolicyBuilder()
        .store(Store([ca.root.cert]))
        .time(NOW)
        .build_server_verifier(x509.IPAddress(ipaddress.ip_address("2001:db8::1")))
    )
    assert verifier_ip.verify(leaf, [ca.intermediate.cert])[0] == leaf


# -- longer chains, alternate roots, CRLs ----------------------------------------------------


def test_longer_chains_and_alternate_roots_share_the_issuing_key():
    from cryptography.x509.verification import PolicyBuilder, Store

    ca = CertificateAuthority("ecdsa", random.Random(3), NOW, chain_length=3, alternate_roots=2)
    leaf, chain_pem = issue(ca, EC_LEAF_KEY)
    assert x509.load_pem_x509_certificates(chain_pem)[1:] == \
        [i.cert for i in ca.chains[0].intermediates]
    assert len(ca.chains) == 3
    issuing = {c.intermediates[0].cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        for c in ca.chains}
    assert len(issuing) == 1
    for n, chain in enumerate(ca.chains):
        assert len(chain.intermediates) == 3
        verifier = (PolicyBuilder().store(Store([chain.root.cert])).time(NOW)
                    .build_server_verifier(x509.DNSName("www.example.com")))
        alt = x509.load_pem_x509_certificates(ca.chain_pem(leaf, n))
        assert verifier.verify(alt[0], alt[1:])[-1] == chain.root.cert
    assert len({c.root.cert.subject for c in ca.chains}) == 3


def test_crl_entries_and_reasons(ca):
    leaf, _ = issue(ca, EC_LEAF_KEY)
    crl = ca.crl(ca.intermediate, [(leaf.serial_number, NOW, 1), (5, NOW, 0)], 7, NOW,
                 NOW + dt.timedelta(days=1))
    assert crl.is_signature_valid(ca.intermediate.cert.public_key())
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 7
    entry = crl.get_revoked_certificate_by_serial_number(leaf.serial_number)
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == \
        x509.ReasonFlags.key_compromise
    assert len(crl.get_revoked_certificate_by_serial_number(5).extensions) == 0


def test_profile_switches_and_crl_url(ca):
    leaf, _ = ca.issue(EC_LEAF_KEY.public_key(), IDENTS, NOT_BEFORE, NOT_AFTER,
                       common_name=False, crl_url="https://ca.example/crl/0")
    assert leaf.subject == x509.Name([])
    dp = ext(leaf, ExtensionOID.CRL_DISTRIBUTION_POINTS).value
    assert dp[0].full_name == [x509.UniformResourceIdentifier("https://ca.example/crl/0")]
    plain, _ = issue(ca, EC_LEAF_KEY)
    with pytest.raises(x509.ExtensionNotFound):
        ext(plain, ExtensionOID.CRL_DISTRIBUTION_POINTS)
