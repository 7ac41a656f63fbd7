"""The in-memory certificate authority: roots, intermediates, leaves and CRLs.

Created per server in about a millisecond with ECDSA P-256 (the default);
``key_type="rsa"`` gives RSA-2048 issuers for clients that need them.

Chains follow Pebble's model: one key issues every leaf, and each chain (the
default one, and one per alternate root) holds its own certificate for that
key, under its own root, with ``chain_length - 1`` further intermediates of its
own in between.  A leaf therefore verifies through any chain, and a CRL signed
by the issuing key verifies under any of them.  Extra keys are made only when
a longer chain or alternate roots are configured.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import random
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, ExtensionOID, NameOID

from .protocol.csr import MUST_STAPLE_FEATURES
from .protocol.identifiers import IP, Identifier

PrivateKey = Union[ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey]

#: Issuers are backdated by this much so clock skew never makes them "not yet valid".
_BACKDATE = dt.timedelta(hours=1)


def _new_key(key_type: str) -> PrivateKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organization: Optional[str] = "pytest-acme") -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


#: Issuer names as Pebble gives them (ca/ca.go): a subject of one CN, the prefix and
#: six hex digits drawn for each certificate, e.g. ``Pebble Root CA 0f3d1a``.
PEBBLE_ROOT_PREFIX = "Pebble Root CA "
PEBBLE_INTERMEDIATE_PREFIX = "Pebble Intermediate CA "


class Issuer:
    """A CA certificate and its key."""

    def __init__(self, cert: x509.Certificate, key: PrivateKey) -> None:
        self.cert = cert
        self.key = key
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        self.key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self._ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        self.aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(self._ski)
        self.aki_extension = _encoded(self.aki, critical=False)
        #: The key identifier leaves name in their AKI (and ARI certIDs carry).
        self.key_id: bytes = self._ski.digest
        self.subject = cert.subject  # parsed once: leaves name it as their issuer


def _key_usage(key_encipherment: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=key_encipherment,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False,
    )


def _encoded(value: x509.ExtensionType, critical: bool) -> x509.Extension:
    """``value`` as the builder takes it, encoded once: the builder copies the
    DER of an UnrecognizedExtension, where it would encode ``value`` again for
    every leaf.  The certificate's bytes are the same either way."""
    return x509.Extension(value.oid, critical,
                          x509.UnrecognizedExtension(value.oid, value.public_bytes()))


# A leaf's constant extensions, made and encoded once.
_LEAF_BASIC_CONSTRAINTS = _encoded(x509.BasicConstraints(ca=False, path_length=None),
                                   critical=True)
_LEAF_KEY_USAGE = {rsa_key: _encoded(_key_usage(rsa_key), critical=True)
                   for rsa_key in (True, False)}
