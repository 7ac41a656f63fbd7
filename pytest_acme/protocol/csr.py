"""The finalize CSR rules (RFC 8555 §7.4).

:func:`accept_csr` applies them in order (:func:`check_csr` too, returning
just the CSR) and raises :class:`BadCSR` whose ``detail`` names the rule that
failed:

1. a valid PKCS#10 DER structure (a ``version`` other than 0 is accepted with a
   warning, as Let's Encrypt accepts it, unless ``strict``);
2. a key type and size this CA signs (RSA by :mod:`.keys`' rules, checked before the
   signature, since a huge exponent makes it slow; ECDSA by the same rules);
3. a valid self-signature, over the CertificationRequestInfo as sent;
4. not the account key (RFC 8555 §11.1);
5. a subjectAltName listing exactly the order's identifiers, no more, no fewer,
   and a subject CN, if any, that is one of them;
6. no ``cA=TRUE`` in BasicConstraints.
"""

from __future__ import annotations

from typing import Container, Iterable, List, NamedTuple, Optional, Tuple, Union

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtensionOID, NameOID, SignatureAlgorithmOID

from .identifiers import Identifier, identifiers_from_names, is_ip_address
from .keys import ec_key_problem, rsa_key_problem
from .problems import BadCSR

PublicKey = Union[rsa.RSAPublicKey, ec.EllipticCurvePublicKey]



#: Go's ``int``, which Boulder and Pebble read the version into.
_GO_INT = range(-2 ** 63, 2 ** 63)


class ReadCSR(NamedTuple):
    """A parsed CSR, and what its signature covers."""

    csr: x509.CertificateSigningRequest
    #: The ``version`` as sent when it is not 0 (v1), else None.  ``csr`` is then
    #: the same request with version 0, for parsing only: its own signature check
    #: fails, and :func:`signature_verifies` checks ``signed`` instead.
    version: Optional[int] = None
    #: The DER CertificationRequestInfo as sent (for a version other than 0).
    signed: bytes = b""


def read_csr(der: bytes) -> ReadCSR:
    """Parse a DER PKCS#10 CSR, or raise :class:`BadCSR`.

    RFC 2986 §4.1 defines only version 0 (v1), and ``cryptography`` refuses
    any other.  Boulder and Pebble parse CSRs with Go's ``crypto/x509``, which
    reads the version and ignores it, and certbot's ``acme`` library sent
    version 2 for years; so such a CSR is read with ``asn1crypto`` (which keeps
    the CertificationRequestInfo's bytes as sent, for the signature check) and
    parsed as the same request with version 0.
    """
    try:
        return ReadCSR(_parsed(x509.load_der_x509_csr(der)))
    except Exception as e:  # cryptography raises ValueError and friends
        refused = BadCSR(f"the CSR is not a valid PKCS#10 DER structure: {e}")
    # Imported here: only such CSRs need it, and start-up is quicker without it.
    from asn1crypto import csr as asn1_csr

    try:
        request = asn1_csr.CertificationRequest.load(der, strict=True)
        info = request["certification_request_info"]
        signed = info.dump()
        version = int(info["version"])
    except Exception:  # asn1crypto raises ValueError, TypeError and friends
        raise refused from None
    if version == 0:
        raise refused  # not the version: what cryptography said is the reason
    try:
        if version not in _GO_INT:
            raise ValueError(f"its version {version} does not fit in 64 bits")
        info["version"] = 0
        csr = _parsed(x509.load_der_x509_csr(request.dump()))
    except Exception as e:
        raise BadCSR(f"the CSR is not a valid PKCS#10 DER structure: {e}") from None
    return ReadCSR(csr, version, signed)


def _parsed(csr: x509.CertificateSigningRequest) -> x509.CertificateSigningRequest:
    csr.subject  # noqa: B018 - parse lazily decoded parts now
    csr.extensions  # noqa: B018
    return csr


def load_csr(der: bytes) -> x509.CertificateSigningRequest:
    """The parsed CSR (see :func:`read_csr`), or :class:`BadCSR`."""
    return read_csr(der).csr


