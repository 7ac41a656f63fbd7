"""tls-alpn-01 (RFC 8737; RFC 8738 §6 for IP addresses).

A TLS handshake to ``<identifier>:<tlsalpn01_port>`` offering only the ALPN
protocol ``acme-tls/1``, with SNI = the name (for an IP address, its
reverse-DNS name).  The certificate presented must be self-signed, carry
exactly one subjectAltName (the identifier) and a critical id-pe-acmeIdentifier
extension holding SHA-256 of the key authorization.

The checks are Let's Encrypt's (Boulder's ``va/tlsalpn.go``), so that a
certificate that passes here passes there:

* the subjectAltName holds one entry and nothing else, of the identifier's
  type: a dNSName for a DNS identifier, an iPAddress for an IP identifier
  (RFC 8738 §6; ``DNS:127.0.0.1`` is not an IP address SAN);
* a dNSName is compared byte for byte with the identifier as the order spelled
  it (lower case): Boulder compares the extension's DER with the one it
  expects, so ``DNS:Example.TEST`` fails there even though names are
  case-insensitive;
* the acmeIdentifier value is exactly the DER OCTET STRING of the 32-byte
  digest: no other length, no other encoding, nothing after it;
* a failure in what the certificate says is ``unauthorized``, as Boulder and
  Pebble report it; a handshake that fails is ``tls``, one that cannot connect
  ``connection``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import ssl
from typing import List, Optional, Tuple

from cryptography import x509

from ..protocol import problems
from ..protocol.challenges import ACME_IDENTIFIER_DER_PREFIX, ACME_IDENTIFIER_OID, ACME_TLS_1
from ..protocol.identifiers import IP, Identifier
from .base import Network, ValidationRequest
from .guard import allowed_addresses
from .resolver import addresses, first_of_each_family


def reverse_name(ip: str) -> str:
    """``127.0.0.1`` -> ``1.0.0.127.in-addr.arpa`` (the SNI for IP identifiers)."""
    return ipaddress.ip_address(ip).reverse_pointer


def _handshake(net: Network, address: str, sni: str) -> Tuple[bytes, Optional[str]]:
    """The peer's certificate (DER) and the ALPN protocol negotiated.

    Raises:
        problems.Connection, problems.TLS, problems.Unauthorized: no certificate
            was had from ``address``; Let's Encrypt then tries the next address.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols([ACME_TLS_1])
    where = f"{address}:{net.tlsalpn01_port}"
    try:
        with socket.create_connection((address, net.tlsalpn01_port), net.timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=sni) as tls:
                alpn = tls.selected_alpn_protocol()
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
        raise problems.Unauthorized(f"{where} (SNI {sni}) presented no certificate")
    return der, alpn


def validate(net: Network, request: ValidationRequest) -> None:
    ident = request.identifier
    if ident.type == IP:
        resolved, sni = [ident.value], reverse_name(ident.value)
    else:
        resolved, sni = addresses(net.resolver, ident.value), ident.value
    record = {"hostname": ident.value, "port": str(net.tlsalpn01_port),
              "addressesResolved": resolved}
    request.records.append(record)
    # Like Let's Encrypt: the first IPv6 address, and the first IPv4 one if no
    # certificate came from it; no other address.
    candidates = allowed_addresses(net, first_of_each_family(resolved),
                                   f"tls-alpn-01 for {ident.value}")
    for n, address in enumerate(candidates, 1):
        record["addressUsed"] = address
        try:
            der, alpn = _handshake(net, address, sni)
        except problems.Problem:
            if n < len(candidates):
                continue
            raise
        where = f"{address}:{net.tlsalpn01_port}"
        if alpn != ACME_TLS_1:
            # RFC 8737 §3: the response MUST use the acme-tls/1 protocol.
            raise problems.Unauthorized(
                f"{where} (SNI {sni}) did not negotiate the ALPN protocol {ACME_TLS_1!r} "
                f"(got {alpn!r}): the tls-alpn-01 responder must select acme-tls/1")
        _check_certificate(der, request, where)
        return


