"""The finalize CSR rules (pytest_acme.protocol.csr.check_csr)."""

from __future__ import annotations

import ipaddress
from typing import List, Optional, Sequence

import josepy
import pytest
from asn1crypto import csr as asn1_csr
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

from pytest_acme.protocol.csr import accept_csr, check_csr, check_key, load_csr, spki
from pytest_acme.protocol.identifiers import Identifier
from pytest_acme.protocol.problems import BadCSR

# Keys are made once per module: RSA generation is the slow part of these tests.
EC_KEY = ec.generate_private_key(ec.SECP256R1())
EC384_KEY = ec.generate_private_key(ec.SECP384R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ACCOUNT_KEY = ec.generate_private_key(ec.SECP256R1())

ORDER = [Identifier("dns", "example.com"), Identifier("dns", "www.example.com")]


def make_csr(
    key,
    dns: Sequence[str] = ("example.com", "www.example.com"),
    ips: Sequence[str] = (),
    *,
    cn: Optional[str] = None,
    others: Sequence[x509.GeneralName] = (),
    san: bool = True,
    ca: Optional[bool] = None,
    features: Optional[List[x509.TLSFeatureType]] = None,
) -> bytes:
    names: List[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    names += list(others)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if ca is not None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=None), critical=True
        )
    if features is not None:
        builder = builder.add_extension(x509.TLSFeature(features), critical=False)
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.DER)


def check(der: bytes, identifiers=ORDER, account_key=None):
    return check_csr(der, identifiers, account_key or ACCOUNT_KEY.public_key())


def refused(der: bytes, identifiers=ORDER, account_key=None) -> str:
    with pytest.raises(BadCSR) as info:
        check(der, identifiers, account_key)
    p = info.value
    assert p.to_json()["type"] == "urn:ietf:params:acme:error:badCSR"
    assert p.status == 400
    return p.detail


# -- the good cases ---------------------------------------------------------------------


@pytest.mark.parametrize("key", [EC_KEY, EC384_KEY, RSA_KEY], ids=["p256", "p384", "rsa2048"])
def test_exact_match_is_accepted(key):
    der = make_csr(key)
    csr = check(der)
    assert isinstance(csr, x509.CertificateSigningRequest)
    assert csr.public_bytes(serialization.Encoding.DER) == der


def test_p521_key_is_refused_as_at_lets_encrypt():
    detail = refused(make_csr(ec.generate_private_key(ec.SECP521R1())))
    assert detail == "the CSR's EC key is on curve secp521r1; use P-256 or P-384"


def test_an_rsa_key_over_4096_bits_is_refused_as_at_lets_encrypt():
    big = rsa.generate_private_key(public_exponent=65537, key_size=4104)
    assert "RSA key has 4104 bits; use 2048 to 4096 bits" in refused(make_csr(big))


def test_any_order_and_case_is_accepted():
    check(make_csr(EC_KEY, ["WWW.Example.COM", "EXAMPLE.com"]))


def test_trailing_dot_in_san_is_refused_as_at_boulder_and_pebble():
    detail = refused(make_csr(EC_KEY, ["example.com.", "www.example.com"]))
    assert "example.com." in detail


def test_ip_sans_are_accepted():
    order = [Identifier("ip", "192.0.2.1"), Identifier("ip", "2001:db8::1"),
             Identifier("dns", "example.com")]
    check(make_csr(EC_KEY, ["example.com"], ["2001:db8::1", "192.0.2.1"]), order)


def test_ip_only_csr_without_subject_is_accepted():
    check(make_csr(EC_KEY, [], ["192.0.2.1"]), [Identifier("ip", "192.0.2.1")])


def test_wildcard_sans_are_accepted():
    order = [Identifier("dns", "*.example.com"), Identifier("dns", "example.com")]
    check(make_csr(EC_KEY, ["example.com", "*.example.com"], cn="*.example.com"), order)


@pytest.mark.parametrize("cn", ["example.com", "www.example.com", "WWW.EXAMPLE.COM"])
def test_cn_that_is_one_of_the_sans_is_accepted(cn):
    check(make_csr(EC_KEY, cn=cn))


