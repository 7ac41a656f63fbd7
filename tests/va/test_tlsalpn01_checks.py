"""tls-alpn-01 certificates (RFC 8737 §3, RFC 8738 §6) checked as Let's Encrypt
checks them: each certificate below is served by the tls-alpn-01 responder on
loopback, the challenge is answered with certbot's ``acme`` library, and the
challenge must end ``valid`` or ``invalid`` with the problem Boulder gives.

Every refusal here is one Boulder's ``va/tlsalpn.go`` makes (``checkExpectedSAN``,
``checkAcceptableExtensions``, the acmeIdentifier checks); each accept test is a
form it takes, so the server does not refuse more than Let's Encrypt does."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from typing import Any, Dict, List, Optional

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID, ObjectIdentifier

from helpers import (
    account_client,
    answer_and_wait,
    challenge_json,
    challenge_refused,
    ec_key,
    key_authorization_for,
    make_csr,
    validate,
)
from pytest_acme.responders import TlsAlpn01Responder

ACME_IDENTIFIER = ObjectIdentifier("1.3.6.1.5.5.7.1.31")


def alpn_certificate(key_authorization: str, names: List[x509.GeneralName], *,
                     value: Optional[bytes] = None, critical: bool = True,
                     extra: Optional[x509.ExtensionType] = None,
                     issuer: Optional[x509.Name] = None):
    """A self-signed tls-alpn-01 certificate with the given SAN entries.

    ``value`` replaces the acmeIdentifier extension's DER value (by default the
    OCTET STRING of the digest, as RFC 8737 §3 asks); ``critical`` marks it."""
    key = ec_key()
    digest = hashlib.sha256(key_authorization.encode()).digest()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tls-alpn-01 test")])
    now = dt.datetime.now(dt.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer or subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.SubjectAlternativeName(names), critical=False)
               .add_extension(x509.UnrecognizedExtension(
                   ACME_IDENTIFIER, b"\x04\x20" + digest if value is None else value),
                   critical=critical))
    if extra is not None:
        builder = builder.add_extension(extra, critical=False)
    cert = builder.sign(key, hashes.SHA256())
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def outcome(acme_server, responder, identifier: str, make) -> Dict[str, Any]:
    """Order ``identifier``, serve ``make(key_authorization)`` for it, answer tls-alpn-01."""
    return validate(acme_server, identifier, "tls-alpn-01",
                    lambda token, ka: responder.publish_certificate(identifier, *make(ka)))


@pytest.fixture
def ip_responder(acme_server, acme_tlsalpn01_responder, request):
    """The responder that answers for ``request.param`` (an IP identifier): the
    session's one on 127.0.0.1, or a new one on ::1 that the server is pointed at."""
    if ":" not in request.param:
        yield acme_tlsalpn01_responder
        return
    with TlsAlpn01Responder(host="::1") as responder:
        acme_server.reconfigure(tlsalpn01_port=responder.port)
        yield responder


def refused(chall: Dict[str, Any], *fragments: str) -> None:
    challenge_refused(chall, "unauthorized", *fragments)


# -- the subjectAltName: its type (RFC 8738 §6) ---------------------------------------


@pytest.mark.parametrize("ip_responder", ["127.0.0.1", "::1"], indirect=True)
def test_an_ip_written_as_a_dns_name_is_refused(acme_server, ip_responder):
    ip = ip_responder.host
    chall = outcome(acme_server, ip_responder, ip,
                    lambda ka: alpn_certificate(ka, [x509.DNSName(ip)]))
    refused(chall, f"iPAddress {ip} (RFC 8738 §6)", f"dNSName '{ip}'",
            "the address written as a dNSName does not count")


@pytest.mark.parametrize("ip_responder", ["127.0.0.1", "::1"], indirect=True)
def test_an_ip_as_an_ip_address_entry_passes(acme_server, ip_responder):
    ip = ip_responder.host
    chall = outcome(acme_server, ip_responder, ip, lambda ka: alpn_certificate(
        ka, [x509.IPAddress(ipaddress.ip_address(ip))]))
    assert chall["status"] == "valid", chall


def test_an_ipv4_address_in_its_ipv6_mapped_form_is_refused(acme_server,
                                                            acme_tlsalpn01_responder):
    # 16 bytes for a 4-byte address: Boulder compares the SAN's DER, which differs.
    chall = outcome(acme_server, acme_tlsalpn01_responder, "127.0.0.1", lambda ka: alpn_certificate(
        ka, [x509.IPAddress(ipaddress.ip_address("::ffff:127.0.0.1"))]))
    # Python 3.13 writes the mapped address as ::ffff:127.0.0.1, older ones ::ffff:7f00:1.
    refused(chall, "iPAddress 127.0.0.1", f"iPAddress {ipaddress.ip_address('::ffff:7f00:1')}")


def test_a_dns_name_written_as_an_ip_address_entry_is_refused(acme_server,
                                                              acme_tlsalpn01_responder):
    chall = outcome(acme_server, acme_tlsalpn01_responder, "t.example.test", lambda ka:
                    alpn_certificate(ka, [x509.DNSName("t.example.test"),
                                          x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]))
    refused(chall, "exactly one subjectAltName, dNSName 't.example.test'",
            "dNSName 't.example.test', iPAddress 127.0.0.1")


@pytest.mark.parametrize("other", [
    x509.RFC822Name("t@example.test"),
    x509.UniformResourceIdentifier("https://t.example.test/"),
], ids=["email", "uri"])
def test_an_extra_entry_of_another_type_is_refused(acme_server, acme_tlsalpn01_responder, other):
    chall = outcome(acme_server, acme_tlsalpn01_responder, "t.example.test", lambda ka:
                    alpn_certificate(ka, [x509.DNSName("t.example.test"), other]))
    refused(chall, "and nothing else", repr(other.value))


