"""dns-01 (RFC 8555 §8.4): a TXT record at ``_acme-challenge.<name>``.

Some TXT value there must be base64url(SHA-256(key authorization)), without
padding, compared exactly (RFC 8555 §8.4); other values may sit beside it
(several challenges for one name, e.g. a wildcard and its base).  A record of
several strings counts as their concatenation, as Let's Encrypt reads it.
No TXT record, or none with the value, is ``unauthorized``
(Boulder's and Pebble's type); a failed lookup is ``dns``.
"""

from __future__ import annotations

import hashlib

import josepy

from ..protocol import problems
from ..protocol.challenges import DNS01_LABEL
from .base import Network, ValidationRequest


def txt_value(key_authorization: str) -> str:
    """The TXT record value that proves a dns-01 challenge."""
    digest = hashlib.sha256(key_authorization.encode("ascii")).digest()
    return josepy.b64.b64encode(digest).decode("ascii")


def validate(net: Network, request: ValidationRequest) -> None:
    check_txt(net, request, f"{DNS01_LABEL}.{request.identifier.value}")


def check_txt(net: Network, request: ValidationRequest, name: str, context: str = "") -> None:
    """Pass if some TXT value at ``name`` is the digest of the key authorization.

    ``context`` (e.g. how ``name`` was derived) goes into the problem's detail.

    Raises:
        Unauthorized: no TXT record at ``name``, or none with the expected value.
        DNS: the lookup failed (SERVFAIL, NXDOMAIN, timeout).
    """
    request.records.append({"hostname": request.identifier.value})
    values = net.resolver.lookup(name, "TXT")
    expected = txt_value(request.key_authorization)
    if expected in values:
        return
    if not values:
        note = f"; {context}" if context else ""
        raise problems.Unauthorized(
            f"no TXT record found at {name} (looked up in {net.resolver}{note}); "
            f"expected one with value {expected!r}")
    found = ", ".join(repr(v[:100]) for v in values[:5])
    note = f" ({context})" if context else ""
    raise problems.Unauthorized(
        f"incorrect TXT record at {name}{note}: expected {expected!r}, found {found}")
