"""The finalize CSR rules (RFC 8555 §7.4).

:func:`check_csr` applies them in order and raises :class:`BadCSR` whose
``detail`` names the rule that failed:

1. a valid PKCS#10 DER structure;
2. a valid self-signature;
3. a key type and size this CA signs (RSA 2048-8192, ECDSA P-256/P-384/P-521);
4. not the account key (RFC 8555 §11.1);
5. a subjectAltName listing exactly the order's identifiers, no more, no fewer,
   and a subject CN, if any, that is one of them;
6. no ``cA=TRUE`` in BasicConstraints.
"""

from __future__ import annotations

from typing import Iterable, List, Union

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from .identifiers import Identifier, identifiers_from_names
from .problems import BadCSR

PublicKey = Union[rsa.RSAPublicKey, ec.EllipticCurvePublicKey]

_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)


def load_csr(der: bytes) -> x509.CertificateSigningRequest:
    try:
        csr = x509.load_der_x509_csr(der)
        csr.subject  # noqa: B018 - parse lazily decoded parts now
        csr.extensions  # noqa: B018
    except Exception as e:  # cryptography raises ValueError and friends
        raise BadCSR(f"the CSR is not a valid PKCS#10 DER structure: {e}") from None
    return csr


def check_key(key: object) -> PublicKey:
    if isinstance(key, rsa.RSAPublicKey):
        if not 2048 <= key.key_size <= 8192:
            raise BadCSR(
                f"the CSR's RSA key is {key.key_size} bits; use 2048 to 8192 bits"
            )
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, _CURVES):
            raise BadCSR(
                f"the CSR's EC key is on curve {key.curve.name}; use P-256, P-384 or P-521"
            )
        return key
    raise BadCSR(
        f"the CSR's key type ({type(key).__name__}) is not supported; use RSA or ECDSA"
    )


def spki(key: object) -> bytes:
    """The DER SubjectPublicKeyInfo of ``key``: equal for equal public keys."""
    return key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def check_csr(
    der: bytes, identifiers: Iterable[Identifier], account_key: object
) -> x509.CertificateSigningRequest:
    """Apply every rule; return the parsed CSR or raise :class:`BadCSR`."""
    csr = load_csr(der)
    try:
        key = csr.public_key()
    except Exception as e:
        raise BadCSR(f"the CSR's public key cannot be read: {e}") from None
    # RFC 8555 §7.4: the CSR is signed with the certificate key.
    if not csr.is_signature_valid:
        raise BadCSR("the CSR's self-signature does not verify with the key it contains")
    check_key(key)
    # RFC 8555 §11.1: the account key MUST NOT be the certificate key.
    if spki(key) == spki(account_key):
        raise BadCSR(
            "the CSR's public key is the account key; certificate keys must differ from "
            "account keys (RFC 8555 §11.1)"
        )
    _check_names(csr, set(identifiers))
    _check_basic_constraints(csr)
    return csr


def _check_names(csr: x509.CertificateSigningRequest, wanted: "set[Identifier]") -> None:
    try:
        san = csr.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        raise BadCSR(
            "the CSR has no subjectAltName extension; list every identifier of the order "
            "there (" + ", ".join(i.value for i in sorted(wanted)) + ")"
        ) from None
    dns_names = san.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    found, bad = identifiers_from_names(dns_names, ips)
    others = len(san) - len(dns_names) - len(ips)
    if bad:
        raise BadCSR(f"the CSR's subjectAltName has invalid DNS names: {', '.join(bad)}")
    if others:
        raise BadCSR(
            f"the CSR's subjectAltName has {others} entries that are neither DNS names "
            "nor IP addresses (e-mail, URI, ...); only the order's identifiers may appear"
        )
    got = set(found)
    missing = sorted(wanted - got)
    extra = sorted(got - wanted)
    if missing or extra:
        parts: List[str] = []
        if missing:
            parts.append("missing " + ", ".join(str(i) for i in missing))
        if extra:
            parts.append("not in the order " + ", ".join(str(i) for i in extra))
        raise BadCSR(
            "the CSR's subjectAltName must list exactly the order's identifiers: "
            + "; ".join(parts)
        )
    for attr in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        cn = attr.value if isinstance(attr.value, str) else attr.value.decode(errors="replace")
        names = {i.value for i in wanted}
        if cn.lower().rstrip(".") not in names:
            raise BadCSR(
                f"the CSR's subject CN {cn!r} is not one of the order's identifiers"
            )


def _check_basic_constraints(csr: x509.CertificateSigningRequest) -> None:
    try:
        bc = csr.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value
    except x509.ExtensionNotFound:
        return
    if bc.ca:
        raise BadCSR("the CSR asserts cA=TRUE in BasicConstraints; ACME issues end-entity "
                     "certificates only")
