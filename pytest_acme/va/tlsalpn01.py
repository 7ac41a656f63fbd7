"""tls-alpn-01 (RFC 8737; RFC 8738 §6 for IP addresses).

A TLS handshake to ``<identifier>:<tlsalpn01_port>`` offering only the ALPN
protocol ``acme-tls/1``, with SNI = the name (for an IP address, its
reverse-DNS name).  The certificate presented must be self-signed, carry
exactly one subjectAltName (the identifier) and a critical id-pe-acmeIdentifier
extension holding SHA-256 of the key authorization.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import ssl

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

from ..protocol import problems
from ..protocol.identifiers import IP
from .base import Network, ValidationRequest
from .guard import allowed_addresses
from .resolver import addresses

ALPN = "acme-tls/1"
#: id-pe-acmeIdentifier (RFC 8737 §6.1).
ACME_IDENTIFIER = ObjectIdentifier("1.3.6.1.5.5.7.1.31")
#: DER header of the extension value: an OCTET STRING of 32 bytes (RFC 8737 §3:
#: ``Authorization ::= OCTET STRING (SIZE (32))``).
_OCTET_STRING_32 = b"\x04\x20"


def reverse_name(ip: str) -> str:
    """``127.0.0.1`` -> ``1.0.0.127.in-addr.arpa`` (the SNI for IP identifiers)."""
    return ipaddress.ip_address(ip).reverse_pointer


def _handshake(net: Network, address: str, sni: str) -> bytes:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols([ALPN])
    where = f"{address}:{net.tlsalpn01_port}"
    try:
        with socket.create_connection((address, net.tlsalpn01_port), net.timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=sni) as tls:
                if tls.selected_alpn_protocol() != ALPN:
                    raise problems.TLS(
                        f"{where} (SNI {sni}) did not negotiate the ALPN protocol {ALPN!r} "
                        f"(got {tls.selected_alpn_protocol()!r})")
                der = tls.getpeercert(binary_form=True)
    except socket.timeout:
        raise problems.Connection(f"timed out connecting to {where} after {net.timeout} s") from None
    except ConnectionRefusedError:
        raise problems.Connection(
            f"connection refused by {where} (nothing listens there: is the client's "
            "tls-alpn-01 responder up?)") from None
    except ssl.SSLError as e:
        raise problems.TLS(f"TLS handshake with {where} (SNI {sni}) failed: {e.reason or e}") from None
    except OSError as e:
        raise problems.Connection(f"connection to {where} failed: {e}") from None
    if not der:
        raise problems.TLS(f"{where} (SNI {sni}) presented no certificate")
    return der


def validate(net: Network, request: ValidationRequest) -> None:
    ident = request.identifier
    if ident.type == IP:
        resolved, sni = [ident.value], reverse_name(ident.value)
    else:
        resolved, sni = addresses(net.resolver, ident.value), ident.value
    record = {"hostname": ident.value, "port": str(net.tlsalpn01_port),
              "addressesResolved": resolved}
    request.records.append(record)
    last: problems.Problem = problems.Connection("no address to connect to")
    for address in allowed_addresses(net, resolved, f"tls-alpn-01 for {ident.value}"):
        record["addressUsed"] = address
        try:
            der = _handshake(net, address, sni)
        except problems.Connection as p:
            last = p
            continue
        _check_certificate(der, request, f"{address}:{net.tlsalpn01_port}")
        return
    raise last


def _check_certificate(der: bytes, request: ValidationRequest, where: str) -> None:
    ident = request.identifier
    try:
        cert = x509.load_der_x509_certificate(der)
        extensions = cert.extensions
    except Exception as e:
        raise problems.TLS(f"the certificate from {where} cannot be parsed: {e}") from None
    if cert.issuer != cert.subject:
        raise problems.TLS(f"the certificate from {where} is not self-signed "
                           f"(issuer {cert.issuer.rfc4514_string()!r})")
    try:
        cert.verify_directly_issued_by(cert)
    except Exception:
        raise problems.TLS(f"the certificate from {where} is not self-signed: its signature "
                           "does not verify with its own key") from None
    try:
        sans = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise problems.TLS(f"the certificate from {where} has no subjectAltName") from None
    got = [str(n.value).lower() for n in sans]
    if got != [ident.value]:
        raise problems.TLS(
            f"the certificate from {where} must have exactly one subjectAltName, "
            f"{ident.value}; it has {', '.join(got) or 'none'}")
    try:
        ext = extensions.get_extension_for_oid(ACME_IDENTIFIER)
    except x509.ExtensionNotFound:
        raise problems.TLS(
            f"the certificate from {where} lacks the acmeIdentifier extension "
            f"({ACME_IDENTIFIER.dotted_string})") from None
    if not ext.critical:
        raise problems.TLS(f"the acmeIdentifier extension from {where} is not marked critical")
    expected = hashlib.sha256(request.key_authorization.encode("ascii")).digest()
    value = ext.value.value if isinstance(ext.value, x509.UnrecognizedExtension) else b""
    if value != _OCTET_STRING_32 + expected:
        raise problems.IncorrectResponse(
            f"the acmeIdentifier extension from {where} does not hold SHA-256 of the key "
            f"authorization: expected {(_OCTET_STRING_32 + expected).hex()}, found {value.hex()}")
