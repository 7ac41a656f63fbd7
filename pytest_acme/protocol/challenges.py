"""Where each challenge is answered: the names, paths and identifiers the RFCs fix.

One place for what a validator and a responder must agree on, byte for byte:
the validation authority (:mod:`pytest_acme.va`) checks against these, and the
responders (:mod:`pytest_acme.responders`, pebble-challtestsrv's stand-ins in
:mod:`pytest_acme.standalone`) answer with them.
"""

from __future__ import annotations

from cryptography.x509.oid import ObjectIdentifier

#: The path prefix of http-01 (RFC 8555 §8.3): the token follows it.
HTTP01_PATH = "/.well-known/acme-challenge/"

#: The ALPN protocol name of tls-alpn-01 (RFC 8737 §6.2).
ACME_TLS_1 = "acme-tls/1"

#: id-pe-acmeIdentifier (RFC 8737 §6.1): the critical extension of a tls-alpn-01
#: certificate holding the digest of the key authorization.
ACME_IDENTIFIER_OID = ObjectIdentifier("1.3.6.1.5.5.7.1.31")

#: The DER header of that extension's value, an OCTET STRING of 32 bytes (RFC 8737
#: §3: ``Authorization ::= OCTET STRING (SIZE (32))``); the SHA-256 digest follows.
ACME_IDENTIFIER_DER_PREFIX = b"\x04\x20"

#: The label under which dns-01 looks for its TXT record (RFC 8555 §8.4):
#: ``_acme-challenge.<name>``; dns-account-01 puts an account label before it.
DNS01_LABEL = "_acme-challenge"

#: The label of dns-persist-01's standing TXT record (draft-ietf-acme-dns-persist):
#: ``_validation-persist.<name>``.
DNS_PERSIST01_LABEL = "_validation-persist"