def _check_certificate(der: bytes, request: ValidationRequest, where: str) -> None:
    """Raise the problem that explains why the certificate does not prove the identifier."""
    try:
        cert = x509.load_der_x509_certificate(der)
        extensions = cert.extensions
    except Exception as e:
        raise problems.TLS(f"the certificate from {where} cannot be parsed: {e}") from None
    # RFC 8737 §3: "The client prepares for validation by constructing a
    # self-signed certificate".
    # Compared as encoded, as Boulder compares them (RawSubject, RawIssuer): the
    # same name in another string type is another name.
    if cert.issuer.public_bytes() != cert.subject.public_bytes():
        raise problems.Unauthorized(f"the certificate from {where} is not self-signed "
                                    f"(issuer {cert.issuer.rfc4514_string()!r})")
    try:
        cert.verify_directly_issued_by(cert)
    except Exception:
        raise problems.Unauthorized(
            f"the certificate from {where} is not self-signed: its signature does not "
            "verify with its own key") from None
    try:
        sans = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise problems.Unauthorized(
            f"the certificate from {where} has no subjectAltName extension") from None
    _check_san(list(sans), request.identifier, where)
    _check_acme_identifier(extensions, request, where)


def _describe(name: x509.GeneralName) -> str:
    """``dNSName 'a.test'``, ``iPAddress 127.0.0.1``: an entry with its type, for details."""
    kind = {x509.DNSName: "dNSName", x509.IPAddress: "iPAddress", x509.RFC822Name: "rfc822Name",
            x509.UniformResourceIdentifier: "uniformResourceIdentifier"}.get(type(name))
    if isinstance(name, x509.IPAddress):
        return f"iPAddress {name.value}"
    if kind is None:
        return type(name).__name__
    return f"{kind} {name.value!r}"


def _check_san(names: List[x509.GeneralName], ident: Identifier, where: str) -> None:
    """RFC 8737 §3 / RFC 8738 §6: exactly one subjectAltName, the identifier, of its type."""
    if ident.type == IP:
        wanted: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(ident.value))
        form = f"iPAddress {ident.value} (RFC 8738 §6)"
    else:
        wanted, form = x509.DNSName(ident.value), f"dNSName {ident.value!r}"
    if names == [wanted]:
        return
    found = ", ".join(_describe(n) for n in names) or "no entries"
    hint = ""
    if len(names) == 1 and isinstance(names[0], x509.DNSName) and ident.type == IP \
            and names[0].value == ident.value:
        hint = ("; an IP identifier needs an iPAddress entry: the address written as a "
                "dNSName does not count")
    elif len(names) == 1 and isinstance(names[0], x509.DNSName) \
            and names[0].value.lower() == ident.value:
        hint = ("; Let's Encrypt compares the entry byte for byte with the identifier as "
                "ordered, so write it in lower case")
    raise problems.Unauthorized(
        f"the certificate from {where} must have exactly one subjectAltName, {form}, "
        f"and nothing else; it has {found}{hint}")


def _check_acme_identifier(extensions: x509.Extensions, request: ValidationRequest,
                           where: str) -> None:
    """RFC 8737 §3: a critical id-pe-acmeIdentifier holding SHA-256 of the key authorization."""
    try:
        ext = extensions.get_extension_for_oid(ACME_IDENTIFIER_OID)
    except x509.ExtensionNotFound:
        raise problems.Unauthorized(
            f"the certificate from {where} lacks the acmeIdentifier extension "
            f"({ACME_IDENTIFIER_OID.dotted_string})") from None
    # RFC 8737 §3: "The acmeIdentifier extension MUST be critical".
    if not ext.critical:
        raise problems.Unauthorized(
            f"the acmeIdentifier extension from {where} is not marked critical")
    digest = hashlib.sha256(request.key_authorization.encode("ascii")).digest()
    value = ext.value.value if isinstance(ext.value, x509.UnrecognizedExtension) else b""
    prefix = ACME_IDENTIFIER_DER_PREFIX
    if value == prefix + digest:
        return
    # RFC 8737 §3: "Authorization ::= OCTET STRING (SIZE (32))", DER-encoded.
    if len(value) != len(prefix) + len(digest) or not value.startswith(prefix):
        raise problems.Unauthorized(
            f"the acmeIdentifier extension from {where} is malformed: its value must be "
            f"the DER OCTET STRING of the 32-byte SHA-256 digest ({len(prefix) + 32} "
            f"bytes starting {prefix.hex()}); found {len(value)} bytes: "
            f"{value[:48].hex()}{'...' if len(value) > 48 else ''}")
    raise problems.Unauthorized(
        f"the acmeIdentifier extension from {where} does not hold SHA-256 of the key "
        f"authorization: expected {digest.hex()}, found {value[len(prefix):].hex()}")