def signature_verifies(read: ReadCSR, key: object) -> bool:
    """Whether the CSR's self-signature verifies with ``key``, over the
    CertificationRequestInfo as sent, with the algorithm the CSR names."""
    csr = read.csr
    if read.version is None:
        return csr.is_signature_valid
    try:
        params = csr.signature_algorithm_parameters
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(csr.signature, read.signed, params,  # type: ignore[arg-type]
                       csr.signature_hash_algorithm)  # type: ignore[arg-type]
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(csr.signature, read.signed, params)  # type: ignore[arg-type]
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            key.verify(csr.signature, read.signed)
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(csr.signature, read.signed,
                       csr.signature_hash_algorithm)  # type: ignore[arg-type]
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, TypeError, ValueError):
        return False
    return True


def version_warning(version: int) -> str:
    """Why a CSR with this ``version`` is unusual (a timeline warning)."""
    return (f"the CSR's version is {version}, not 0 (v1), the only version PKCS#10 "
            "defines (RFC 2986 §4.1); accepted as Let's Encrypt and Pebble accept it "
            "(Go's parser ignores the field), but stricter CAs refuse it "
            "(strict_csr=True does here)")


def check_key(key: object, rsa_keys: str = "letsencrypt") -> PublicKey:
    if isinstance(key, rsa.RSAPublicKey):
        why = rsa_key_problem(key, rsa_keys)
        if why:
            raise BadCSR(f"the CSR's RSA key {why}")
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        why = ec_key_problem(key, rsa_keys)
        if why:
            raise BadCSR(f"the CSR's EC key {why}")
        return key
    raise BadCSR(
        f"the CSR's key type ({type(key).__name__}) is not supported; use RSA or ECDSA"
    )


def spki(key: object) -> bytes:
    """The DER SubjectPublicKeyInfo of ``key``: equal for equal public keys."""
    return key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


#: The TLS Feature list (RFC 7633) that asks for OCSP Must-Staple: status_request alone.
MUST_STAPLE_FEATURES = [x509.TLSFeatureType.status_request]
#: Why Let's Encrypt refuses a Must-Staple CSR since it ended OCSP (2025).
MUST_STAPLE_GONE = (
    "the CSR asks for OCSP Must-Staple (a TLS Feature extension with status_request), "
    "which Let's Encrypt refuses since it ended OCSP in 2025: leave the extension out, or "
    "run this server with an OCSP responder (ocsp=True) to test stapling")


#: The CSR signature algorithms Let's Encrypt takes (Boulder's csr package): SHA-2
#: with RSA PKCS#1 v1.5 or with ECDSA; not SHA-1, MD5, SHA-224, RSA-PSS or DSA.
LETSENCRYPT_SIGNATURES = {
    SignatureAlgorithmOID.RSA_WITH_SHA256: "SHA-256 with RSA",
    SignatureAlgorithmOID.RSA_WITH_SHA384: "SHA-384 with RSA",
    SignatureAlgorithmOID.RSA_WITH_SHA512: "SHA-512 with RSA",
    SignatureAlgorithmOID.ECDSA_WITH_SHA256: "ECDSA with SHA-256",
    SignatureAlgorithmOID.ECDSA_WITH_SHA384: "ECDSA with SHA-384",
    SignatureAlgorithmOID.ECDSA_WITH_SHA512: "ECDSA with SHA-512",
}


#: Names for the signature algorithms Let's Encrypt refuses, in its refusals.
REFUSED_SIGNATURES = {
    SignatureAlgorithmOID.RSASSA_PSS: "RSASSA-PSS",
    SignatureAlgorithmOID.RSA_WITH_SHA224: "SHA-224 with RSA",
    SignatureAlgorithmOID.RSA_WITH_SHA1: "SHA-1 with RSA",
    SignatureAlgorithmOID.RSA_WITH_MD5: "MD5 with RSA",
    SignatureAlgorithmOID.ECDSA_WITH_SHA224: "ECDSA with SHA-224",
    SignatureAlgorithmOID.ECDSA_WITH_SHA1: "ECDSA with SHA-1",
    SignatureAlgorithmOID.DSA_WITH_SHA1: "DSA with SHA-1",
    SignatureAlgorithmOID.DSA_WITH_SHA224: "DSA with SHA-224",
    SignatureAlgorithmOID.DSA_WITH_SHA256: "DSA with SHA-256",
    SignatureAlgorithmOID.ED25519: "Ed25519",
    SignatureAlgorithmOID.ED448: "Ed448",
}


