"""Identifiers: ``dns`` (RFC 8555 §9.7.7) and ``ip`` (RFC 8738).

:func:`parse_identifiers` turns a newOrder ``identifiers`` array into
normalised :class:`Identifier` values, or raises the problem a client should
see (``malformed``, ``unsupportedIdentifier`` or ``rejectedIdentifier``, with
one subproblem per refused identifier, RFC 8555 §6.7.1).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import problems

DNS = "dns"
IP = "ip"

#: Let's Encrypt's limit on identifiers per order.
MAX_IDENTIFIERS = 100
#: The most labels a DNS name may have, by name rules (``AcmeConfig.name_rules``):
#: Boulder's policy allows 10, counting a wildcard's ``*``; Pebble has no limit.
MAX_LABELS: Dict[str, Optional[int]] = {"letsencrypt": 10, "pebble": None}

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z")


@dataclass(frozen=True, order=True)
class Identifier:
    type: str
    value: str

    @property
    def wildcard(self) -> bool:
        return self.type == DNS and self.value.startswith("*.")

    @property
    def base(self) -> str:
        """The name an authorization is for: the wildcard's base name, or the value."""
        return self.value[2:] if self.wildcard else self.value

    def to_json(self) -> Dict[str, str]:
        return {"type": self.type, "value": self.value}

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


# Kept for the names seen lately: a name is checked at newOrder and again, as the
# client usually spells it the same way, in the finalize CSR.  (Refused names
# raise, and are not kept.)
@functools.lru_cache(maxsize=1024)
def normalise_dns(value: str) -> str:
    """Lower-case ``value`` and check it is a usable name.

    Raises:
        ValueError: with a sentence saying what is wrong.
    """
    if not value:
        raise ValueError("the name is empty")
    if not value.isascii():
        raise ValueError(
            "the name is not ASCII; send internationalised names in their A-label "
            "(punycode, 'xn--...') form (RFC 8555 §7.1.4)"
        )
    # Only a value with a ':' (IPv6) or ending in a digit (IPv4) can be an address.
    if ":" in value or value.rstrip("].")[-1:].isdigit():
        try:
            ipaddress.ip_address(value.strip("[]"))
        except ValueError:
            pass
        else:
            raise ValueError(
                "this is an IP address; send IP addresses as identifiers of type 'ip' "
                "(RFC 8738)"
            )
    if value.endswith("."):
        raise ValueError(
            "the name ends in a dot; send it without one ('example.com', not "
            "'example.com.'), as Let's Encrypt and Pebble refuse it"
        )
    name = value.lower()
    if len(name) > 253:
        raise ValueError(f"the name is {len(name)} characters long; at most 253 are allowed")
    labels = name.split(".")
    wildcard = labels[0] == "*"
    if wildcard:
        labels = labels[1:]
    if any("*" in label for label in labels):
        raise ValueError(
            "a wildcard may only be the whole left-most label, once ('*.example.com')"
        )
    if len(labels) < 2:
        raise ValueError("the name needs at least two labels ('example.test', not 'example')")
    for label in labels:
        if not label:
            raise ValueError("the name has an empty label (two dots in a row, or a leading dot)")
        if not _LABEL.match(label):
            if len(label) > 63:
                raise ValueError(f"the label {label[:20]!r}... is longer than 63 characters")
            raise ValueError(
                f"the label {label!r} has characters other than letters, digits and inner "
                "hyphens (no ports, paths, spaces or underscores)"
            )
        if label.startswith("xn--"):
            try:
                label.encode("ascii").decode("idna")
            except UnicodeError:
                raise ValueError(f"the label {label!r} is not valid punycode") from None
        elif label[2:4] == "--":
            raise ValueError(f"the label {label!r} has '--' in positions 3 and 4 but is not 'xn--'")
    if labels[-1].isdigit():
        raise ValueError(
            "the last label is all digits, so this looks like an IP address; "
            "send IP addresses as identifiers of type 'ip' (RFC 8738)"
        )
    return name


def normalise_ip(value: str) -> str:
    """The canonical text form of an IP address (RFC 8738 §3, RFC 5952).

    Raises:
        ValueError: with a sentence saying what is wrong.
    """
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(
            "not an IPv4 address in dotted-decimal form or an IPv6 address "
            "(RFC 8738 §3)"
        ) from None
    if "%" in value:
        raise ValueError("IPv6 zone identifiers ('%eth0') are not allowed in certificates")
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        raise ValueError(
            f"this is an IPv4-mapped IPv6 address; send the IPv4 address {addr.ipv4_mapped} "
            "instead"
        )
    return str(addr)


