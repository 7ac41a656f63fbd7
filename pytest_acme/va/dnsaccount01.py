"""dns-account-01 (draft-ietf-acme-dns-account-label): dns-01 under an account label.

The TXT record sits at ``_<label>._acme-challenge.<name>``, where ``<label>``
is the first 10 bytes of SHA-256(account URL) in base32, lower-cased (16
characters, no padding).  Its value is the dns-01 digest of the key
authorization.  Several accounts (or ACME clients) can so prove the same name
at once without overwriting one another's records::

    dns_account01_name("https://example.com/acme/acct/ExampleAccount", "example.org")
    # '_ujmmovf2vn55tgye._acme-challenge.example.org'
"""

from __future__ import annotations

import base64
import hashlib

from ..protocol.challenges import DNS01_LABEL
from .base import Network, ValidationRequest
from .dns01 import check_txt


def dns_account01_label(account_url: str) -> str:
    """``_`` + lower(base32(SHA-256(account_url)[:10])): the account's label."""
    digest = hashlib.sha256(account_url.encode("utf-8")).digest()[:10]
    return "_" + base64.b32encode(digest).decode("ascii").lower()


def dns_account01_name(account_url: str, domain: str) -> str:
    """The name whose TXT record proves ``domain`` (the base name, for a wildcard)."""
    return f"{dns_account01_label(account_url)}.{DNS01_LABEL}.{domain.rstrip('.')}"


def validate(net: Network, request: ValidationRequest) -> None:
    check_txt(net, request, dns_account01_name(request.account_url, request.identifier.value),
              f"the label is derived from the account URL {request.account_url}")