def test_two_dns_names_are_refused(acme_server, acme_tlsalpn01_responder):
    chall = outcome(acme_server, acme_tlsalpn01_responder, "t.example.test", lambda ka:
                    alpn_certificate(ka, [x509.DNSName("t.example.test"),
                                          x509.DNSName("t.example.test")]))
    refused(chall, "exactly one subjectAltName")


# -- the subjectAltName: its case -------------------------------------------------------


def test_an_upper_case_dns_name_is_refused_as_boulder_compares_bytes(acme_server,
                                                                     acme_tlsalpn01_responder):
    chall = outcome(acme_server, acme_tlsalpn01_responder, "t.example.test", lambda ka:
                    alpn_certificate(ka, [x509.DNSName("T.Example.TEST")]))
    refused(chall, "dNSName 'T.Example.TEST'", "write it in lower case")


def test_an_upper_case_order_is_validated_with_the_lower_case_name(acme_server,
                                                                   acme_tlsalpn01_responder):
    # The order's identifier is normalised to lower case: the SAN must be too.
    chall = outcome(acme_server, acme_tlsalpn01_responder, "T.Example.TEST", lambda ka:
                    alpn_certificate(ka, [x509.DNSName("t.example.test")]))
    assert chall["status"] == "valid", chall


# -- self-signed ---------------------------------------------------------------------


def test_an_issuer_that_equals_the_subject_only_once_decoded_is_refused(
        acme_server, acme_tlsalpn01_responder):
    # The subject's CN is a UTF8String; the issuer's the same text as a PrintableString.
    # Signed with the certificate's own key, but the names differ as encoded.
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tls-alpn-01 test",
                                           _type=_ASN1Type.PrintableString)])
    chall = outcome(acme_server, acme_tlsalpn01_responder, "t.example.test", lambda ka:
                    alpn_certificate(ka, [x509.DNSName("t.example.test")], issuer=issuer))
    refused(chall, "is not self-signed (issuer 'CN=tls-alpn-01 test')")
    assert "signature" not in chall["error"]["detail"]  # the names differ, not the key


# -- other extensions ------------------------------------------------------------------


def test_an_unrelated_extra_extension_is_accepted(acme_server, acme_tlsalpn01_responder):
    # RFC 8737 §3 does not forbid other extensions, and Boulder allows them.
    chall = outcome(acme_server, acme_tlsalpn01_responder, "t.example.test", lambda ka:
                    alpn_certificate(ka, [x509.DNSName("t.example.test")],
                                     extra=x509.BasicConstraints(ca=False, path_length=None)))
    assert chall["status"] == "valid", chall


# -- the acmeIdentifier extension -------------------------------------------------------


def test_a_non_critical_acme_identifier_is_refused(acme_server, acme_tlsalpn01_responder):
    chall = outcome(acme_server, acme_tlsalpn01_responder, "t.example.test", lambda ka:
                    alpn_certificate(ka, [x509.DNSName("t.example.test")], critical=False))
    refused(chall, "is not marked critical")


def _digest(ka: str) -> bytes:
    return hashlib.sha256(ka.encode()).digest()


MALFORMED = {
    # A 31-byte OCTET STRING: the digest cut short.
    "short": lambda ka: b"\x04\x1f" + _digest(ka)[:31],
    # The digest followed by a byte that is not part of the OCTET STRING.
    "trailing": lambda ka: b"\x04\x20" + _digest(ka) + b"\x00",
    # A UTF8String holding the digest's hex instead of an OCTET STRING.
    "utf8": lambda ka: b"\x0c\x40" + _digest(ka).hex().encode(),
    # The bare digest, no DER at all.
    "bare": lambda ka: _digest(ka) + b"\x00\x00",
}


@pytest.mark.parametrize("form", sorted(MALFORMED))
def test_a_malformed_acme_identifier_value_is_refused(acme_server, acme_tlsalpn01_responder,
                                                      form):
    chall = outcome(acme_server, acme_tlsalpn01_responder, "t.example.test", lambda ka:
                    alpn_certificate(ka, [x509.DNSName("t.example.test")],
                                     value=MALFORMED[form](ka)))
    refused(chall, "acmeIdentifier extension", "is malformed",
            "DER OCTET STRING of the 32-byte SHA-256 digest")


def test_a_wrong_digest_names_both_values(acme_server, acme_tlsalpn01_responder):
    wrong = hashlib.sha256(b"something else").digest()
    chall = outcome(acme_server, acme_tlsalpn01_responder, "t.example.test", lambda ka:
                    alpn_certificate(ka, [x509.DNSName("t.example.test")],
                                     value=b"\x04\x20" + wrong))
    refused(chall, "does not hold SHA-256 of the key authorization", f"found {wrong.hex()}")


# -- the built-in responder -------------------------------------------------------------


def test_the_responder_answers_for_a_name_published_in_upper_case(acme_server,
                                                                  acme_tlsalpn01_responder):
    # Its certificate names the identifier as the order has it, in lower case.
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["t.example.test"]))
    chall = challenge_json(acme, order.authorizations[0].uri, "tls-alpn-01")
    acme_tlsalpn01_responder.publish("T.Example.TEST.", key_authorization_for(acme, chall["token"]))
    assert answer_and_wait(acme, acme_server, chall["url"])["status"] == "valid"