def test_ca_false_is_accepted():
    check(make_csr(EC_KEY, ca=False))


def test_duplicate_san_entries_are_accepted():
    check(make_csr(EC_KEY, ["example.com", "www.example.com", "Example.com"]))


def test_account_key_given_as_a_jwk_key_is_compared_too():
    # The handler passes ``account.jwk.key`` (a josepy ComparableKey).
    jwk = josepy.JWKEC(key=ACCOUNT_KEY).public_key()
    check(make_csr(EC_KEY), account_key=jwk.key)


# -- every rule --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "der",
    [b"", b"garbage", b"\x30\x03\x02\x01\x01", make_csr(EC_KEY)[:-10],
     make_csr(EC_KEY) + b"\x00",
     x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
     .sign(EC_KEY, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)],
    ids=["empty", "garbage", "integer-sequence", "truncated", "trailing-byte", "pem"],
)
def test_garbage_der(der):
    assert "not a valid PKCS#10 DER structure" in refused(der)


@pytest.mark.parametrize("key", [EC_KEY, RSA_KEY], ids=["ec", "rsa"])
def test_tampered_signature(key):
    der = bytearray(make_csr(key))
    # The last byte of the DER is inside the signature BIT STRING (for ECDSA, the
    # last byte of the INTEGER s): flipping a bit keeps the structure parseable.
    der[-1] ^= 0x01
    tampered = bytes(der)
    parsed = x509.load_der_x509_csr(tampered)
    assert parsed.subject == x509.Name([])
    assert parsed.signature != x509.load_der_x509_csr(make_csr(key)).signature
    assert not parsed.is_signature_valid
    load_csr(tampered)  # rule 1 passes
    assert "self-signature does not verify" in refused(tampered)


def test_tampered_request_info():
    # Change a name inside the signed part; the signature no longer matches.
    der = make_csr(EC_KEY)
    tampered = der.replace(b"www.example.com", b"www.examplf.com")
    assert tampered != der
    x509.load_der_x509_csr(tampered)
    assert "self-signature does not verify" in refused(
        tampered, [Identifier("dns", "example.com"), Identifier("dns", "www.examplf.com")]
    )


def test_rsa_1024_key():
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    detail = refused(make_csr(weak))
    assert "RSA key has 1024 bits" in detail
    assert "2048 to 4096" in detail


def test_unsupported_ec_curve():
    k1 = ec.generate_private_key(ec.SECP256K1())
    detail = refused(make_csr(k1))
    assert "curve secp256k1" in detail
    assert "P-256 or P-384" in detail


def test_unsupported_key_type_ed25519():
    der = make_csr(ed25519.Ed25519PrivateKey.generate())
    detail = refused(der)
    assert "key type" in detail
    assert "Ed25519" in detail
    assert "use RSA or ECDSA" in detail


def test_check_key_directly():
    assert check_key(EC_KEY.public_key()) is not None
    with pytest.raises(BadCSR, match="key type"):
        check_key(object())


@pytest.mark.parametrize("key", [EC_KEY, RSA_KEY], ids=["ec", "rsa"])
def test_account_key_reused(key):
    detail = refused(make_csr(key), account_key=key.public_key())
    assert "is the account key" in detail
    assert "RFC 8555 §11.1" in detail


def test_account_key_reused_as_jwk():
    jwk = josepy.JWKEC(key=EC_KEY).public_key()
    assert "is the account key" in refused(make_csr(EC_KEY), account_key=jwk.key)


def test_account_key_is_compared_by_value_on_every_finalize():
    # The account key's encoding is kept by key object: the same object, and
    # another object for the same key, are both recognised, time after time;
    # another account's key is not mistaken for it.
    der = make_csr(EC_KEY)
    same = josepy.JWKEC(key=EC_KEY).public_key()
    for _ in range(2):
        assert "is the account key" in refused(der, account_key=same.key)
        assert "is the account key" in refused(
            der, account_key=josepy.JWKEC(key=EC_KEY).public_key().key)
        check(der, account_key=josepy.JWKEC(key=ACCOUNT_KEY).public_key().key)