def is_ip_address(value: str) -> bool:
    """Whether ``value`` is an IPv4 or IPv6 address in text form."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


_NORMALISERS: Dict[str, Callable[[str], str]] = {DNS: normalise_dns, IP: normalise_ip}


def parse_identifier(obj: Any, max_labels: Optional[int] = None) -> Identifier:
    """One identifier object from a request, normalised; a DNS name of more than
    ``max_labels`` labels (see :data:`MAX_LABELS`) is refused.

    Raises:
        Malformed, UnsupportedIdentifier or RejectedIdentifier.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str) or not isinstance(
        obj.get("value"), str
    ):
        raise problems.Malformed(
            'each identifier must be an object {"type": "dns"|"ip", "value": "..."}; '
            f"got {_short(obj)}"
        )
    type_, value = obj["type"], obj["value"]
    normalise = _NORMALISERS.get(type_)
    if normalise is not None:
        try:
            ident = Identifier(type_, normalise(value))
            labels = ident.value.count(".") + 1
            if type_ == DNS and max_labels is not None and labels > max_labels:
                raise ValueError(f"the name has {labels} labels; at most {max_labels} are "
                                 "allowed (Let's Encrypt's policy)")
            return ident
        except ValueError as e:
            raise problems.RejectedIdentifier(
                f"{type_} identifier {value[:300]!r} refused: {e}",
                identifier={"type": type_, "value": value},
                pebble=_pebble_refusal(type_, value),
            ) from None
    # No "identifier" member here: clients parse it as an ACME identifier, and
    # certbot's library fails on types it does not know.
    raise problems.UnsupportedIdentifier(
        f"identifier type {type_[:40]!r} (value {value[:100]!r}) is not supported; "
        "this server accepts 'dns' and 'ip'",
        pebble=("malformed", f"Order includes unknown identifier type {type_[:40]}"),
    )


def _pebble_refusal(type_: str, value: str) -> Optional[Tuple[str, str]]:
    """Pebble's type and wording where it refuses a name for the same reason."""
    if type_ == DNS and value.endswith("."):
        return ("malformed", "Order included a DNS identifier with a value ending in a "
                f"period: {json.dumps(value[:300])}\n")
    return None


def blocked_by(identifier: Identifier, blocklist: Sequence[str]) -> Optional[str]:
    """The blocklist entry that covers a DNS ``identifier``: the entry itself or any
    name below it, label by label (``a.blocked.test`` is under ``blocked.test``,
    ``xblocked.test`` is not), as Pebble's ``domainBlocklist`` matches."""
    if identifier.type != DNS:
        return None
    name = identifier.base
    for entry in blocklist:
        if name == entry or name.endswith("." + entry):
            return entry
    return None


def refuse_blocked(identifiers: Sequence[Identifier], blocklist: Sequence[str]) -> None:
    """Refuse identifiers the server's policy forbids (RFC 8555 §7.4: rejectedIdentifier).

    Raises:
        RejectedIdentifier: for the first blocked identifier, as Pebble reports it.
    """
    for ident in identifiers:
        entry = blocked_by(ident, blocklist)
        if entry is not None:
            raise problems.RejectedIdentifier(
                f"{ident.value} is refused by this server's policy: {entry} and every name "
                "below it are on its domain blocklist (domain_blocklist)",
                pebble=("rejectedIdentifier", "Order included an identifier for which "
                        f'issuance is forbidden by policy: "{ident.value}"'))


def parse_identifiers(value: Any, max_labels: Optional[int] = None) -> List[Identifier]:
    """A newOrder ``identifiers`` array: normalised, de-duplicated, order kept; DNS
    names of more than ``max_labels`` labels are refused.

    Several refused identifiers give one problem with a subproblem each.
    """
    if not isinstance(value, list) or not value:
        raise problems.Malformed(
            "'identifiers' must be a non-empty array of identifier objects"
        )
    if len(value) > MAX_IDENTIFIERS:
        raise problems.Malformed(
            f"the order has {len(value)} identifiers; at most {MAX_IDENTIFIERS} are allowed"
        )
    result: List[Identifier] = []
    failures: List[problems.Problem] = []
    for item in value:
        try:
            ident = parse_identifier(item, max_labels)
        except (problems.RejectedIdentifier, problems.UnsupportedIdentifier) as p:
            failures.append(p)
            continue
        if ident not in result:
            result.append(ident)
    if len(failures) == 1:
        raise failures[0]
    if failures:
        kinds = {type(p) for p in failures}
        cls = kinds.pop() if len(kinds) == 1 else problems.Compound
        # As Boulder: the first refusal whole, then a count; each subproblem says
        # why for its identifier (listing every detail here repeats their advice).
        raise cls(
            f"{len(failures)} of {len(value)} identifiers were refused: {failures[0].detail} "
            f"(and {len(failures) - 1} more: see the subproblems, one per identifier)",
            subproblems=failures,
            pebble=failures[0].pebble,  # Pebble stops at the first
        )
    return result


def identifiers_from_names(dns_names: List[str], ips: List[str]) -> Tuple[List[Identifier], List[str]]:
    """Identifiers from CSR SAN entries; also returns the entries that do not normalise
    (an IP address with the reason)."""
    out: List[Identifier] = []
    bad: List[str] = []
    for name in dns_names:
        try:
            out.append(Identifier(DNS, normalise_dns(name)))
        except ValueError:
            bad.append(name)
    for ip in ips:
        try:
            out.append(Identifier(IP, normalise_ip(ip)))
        except ValueError as e:  # e.g. an IPv4-mapped IPv6 address
            bad.append(f"{ip} ({e})")
    return out, bad


def _short(obj: Any, limit: int = 80) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."
