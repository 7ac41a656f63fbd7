"""The in-memory certificate authority: a root, one intermediate, and leaves.

Created per server in about a millisecond with ECDSA P-256 (the default);
``key_type="rsa"`` gives RSA-2048 issuers for clients that need them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import random
from typing import List, Optional, Sequence, Tuple, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .protocol.identifiers import IP, Identifier

PrivateKey = Union[ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey]

#: Issuers are backdated by this much so clock skew never makes them "not yet valid".
_BACKDATE = dt.timedelta(hours=1)


def _new_key(key_type: str) -> PrivateKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pytest-acme"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


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
        self.subject = cert.subject  # parsed once: leaves name it as their issuer


def _key_usage(key_encipherment: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=key_encipherment,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False,
    )


# A leaf's constant extensions, made once.
_LEAF_BASIC_CONSTRAINTS = x509.BasicConstraints(ca=False, path_length=None)
_LEAF_KEY_USAGE = {True: _key_usage(True), False: _key_usage(False)}
_LEAF_EKU = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])


def _ca_cert(
    subject: str,
    key: PrivateKey,
    issuer: Optional[Issuer],
    now: dt.datetime,
    serial: int,
    path_length: Optional[int],
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.subject if issuer else _name(subject))
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


class CertificateAuthority:
    """A root and one intermediate; :meth:`issue` signs leaves with the intermediate.

    Args:
        key_type: ``"ecdsa"`` (P-256, default) or ``"rsa"`` (2048 bits).
        rng: source of serial numbers (the server's seeded generator).
        now: the instant the CA is created at (the server clock).
    """

    def __init__(self, key_type: str, rng: random.Random, now: dt.datetime) -> None:
        self._rng = rng
        suffix = "%06x" % rng.getrandbits(24)
        root_key = _new_key(key_type)
        self.root = Issuer(
            _ca_cert(f"pytest-acme root {suffix}", root_key, None, now, self._serial(), None),
            root_key,
        )
        int_key = _new_key(key_type)
        self.intermediate = Issuer(
            _ca_cert(
                f"pytest-acme intermediate {suffix}", int_key, self.root, now, self._serial(), 0
            ),
            int_key,
        )

    @property
    def roots_pem(self) -> bytes:
        return self.root.cert_pem

    @property
    def chain(self) -> List[Issuer]:
        """The issuers a leaf's chain carries, nearest first (the root is not sent)."""
        return [self.intermediate]

    def _serial(self) -> int:
        # 127 random bits with the top bit clear: positive, at most 16 octets (RFC 5280 §4.1.2.2).
        return self._rng.getrandbits(127) | 1

    def issue(
        self,
        public_key: object,
        identifiers: Sequence[Identifier],
        not_before: dt.datetime,
        not_after: dt.datetime,
    ) -> Tuple[x509.Certificate, bytes]:
        """Sign a leaf for ``identifiers``; returns it and the PEM chain (leaf first)."""
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
        )
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])
        rsa_key = isinstance(public_key, rsa.RSAPublicKey)
        leaf = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer.subject)
            .public_key(public_key)  # type: ignore[arg-type]
            .serial_number(self._serial())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(sans), critical=not cn)
            .add_extension(_LEAF_BASIC_CONSTRAINTS, critical=True)
            # RSA keys may encipher keys (TLS RSA key exchange); EC keys only sign.
            .add_extension(_LEAF_KEY_USAGE[rsa_key], critical=True)
            .add_extension(_LEAF_EKU, critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(public_key),  # type: ignore[arg-type]
                critical=False,
            )
            .add_extension(issuer.aki, critical=False)
            .sign(issuer.key, hashes.SHA256())
        )
        chain = leaf.public_bytes(serialization.Encoding.PEM) + b"".join(
            i.cert_pem for i in self.chain
        )
        return leaf, chain
