"""dns-persist-01 (draft-ietf-acme-dns-persist): one TXT record that stays.

The domain owner publishes, once, at ``_validation-persist.<name>``::

    "<issuer domain name>; accounturi=<account URL>[; policy=wildcard][; persistUntil=<unix seconds>]"

The value has the syntax of a CAA ``issue`` value (RFC 8659 §4.2).  The
challenge object carries no token but ``issuer-domain-names``: the names of
this CA a record may use (the server's ``caa_identities``).  A record proves
the name when it names one of them, its ``accounturi`` is exactly the URL of
the account asking, ``policy=wildcard`` (case-insensitive) is there if the
authorization is for a wildcard, and ``persistUntil``, if given, has not
passed on the server clock.  Build a record with :func:`dns_persist01_txt`.

Records are read as Let's Encrypt reads them (Boulder's ``va/dns_persist.go``):
the issuer name is compared in lower case without a trailing dot; records
naming other CAs are skipped; parameters with tags other than ``accounturi``,
``policy`` and ``persistUntil`` are ignored whatever their value; an empty
parameter (a stray ``;``), a parameter without ``=``, a known tag given twice or
a known tag's value with a space or a non-ASCII character makes the record
``malformed``, which is reported only if no other record authorizes.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Dict, List, Optional, Union

from ..protocol import problems
from ..protocol.challenges import DNS_PERSIST01_LABEL
from .base import Network, ValidationRequest
from .caa import PARAMETER_VALUE, CaaSyntaxError

#: The parameters the draft defines (tags compared case-insensitively); others are ignored.
KNOWN_PARAMETERS = ("accounturi", "policy", "persistuntil")
_UNIX_SECONDS = re.compile(r"^[+-]?[0-9]+$")


def dns_persist01_name(domain: str) -> str:
    """Where the record for ``domain`` (the base name, for a wildcard) goes."""
    return f"{DNS_PERSIST01_LABEL}.{domain.rstrip('.')}"


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


def issuer_of(value: str) -> str:
    """The issuer domain name a record names, as compared: lower case, no trailing dot."""
    return value.partition(";")[0].strip(" \t").lower().rstrip(".")


def parse_parameters(value: str) -> Dict[str, str]:
    """The known parameters of a record (tags lower-cased), checked as the draft asks.

    Raises:
        CaaSyntaxError: the record is malformed (see the module docstring).
    """
    parameters: Dict[str, str] = {}
    for part in value.split(";")[1:]:
        part = part.strip(" \t")
        if not part:
            raise CaaSyntaxError("an empty parameter (a ';' with nothing after it)")
        tag, eq, val = part.partition("=")
        tag, val = tag.strip(" \t"), val.strip(" \t")
        if not eq or not tag:
            raise CaaSyntaxError(f"{part!r} is not a tag=value parameter")
        key = tag.lower()
        if key not in KNOWN_PARAMETERS:
            continue  # the draft: a parameter with an unknown tag MUST be ignored
        if key in parameters:
            raise CaaSyntaxError(f"parameter {tag!r} is given twice")
        if not PARAMETER_VALUE.match(val):
            raise CaaSyntaxError(f"the value of {tag!r} has a space, a ';' or a non-ASCII "
                                 "character")
        parameters[key] = val
    if not parameters.get("accounturi"):
        raise CaaSyntaxError("the accounturi parameter is required")
    until = parameters.get("persistuntil")
    # Boulder reads it as a signed 64-bit integer.
    if until is not None and (not _UNIX_SECONDS.match(until) or not -2**63 <= int(until) < 2**63):
        raise CaaSyntaxError(f"persistUntil {until!r} is not Unix seconds")
    return parameters


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
        if issuer_of(value) not in ours:
            continue  # a record for another CA
        try:
            parameters = parse_parameters(value)
        except CaaSyntaxError as e:
            malformed.append(f"{value[:200]!r}: {e}")
            continue
        why = _refusal(parameters, request)
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
        now = request.now or dt.datetime.now(dt.timezone.utc)
        if now.timestamp() > int(until):  # any integer: no datetime range to overflow
            return (f"persistUntil {until}{_as_date(int(until))} has passed "
                    f"(server time {now.isoformat()})")
    return None


def _as_date(seconds: int) -> str:
    """`` (2026-01-02T03:04:05+00:00)``, or "" for seconds no datetime can hold."""
    try:
        return f" ({dt.datetime.fromtimestamp(seconds, dt.timezone.utc).isoformat()})"
    except (OverflowError, OSError, ValueError):
        return ""