def signature_problem(csr: x509.CertificateSigningRequest) -> Optional[str]:
    """Why Let's Encrypt would refuse the algorithm ``csr`` is signed with, or None."""
    oid = csr.signature_algorithm_oid
    if oid in LETSENCRYPT_SIGNATURES:
        return None
    name = REFUSED_SIGNATURES.get(oid, f"the algorithm {oid.dotted_string}")
    return (f"the CSR is signed with {name}, which Let's Encrypt refuses; sign it with "
            "SHA-256, SHA-384 or SHA-512, with RSA (PKCS#1 v1.5) or ECDSA")


def asks_must_staple(csr: x509.CertificateSigningRequest) -> bool:
    """Whether ``csr`` requests OCSP Must-Staple: a TLS Feature extension (RFC 7633)
    listing exactly status_request (5).

    Boulder matched the extension only in that form (its ``containsMustStaple``
    compares the whole value), to copy it and later to refuse it; any other
    feature list is ignored, and the certificate is issued without it.
    """
    try:
        features = csr.extensions.get_extension_for_class(x509.TLSFeature).value
    except x509.ExtensionNotFound:
        return False
    return list(features) == MUST_STAPLE_FEATURES


class AcceptedCSR(NamedTuple):
    """A CSR that passed every rule, with what issuance takes from it."""

    csr: x509.CertificateSigningRequest
    public_key: PublicKey
    #: The DER SubjectPublicKeyInfo of ``public_key`` (its key identifier is
    #: taken from it).
    spki: bytes
    #: What is unusual about the CSR, though accepted (for the order's timeline).
    warnings: Tuple[str, ...] = ()


def accept_csr(
    der: bytes, identifiers: Iterable[Identifier], account_key: object,
    rsa_keys: str = "letsencrypt", *, strict: bool = False, cn_is_name: bool = True,
    refuse_must_staple: bool = False, signatures: str = "letsencrypt",
    blocked_keys: Container[bytes] = (),
) -> AcceptedCSR:
    """Apply every rule; return the CSR with its key, or raise :class:`BadCSR`.

    Args:
        rsa_keys: whose RSA key rules apply (:func:`.keys.rsa_key_problem`).
        strict: refuse a ``version`` other than 0 instead of accepting it with a
            warning (``AcmeConfig.strict_csr``).
        cn_is_name: the subject's CN is one of the names the CSR asks for, beside
            its subjectAltName, as Boulder reads a CSR: a CSR with a CN and no SAN
            names that one name, and a CN the order lacks is a name too many.
            False: only the SAN names count, as Pebble reads them.
        refuse_must_staple: refuse a CSR asking for OCSP Must-Staple
            (:func:`asks_must_staple`), as Let's Encrypt does since 2025.
        signatures: ``"letsencrypt"`` takes only :data:`LETSENCRYPT_SIGNATURES`;
            ``"pebble"`` any algorithm the key can verify, as Pebble.
        blocked_keys: SubjectPublicKeyInfo DER of keys revoked for keyCompromise.
    """
    read = read_csr(der)
    csr = read.csr
    warnings: Tuple[str, ...] = ()
    if read.version is not None:
        if strict:
            raise BadCSR(
                f"the CSR's version is {read.version}, but PKCS#10 defines only 0 (v1, "
                "RFC 2986 §4.1): make the CSR with version 0 (this server runs with "
                "strict_csr; Let's Encrypt accepts other versions)")
        warnings = (version_warning(read.version),)
    try:
        key = csr.public_key()
    except Exception as e:
        raise BadCSR(f"the CSR's public key cannot be read: {e}") from None
    # The key's size and exponent first: a huge exponent makes the signature check slow.
    public_key = check_key(key, rsa_keys)
    if signatures == "letsencrypt":
        why = signature_problem(csr)
        if why is not None:
            raise BadCSR(why)
    # RFC 8555 §7.4: the CSR is signed with the certificate key.
    if not signature_verifies(read, key):
        raise BadCSR("the CSR's self-signature does not verify with the key it contains")
    key_der = spki(public_key)
    if key_der in blocked_keys:
        raise BadCSR("the CSR's public key is forbidden: a certificate with it was revoked for "
                     "keyCompromise; make a new key")
    # RFC 8555 §11.1: the account key MUST NOT be the certificate key.
    if key_der == spki(account_key):
        raise BadCSR(
            "the CSR's public key is the account key; certificate keys must differ from "
            "account keys (RFC 8555 §11.1)"
        )
    # One pass over the extensions (load_csr refused duplicates) finds both
    # that the rules read.
    san = constraints = None
    for ext in csr.extensions:
        if ext.oid == ExtensionOID.SUBJECT_ALTERNATIVE_NAME:
            san = ext.value
        elif ext.oid == ExtensionOID.BASIC_CONSTRAINTS:
            constraints = ext.value
    _check_names(csr, san, set(identifiers), cn_is_name)
    _check_basic_constraints(constraints)
    if refuse_must_staple and asks_must_staple(csr):
        raise BadCSR(MUST_STAPLE_GONE)
    return AcceptedCSR(csr, public_key, key_der, warnings)