_LEAF_EKU = _encoded(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
_EMPTY_NAME = x509.Name([])
#: OCSP Must-Staple: the TLS Feature extension (RFC 7633 §4) listing status_request
#: alone.  Non-critical, as Boulder and Pebble issued it whatever the CSR said.
_MUST_STAPLE = _encoded(x509.TLSFeature(MUST_STAPLE_FEATURES), critical=False)


def _ca_cert(
    subject: x509.Name,
    key: PrivateKey,
    issuer: Optional[Issuer],
    now: dt.datetime,
    serial: int,
    path_length: Optional[int],
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(issuer.aki, critical=False)
    signer = issuer.key if issuer else key
    return builder.sign(signer, hashes.SHA256())


#: RFC 5280 §5.3.1 reason codes as cryptography's flags (0, unspecified, is left out).
CRL_REASONS = {
    1: x509.ReasonFlags.key_compromise, 2: x509.ReasonFlags.ca_compromise,
    3: x509.ReasonFlags.affiliation_changed, 4: x509.ReasonFlags.superseded,
    5: x509.ReasonFlags.cessation_of_operation, 6: x509.ReasonFlags.certificate_hold,
    8: x509.ReasonFlags.remove_from_crl, 9: x509.ReasonFlags.privilege_withdrawn,
    10: x509.ReasonFlags.aa_compromise,
}


class Chain:
    """One path from the issuing key to a root: ``intermediates`` nearest the leaf first."""

    def __init__(self, root: Issuer, intermediates: List[Issuer]) -> None:
        self.root = root
        self.intermediates = intermediates

    @property
    def pem(self) -> bytes:
        """The intermediates as a PEM chain (what follows the leaf; the root is not sent)."""
        return b"".join(i.cert_pem for i in self.intermediates)


class CertificateAuthority:
    """Roots and intermediates; :meth:`issue` signs leaves with the issuing key.

    Args:
        key_type: ``"ecdsa"`` (P-256, default) or ``"rsa"`` (2048 bits).
        rng: source of serial numbers (the server's seeded generator).
        now: the instant the CA is created at (the server clock).
        chain_length: intermediates between a leaf and its root (at least 1).
        alternate_roots: further chains, each under a root of its own.
        names: ``"pytest-acme"`` (``O=pytest-acme, CN=pytest-acme root 0f3d1a``) or
            ``"pebble"`` (``CN=Pebble Root CA 0f3d1a``, ``CN=Pebble Intermediate CA
            5e2b07``: what suites written against Pebble look for in the chain).
    """

    def __init__(self, key_type: str, rng: random.Random, now: dt.datetime,
                 chain_length: int = 1, alternate_roots: int = 0,
                 names: str = "pytest-acme") -> None:
        self._rng = rng
        self._key_type = key_type
        self._pebble_names = names == "pebble"
        #: CRL Distribution Points and Authority Information Access extensions by
        #: (kind, URL): one per host name clients use.
        self._url_extensions: Dict[Tuple[str, str], x509.Extension] = {}
        suffix = f"{rng.getrandbits(24):06x}"
        issuing_key = _new_key(key_type)
        # Every chain's issuing certificate has the same key and subject, so a leaf
        # verifies through any of them.
        issuing_name = self._subject(PEBBLE_INTERMEDIATE_PREFIX, f"pytest-acme intermediate "
                                     f"{suffix}")
        self.chains = [
            self._chain(suffix if n == 0 else f"{suffix} alternate {n}", issuing_key,
                        issuing_name, now, chain_length)
            for n in range(1 + alternate_roots)
        ]
        self.root = self.chains[0].root
        #: The issuing intermediate of the default chain (every chain's has the same
        #: key and name).
        self.intermediate = self.chains[0].intermediates[0]

    def _subject(self, pebble_prefix: str, own: str) -> x509.Name:
        """An issuer's subject: ``own`` under O=pytest-acme, or Pebble's prefix and six
        hex digits of its own (drawn only in Pebble's style, so the seeded draws of
        the default style stay as they were)."""
        if self._pebble_names:
            return _name(f"{pebble_prefix}{self._rng.getrandbits(24):06x}", None)
        return _name(own)

    def _chain(self, name: str, issuing_key: PrivateKey, issuing_name: x509.Name,
               now: dt.datetime, length: int) -> Chain:
        root_key = _new_key(self._key_type)
        root = Issuer(_ca_cert(self._subject(PEBBLE_ROOT_PREFIX, f"pytest-acme root {name}"),
                               root_key, None, now, self._serial(), None), root_key)
        above, upper = root, []
        for level in range(length - 1, 0, -1):
            key = _new_key(self._key_type)
            subject = self._subject(PEBBLE_INTERMEDIATE_PREFIX,
                                    f"pytest-acme intermediate {name} #{level}")
            above = Issuer(_ca_cert(subject, key, above, now, self._serial(), level), key)
            upper.append(above)
        issuing = Issuer(_ca_cert(issuing_name, issuing_key, above, now, self._serial(), 0),
                         issuing_key)
        return Chain(root, [issuing] + upper[::-1])

    @property
    def roots_pem(self) -> bytes:
        """The default chain's root: what clients trust for issued certificates."""
        return self.root.cert_pem

    @property
    def chain(self) -> List[Issuer]:
        """The issuers the default chain carries, nearest first (the root is not sent)."""
        return list(self.chains[0].intermediates)

    @property
    def issuers(self) -> List[Issuer]:
        """The issuing intermediates (one CRL each); today one key issues every leaf."""
        return [self.intermediate]

    def chain_pem(self, leaf: x509.Certificate, n: int = 0) -> bytes:
        """The PEM chain of ``leaf`` through chain ``n`` (0: default), leaf first."""
        return leaf.public_bytes(serialization.Encoding.PEM) + self.chains[n].pem

    def _serial(self) -> int:
        # 127 random bits with the top bit clear: positive, at most 16 octets (RFC 5280 §4.1.2.2).
        return self._rng.getrandbits(127) | 1

    def issue(
        self,
        public_key: object,
        identifiers: Sequence[Identifier],
        not_before: dt.datetime,
        not_after: dt.datetime,
        *,
        common_name: bool = True,
        crl_url: Optional[str] = None,
        ocsp_url: Optional[str] = None,
        must_staple: bool = False,
    ) -> Tuple[x509.Certificate, bytes]:
        """Sign a leaf for ``identifiers``; returns it and the default PEM chain (leaf
        first).  ``common_name=False`` leaves the subject empty; ``crl_url`` goes into
        a CRL Distribution Points extension, ``ocsp_url`` into an Authority
        Information Access extension (id-ad-ocsp, RFC 5280 §4.2.2.1);
        ``must_staple`` adds the TLS Feature extension (RFC 7633)."""
        issuer = self.intermediate
        sans: List[x509.GeneralName] = []
        for ident in identifiers:
            if ident.type == IP:
                sans.append(x509.IPAddress(ipaddress.ip_address(ident.value)))
            else:
                sans.append(x509.DNSName(ident.value))
        # The CN is the first DNS name that fits (64 characters); never an IP
        # address, which clients reading the CN as a DNS name choke on.
        cn = next(
            (i.value for i in identifiers if i.type != IP and len(i.value) <= 64), None
        ) if common_name else None
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]) if cn else _EMPTY_NAME
        rsa_key = isinstance(public_key, rsa.RSAPublicKey)
        extensions = [
            # RFC 5280 §4.2.1.6: with an empty subject the SAN is critical.
            x509.Extension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME, not cn,
                           x509.SubjectAlternativeName(sans)),
            _LEAF_BASIC_CONSTRAINTS,
            # RSA keys may encipher keys (TLS RSA key exchange); EC keys only sign.
            _LEAF_KEY_USAGE[rsa_key],
            _LEAF_EKU,
            x509.Extension(ExtensionOID.SUBJECT_KEY_IDENTIFIER, False,
                           x509.SubjectKeyIdentifier.from_public_key(
                               public_key)),  # type: ignore[arg-type]
            issuer.aki_extension,
        ]
        if crl_url:
            extensions.append(self._url_extension("crl", crl_url))
        if ocsp_url:
            extensions.append(self._url_extension("ocsp", ocsp_url))
        if must_staple:
            extensions.append(_MUST_STAPLE)
        # The builder made whole rather than one setter at a time: each setter
        # copies the builder and checks what this code already knows (the
        # extensions are distinct, the serial is in range).  The dates still go
        # through their setters, which bring them to UTC.
        builder = x509.CertificateBuilder(
            issuer_name=issuer.subject,
            subject_name=subject,
            public_key=public_key,  # type: ignore[arg-type]
            serial_number=self._serial(),
            extensions=extensions,
        ).not_valid_before(not_before).not_valid_after(not_after)
        leaf = builder.sign(issuer.key, hashes.SHA256())
        return leaf, self.chain_pem(leaf)

    def _url_extension(self, kind: str, url: str) -> x509.Extension:
        """The CRL Distribution Points (``kind="crl"``) or OCSP Authority Information
        Access (``"ocsp"``) extension naming ``url``, encoded once per URL."""
        extension = self._url_extensions.get((kind, url))
        if extension is None:
            if len(self._url_extensions) >= 64:  # one URL per host name; stay bounded
                self._url_extensions.clear()
            name = x509.UniformResourceIdentifier(url)
            value: x509.ExtensionType
            if kind == "crl":
                value = x509.CRLDistributionPoints([x509.DistributionPoint(
                    full_name=[name], relative_name=None, reasons=None, crl_issuer=None)])
            else:
                value = x509.AuthorityInformationAccess(
                    [x509.AccessDescription(AuthorityInformationAccessOID.OCSP, name)])
            extension = self._url_extensions[(kind, url)] = _encoded(value, critical=False)
        return extension

    def crl(self, issuer: Issuer, revoked: Iterable[Tuple[int, dt.datetime, int]],
            number: int, this_update: dt.datetime, next_update: dt.datetime
            ) -> x509.CertificateRevocationList:
        """A CRL (RFC 5280 §5) of ``issuer``: ``revoked`` is (serial, when, reason)."""
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.cert.subject)
            .last_update(this_update)
            .next_update(next_update)
            .add_extension(x509.CRLNumber(number), critical=False)
            .add_extension(issuer.aki, critical=False)
        )
        for serial, when, reason in revoked:
            entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
            if reason in CRL_REASONS:
                entry = entry.add_extension(x509.CRLReason(CRL_REASONS[reason]), critical=False)
            builder = builder.add_revoked_certificate(entry.build())
        return builder.sign(issuer.key, hashes.SHA256())
