"""The ``Host`` header: what a server must refuse, and what it can build URLs from.

Two rules, one for each layer:

* :func:`syntax_problem` is HTTP's: RFC 9112 §3.2 says a server "MUST respond
  with a 400 (Bad Request) status code to any HTTP/1.1 request message that
  lacks a Host header field and to any request message that contains more
  than one Host header field line or a Host header field with an invalid field
  value".  The valid values are RFC 3986's ``uri-host [ ":" port ]``.  Go's
  net/http (Boulder, Pebble) refuses the same requests with a 400.
* :func:`url_problem` is this server's: every URL it hands out (the directory,
  ``Location``, the JWS ``url`` it expects) is built from the Host the client
  asked for, so that Host must name a server: a DNS name whose labels are 1 to
  63 characters (253 in all), an IPv4 address or a bracketed IPv6 address, and
  a port from 1 to 65535 (no leading zero) if any.  ``Host: .`` or an empty Host would otherwise
  give URLs like ``https:///acme/new-order`` that no client can follow.

Pure functions: each returns None when the value is fine, else a sentence
saying what is wrong with it.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Optional, Tuple

__all__ = ["syntax_problem", "url_problem"]

#: RFC 3986 §3.2.2 reg-name (unreserved, pct-encoded, sub-delims) and §3.2.3 port.
_REG_NAME = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")
_PORT = re.compile(r"[0-9]*")
#: RFC 3986 §3.2.2 IPvFuture, inside the brackets.
_IP_FUTURE = re.compile(r"[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+")
#: A DNS label of letters, digits and inner hyphens (RFC 1035 §2.3.1, RFC 1123
#: §2.1): what Werkzeug builds URLs on (it leaves out a host with a '_').
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
#: A port as URLs carry it: no leading zero.
_URL_PORT = re.compile(r"[1-9][0-9]{0,4}")


def _shown(value: str) -> str:
    return f"{value[:60]!r}{'...' if len(value) > 60 else ''}"


def _split(value: str) -> Optional[Tuple[str, Optional[str]]]:
    """(host, port or None) of ``uri-host [ ":" port ]``, or None if it is not one."""
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            return None
        host, rest = value[:end + 1], value[end + 1:]
        if rest and not rest.startswith(":"):
            return None
        return host, rest[1:] if rest else None
    host, colon, port = value.partition(":")
    return host, port if colon else None


@functools.lru_cache(maxsize=64)  # per request: clients send the same Host again and again
def syntax_problem(value: str) -> Optional[str]:
    """Why ``value`` is not an RFC 9112 §3.2 Host field value, or None if it is one."""
    parts = _split(value)
    if parts is None:
        return f"the Host header {_shown(value)} is not host[:port] (RFC 9112 §3.2)"
    host, port = parts
    if port is not None and not _PORT.fullmatch(port):
        return f"the port in the Host header {_shown(value)} is not a number (RFC 3986 §3.2.3)"
    if host.startswith("["):
        inner = host[1:-1]
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            if not _IP_FUTURE.fullmatch(inner):
                return (f"the Host header {_shown(value)} has brackets without an IPv6 "
                        "address in them (RFC 3986 §3.2.2)")
        return None
    if not _REG_NAME.fullmatch(host):
        return (f"the Host header {_shown(value)} has characters a host name cannot have "
                "(RFC 3986 §3.2.2)")
    return None


def url_problem(value: str) -> Optional[str]:
    """Why URLs cannot be built on ``value`` (a Host header), or None if they can."""
    problem = syntax_problem(value)
    if problem is not None:
        return problem
    host, port = _split(value)  # type: ignore[misc]
    if port is not None and not (_URL_PORT.fullmatch(port) and int(port) <= 65535):
        return f"the port in the Host header {_shown(value)} is not from 1 to 65535 (without leading zeros)"
    if host.startswith("["):
        try:
            if "%" in host:  # a zone id names an interface of the client, not us
                raise ValueError(host)
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f"the Host header {_shown(value)} is not an IPv6 address in brackets"
        return None
    name = host[:-1] if host.endswith(".") else host
    if not name:
        return (f"the Host header {_shown(value)} names no server; send the host name or "
                "address of the directory URL")
    if len(name) > 253:
        return f"the Host header's name is {len(name)} characters long; the most is 253"
    for label in name.split("."):
        if not _LABEL.fullmatch(label):
            why = "empty" if not label else (
                f"{len(label)} characters long (the most is 63)" if len(label) > 63
                else "not letters, digits and inner hyphens")
            return (f"the Host header {_shown(value)} has a label {_shown(label)} that is "
                    f"{why} (RFC 1035 §2.3.4)")
    return None