@pytest.mark.parametrize("key", [EC_KEY, EC384_KEY, RSA_KEY], ids=["p256", "p384", "rsa2048"])
def test_accept_csr_gives_the_key_and_its_encoding(key):
    der = make_csr(key)
    accepted = accept_csr(der, ORDER, ACCOUNT_KEY.public_key())
    assert accepted.csr.public_bytes(serialization.Encoding.DER) == der
    assert accepted.public_key == key.public_key()
    assert accepted.spki == spki(key.public_key())


def test_a_cn_without_a_san_names_the_one_name_as_at_boulder():
    accepted = accept_csr(make_csr(EC_KEY, cn="Example.com", san=False),
                          [Identifier("dns", "example.com")], ACCOUNT_KEY.public_key())
    assert accepted.public_key == EC_KEY.public_key()


def test_a_cn_without_a_san_is_one_name_short_of_a_two_name_order():
    detail = refused(make_csr(EC_KEY, cn="example.com", san=False))
    assert detail == ("the CSR's subject CN, its only name (it has no subjectAltName), must "
                      "list exactly the order's identifiers: missing dns:www.example.com")


def test_a_cn_without_a_san_is_refused_where_only_the_san_counts_as_at_pebble():
    with pytest.raises(BadCSR) as info:
        accept_csr(make_csr(EC_KEY, cn="example.com", san=False),
                   [Identifier("dns", "example.com")], ACCOUNT_KEY.public_key(),
                   cn_is_name=False)
    assert "no subjectAltName extension" in info.value.detail
    assert info.value.as_pebble().to_json()["detail"] == (
        "Order includes different number of DNSnames identifiers than CSR specifies")


def test_no_san_and_no_cn():
    detail = refused(make_csr(EC_KEY, san=False))
    assert "no subjectAltName extension and no subject CN" in detail
    assert "example.com, www.example.com" in detail


def test_an_ip_address_in_the_cn_is_not_read_as_a_dns_name():
    order = [Identifier("ip", "192.0.2.1")]
    check(make_csr(EC_KEY, [], ["192.0.2.1"], cn="192.0.2.1"), order)
    assert "no subjectAltName" in refused(make_csr(EC_KEY, cn="192.0.2.1", san=False), order)


def sha1_csr(key) -> bytes:
    """A CSR signed with SHA-1 and RSA (cryptography's builder no longer signs one)."""
    request = asn1_csr.CertificationRequest.load(make_csr(key))
    info = request["certification_request_info"]
    return asn1_csr.CertificationRequest({
        "certification_request_info": info,
        "signature_algorithm": {"algorithm": "sha1_rsa"},
        "signature": key.sign(info.dump(), padding.PKCS1v15(), hashes.SHA1()),
    }).dump()


def pss_csr(key) -> bytes:
    return x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).add_extension(
        x509.SubjectAlternativeName([x509.DNSName(d) for d in ("example.com", "www.example.com")]),
        critical=False).sign(key, hashes.SHA256(), rsa_padding=padding.PSS(
            mgf=padding.MGF1(hashes.SHA256()), salt_length=32)).public_bytes(
        serialization.Encoding.DER)


def sha224_csr(key) -> bytes:
    return x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).add_extension(
        x509.SubjectAlternativeName([x509.DNSName(d) for d in ("example.com", "www.example.com")]),
        critical=False).sign(key, hashes.SHA224()).public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("make, name", [
    (lambda: sha1_csr(RSA_KEY), "SHA-1 with RSA"),
    (lambda: pss_csr(RSA_KEY), "RSASSA-PSS"),
    (lambda: sha224_csr(RSA_KEY), "SHA-224 with RSA"),
    (lambda: sha224_csr(EC_KEY), "ECDSA with SHA-224"),
], ids=["sha1-rsa", "rsa-pss", "sha224-rsa", "sha224-ecdsa"])
def test_signature_algorithms_lets_encrypt_refuses_are_refused(make, name):
    der = make()
    detail = refused(der)
    assert detail == (f"the CSR is signed with {name}, which Let's Encrypt refuses; sign it "
                      "with SHA-256, SHA-384 or SHA-512, with RSA (PKCS#1 v1.5) or ECDSA")
    if name != "SHA-1 with RSA":  # this OpenSSL verifies no SHA-1 signature
        accept_csr(der, ORDER, ACCOUNT_KEY.public_key(), signatures="pebble")  # as Pebble


