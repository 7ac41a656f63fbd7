"""dns-persist-01 (draft-ietf-acme-dns-persist): one TXT record that stays.

The domain owner publishes, once, at ``_validation-persist.<name>``::

    "<issuer domain name>; accounturi=<account URL>[; policy=wildcard][; persistUntil=<unix seconds>]"

The value has the syntax of a CAA ``issue`` value (RFC 8659 §4.2).  The
challenge object carries no token but ``issuer-domain-names``: the names of
this CA a record may use (the server's ``caa_identities``).  A record proves
the name when it names one of them, its ``accounturi`` is exactly the URL of
the account asking, ``policy=wildcard`` (case-insensitive) is there if the
authorization is for a wildcard, and ``persistUntil``, if given, has not
passed on the server clock.  Unknown parameters are ignored; records naming
other CAs are skipped.  Build a record with :func:`dns_persist01_txt`.
"""

from __future__ import annotations

import datetime as dt
from typing import List, Optional, Union

from ..protocol import problems
from .base import Network, ValidationRequest
from .caa import CaaSyntaxError, parse_issue_value

LABEL = "_validation-persist"


def dns_persist01_name(domain: str) -> str:
    """Where the record for ``domain`` (the base name, for a wildcard) goes."""
    return f"{LABEL}.{domain.rstrip('.')}"


def dns_persist01_txt(
    issuer: str,
    account_url: str,
    *,
    wildcard: bool = False,
    persist_until: Union[dt.datetime, int, None] = None,
) -> str:
    """The TXT value authorizing ``account_url`` at the CA known as ``issuer``.

    Args:
        issuer: one of the challenge's ``issuer-domain-names``.
        account_url: the account's URL (the ``Location`` of newAccount).
        wildcard: add ``policy=wildcard`` (needed for ``*.<domain>``).
        persist_until: add ``persistUntil``: a datetime or Unix seconds.

    Example::

        dns_persist01_txt("pytest-acme.test", "https://127.0.0.1:14000/acme/acct/1", wildcard=True)
        # 'pytest-acme.test; accounturi=https://127.0.0.1:14000/acme/acct/1; policy=wildcard'
    """
    parts = [issuer, f"accounturi={account_url}"]
    if wildcard:
        parts.append("policy=wildcard")
    if persist_until is not None:
        seconds = (int(persist_until.timestamp()) if isinstance(persist_until, dt.datetime)
                   else int(persist_until))
        parts.append(f"persistUntil={seconds}")
    return "; ".join(parts)


def validate(net: Network, request: ValidationRequest) -> None:
    name = dns_persist01_name(request.identifier.value)
    request.records.append({"hostname": request.identifier.value})
    values = net.resolver.lookup(name, "TXT")
    ours = {i.lower() for i in request.issuer_domain_names}
    example = dns_persist01_txt(request.issuer_domain_names[0], request.account_url,
                                wildcard=request.wildcard)
    if not values:
        raise problems.Unauthorized(
            f"no TXT record found at {name} (looked up in {net.resolver}); expected one "
            f"like {example!r}")
    malformed: List[str] = []
    refused: List[str] = []
    for value in values:
        issuer = value.partition(";")[0].strip(" \t").lower()
        if issuer not in ours:
            continue  # a record for another CA
        try:
            parsed = parse_issue_value(value, unique=True)
            if not parsed.parameters.get("accounturi"):
                raise CaaSyntaxError("the accounturi parameter is required")
            until = parsed.parameters.get("persistuntil")
            if until is not None and not until.isdigit():
                raise CaaSyntaxError(f"persistUntil {until!r} is not Unix seconds")
        except CaaSyntaxError as e:
            malformed.append(f"{value[:200]!r}: {e}")
            continue
        why = _refusal(parsed.parameters, request)
        if why is None:
            return
        refused.append(f"{value[:200]!r}: {why}")
    if malformed:
        raise problems.Malformed(
            f"malformed dns-persist-01 record at {name}: " + "; ".join(malformed))
    if refused:
        raise problems.Unauthorized(
            f"the dns-persist-01 records at {name} do not authorize this request: "
            + "; ".join(refused))
    found = ", ".join(repr(v[:100]) for v in values[:5])
    raise problems.Unauthorized(
        f"no TXT record at {name} names this CA ({', '.join(request.issuer_domain_names)}); "
        f"found {found}; expected one like {example!r}")


def _refusal(parameters: dict, request: ValidationRequest) -> Optional[str]:
    uri = parameters["accounturi"]
    if uri != request.account_url:
        # The draft: simple string comparison, no normalisation.
        return f"accounturi is {uri}, but the account asking is {request.account_url}"
    if request.wildcard and parameters.get("policy", "").lower() != "wildcard":
        return (f"the authorization is for *.{request.identifier.value}, which needs "
                "policy=wildcard")
    until = parameters.get("persistuntil")
    if until is not None:
        limit = dt.datetime.fromtimestamp(int(until), dt.timezone.utc)
        now = request.now or dt.datetime.now(dt.timezone.utc)
        if now > limit:
            return (f"persistUntil {until} ({limit.isoformat()}) has passed "
                    f"(server time {now.isoformat()})")
    return None