def check_csr(
    der: bytes, identifiers: Iterable[Identifier], account_key: object
) -> x509.CertificateSigningRequest:
    """Apply every rule; return the parsed CSR or raise :class:`BadCSR`."""
    return accept_csr(der, identifiers, account_key).csr


def _common_names(csr: x509.CertificateSigningRequest) -> List[str]:
    return [attr.value if isinstance(attr.value, str) else attr.value.decode(errors="replace")
            for attr in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]



def _check_names(csr: x509.CertificateSigningRequest,
                 san: Optional[x509.SubjectAlternativeName], wanted: "set[Identifier]",
                 cn_is_name: bool) -> None:
    common_names = _common_names(csr)
    # An IP address in the CN is checked against the order below, not read as a name.
    cn_names = [cn for cn in common_names if not is_ip_address(cn)] if cn_is_name else []
    if san is None and not cn_names:
        raise BadCSR(
            "the CSR has no subjectAltName extension"
            + (" and no subject CN" if cn_is_name else "")
            + "; list every identifier of the order in a subjectAltName ("
            + ", ".join(i.value for i in sorted(wanted)) + ")",
            pebble=("unauthorized", _pebble_mismatch(wanted, set())),
        )
    dns_names: List[str] = list(cn_names)
    ips: List[str] = []
    others = 0
    for name in san or ():
        if isinstance(name, x509.DNSName):
            dns_names.append(name.value)
        elif isinstance(name, x509.IPAddress):
            ips.append(str(name.value))
        else:
            others += 1
    found, bad = identifiers_from_names(dns_names, ips)
    if bad:
        raise BadCSR("the CSR's subjectAltName has invalid DNS names or IP addresses: "
                     + ", ".join(bad))
    if others:
        raise BadCSR(
            f"the CSR's subjectAltName has {others} entries that are neither DNS names "
            "nor IP addresses (e-mail, URI, ...); only the order's identifiers may appear"
        )
    names = {i.value for i in wanted}
    for cn in common_names:
        if cn.lower() not in names:
            raise BadCSR(f"the CSR's subject CN {cn!r} is not one of the order's identifiers")
    got = set(found)
    if got != wanted:
        parts: List[str] = []
        missing = sorted(wanted - got)
        extra = sorted(got - wanted)
        if missing:
            parts.append("missing " + ", ".join(str(i) for i in missing))
        if extra:
            parts.append("not in the order " + ", ".join(str(i) for i in extra))
        where = ("subjectAltName" if san is not None
                 else "subject CN, its only name (it has no subjectAltName),")
        raise BadCSR(
            f"the CSR's {where} must list exactly the order's identifiers: "
            + "; ".join(parts),
            pebble=("unauthorized", _pebble_mismatch(wanted, got)),
        )


def _pebble_mismatch(wanted: "set[Identifier]", got: "set[Identifier]") -> str:
    """Pebble's detail for a CSR whose names differ from the order's: it compares the
    counts of DNS names, then of IP addresses, then the sorted lists one by one."""
    for type_, count_word in (("dns", "DNSnames"), ("ip", "IP address")):
        ours = sorted(i.value for i in wanted if i.type == type_)
        theirs = sorted(i.value for i in got if i.type == type_)
        if len(ours) != len(theirs):
            return (f"Order includes different number of {count_word} identifiers than CSR "
                    "specifies")
    for type_, item_word in (("dns", "domain"), ("ip", "IP")):
        ours = sorted(i.value for i in wanted if i.type == type_)
        theirs = sorted(i.value for i in got if i.type == type_)
        for mine, other in zip(ours, theirs):
            if mine != other:
                return f'CSR is missing Order {item_word} "{mine}"'
    return "CSR names differ from the Order's"


def _check_basic_constraints(bc: Optional[x509.BasicConstraints]) -> None:
    if bc is not None and bc.ca:
        raise BadCSR("the CSR asserts cA=TRUE in BasicConstraints; ACME issues end-entity "
                     "certificates only")