@pytest.mark.parametrize("algorithm", [hashes.SHA256(), hashes.SHA384(), hashes.SHA512()])
@pytest.mark.parametrize("key", [EC_KEY, RSA_KEY], ids=["ecdsa", "rsa"])
def test_sha2_signatures_are_taken(key, algorithm):
    der = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).add_extension(
        x509.SubjectAlternativeName([x509.DNSName(d) for d in ("example.com", "www.example.com")]),
        critical=False).sign(key, algorithm).public_bytes(serialization.Encoding.DER)
    check(der)


def test_must_staple_is_refused_when_asked_to_as_at_lets_encrypt():
    der = make_csr(EC_KEY, features=[x509.TLSFeatureType.status_request])
    with pytest.raises(BadCSR) as info:
        accept_csr(der, ORDER, ACCOUNT_KEY.public_key(), refuse_must_staple=True)
    assert "Must-Staple" in info.value.detail and "ocsp=True" in info.value.detail
    accept_csr(der, ORDER, ACCOUNT_KEY.public_key())  # not asked to: taken
    # Only status_request alone is Must-Staple, as Boulder matched it.
    other = make_csr(EC_KEY, features=[x509.TLSFeatureType.status_request_v2])
    accept_csr(other, ORDER, ACCOUNT_KEY.public_key(), refuse_must_staple=True)


def test_san_with_an_extra_name():
    detail = refused(make_csr(EC_KEY, ["example.com", "www.example.com", "extra.example.com"]))
    assert "exactly the order's identifiers" in detail
    assert "not in the order dns:extra.example.com" in detail
    assert "missing" not in detail


def test_san_with_an_extra_ip():
    detail = refused(make_csr(EC_KEY, ips=["192.0.2.1"]))
    assert "not in the order ip:192.0.2.1" in detail


def test_san_missing_a_name():
    detail = refused(make_csr(EC_KEY, ["example.com"]))
    assert "exactly the order's identifiers" in detail
    assert "missing dns:www.example.com" in detail
    assert "not in the order" not in detail


def test_san_missing_one_and_adding_another():
    detail = refused(make_csr(EC_KEY, ["example.com", "other.example.com"]))
    assert "missing dns:www.example.com" in detail
    assert "not in the order dns:other.example.com" in detail


def test_wildcard_does_not_stand_for_its_base_name():
    order = [Identifier("dns", "*.example.com")]
    assert "missing dns:*.example.com" in refused(make_csr(EC_KEY, ["example.com"]), order)


def test_cn_not_among_the_sans():
    detail = refused(make_csr(EC_KEY, cn="other.example.com"))
    assert "subject CN 'other.example.com'" in detail
    assert "not one of the order's identifiers" in detail


def test_ca_true():
    detail = refused(make_csr(EC_KEY, ca=True))
    assert "cA=TRUE" in detail
    assert "BasicConstraints" in detail


@pytest.mark.parametrize(
    "other",
    [x509.RFC822Name("admin@example.com"),
     x509.UniformResourceIdentifier("https://example.com/")],
    ids=["email", "uri"],
)
def test_non_dns_or_ip_san_entries(other):
    detail = refused(make_csr(EC_KEY, others=[other]))
    assert "1 entries that are neither DNS names nor IP addresses" in detail


def test_invalid_dns_name_in_san():
    detail = refused(make_csr(EC_KEY, ["example.com", "www.example.com", "bad_name.example.com"]))
    assert "invalid DNS names or IP addresses: bad_name.example.com" in detail


def test_rules_are_applied_in_order():
    # A CSR breaking several rules is refused for the first one in the list.
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    der = make_csr(weak, ["nothing.example"], ca=True)
    assert "1024 bits" in refused(der)
    assert "subjectAltName" in refused(make_csr(EC_KEY, ["nothing.example"], ca=True))


# -- the version field ---------------------------------------------------------------------


def with_version(der: bytes, version: int, key=None) -> bytes:
    """``der`` with another version: signed again with ``key`` over the new
    CertificationRequestInfo, or (no key) keeping the old signature."""
    request = asn1_csr.CertificationRequest.load(der)
    request["certification_request_info"]["version"] = version
    if key is not None:
        info = request["certification_request_info"].dump()
        request["signature"] = (key.sign(info, padding.PKCS1v15(), hashes.SHA256())
                                if isinstance(key, rsa.RSAPrivateKey)
                                else key.sign(info, ec.ECDSA(hashes.SHA256())))
    return request.dump()


@pytest.mark.parametrize("version", [1, 2, 3, -1, 2 ** 63 - 1])
@pytest.mark.parametrize("key", [EC_KEY, RSA_KEY], ids=["ec", "rsa"])
def test_another_version_is_accepted_with_a_warning(key, version):
    der = with_version(make_csr(key), version, key)
    with pytest.raises((x509.InvalidVersion, ValueError)):  # ValueError: below 0, past 255
        x509.load_der_x509_csr(der)  # what cryptography alone does
    accepted = accept_csr(der, ORDER, ACCOUNT_KEY.public_key())
    assert accepted.public_key.public_numbers() == key.public_key().public_numbers()
    assert {n.value for n in accepted.csr.extensions[0].value} == {
        "example.com", "www.example.com"}
    (warning,) = accepted.warnings
    assert warning.startswith(f"the CSR's version is {version}, not 0 (v1)")
    assert check(der).public_key().public_numbers() == key.public_key().public_numbers()


def test_version_0_has_no_warning():
    assert accept_csr(make_csr(EC_KEY), ORDER, ACCOUNT_KEY.public_key()).warnings == ()


@pytest.mark.parametrize("key", [EC_KEY, RSA_KEY], ids=["ec", "rsa"])
def test_another_version_keeps_the_signature_of_what_was_sent(key):
    # The version changed after signing: the signature covers version 0.
    assert "self-signature does not verify" in refused(with_version(make_csr(key), 2))


def test_another_version_with_a_signature_by_another_key():
    der = with_version(make_csr(EC_KEY), 2, ec.generate_private_key(ec.SECP256R1()))
    assert "self-signature does not verify" in refused(der)


def test_strict_refuses_another_version_with_what_to_do():
    der = with_version(make_csr(EC_KEY), 2, EC_KEY)
    with pytest.raises(BadCSR) as info:
        accept_csr(der, ORDER, ACCOUNT_KEY.public_key(), strict=True)
    assert "version is 2" in info.value.detail and "make the CSR with version 0" in info.value.detail
    assert accept_csr(make_csr(EC_KEY), ORDER, ACCOUNT_KEY.public_key(), strict=True)


@pytest.mark.parametrize("bad", ["trailing-byte", "truncated", "huge-version"])
def test_another_version_must_still_be_one_der_structure(bad):
    der = with_version(make_csr(EC_KEY), 2, EC_KEY)
    if bad == "trailing-byte":
        der += b"\x00"
    elif bad == "truncated":
        der = der[:-10]
    else:
        der = with_version(make_csr(EC_KEY), 2 ** 64, EC_KEY)  # more than Go's int holds
    assert "not a valid PKCS#10 DER structure" in refused(der)


def test_other_rules_apply_to_another_version_too():
    der = with_version(make_csr(EC_KEY, dns=("example.com",)), 2, EC_KEY)
    assert "missing dns:www.example.com" in refused(der)
    der = with_version(make_csr(ACCOUNT_KEY), 2, ACCOUNT_KEY)
    assert "is the account key" in refused(der)
