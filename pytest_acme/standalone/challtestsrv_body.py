"""A pebble-challtestsrv request: its body read as Go's ``encoding/json`` fills a struct,
the failures that end it, and the host names and addresses in it."""

from __future__ import annotations

import ipaddress
import json
from typing import Any, Dict, List

from werkzeug.wrappers import Request

from ..va.zone import normalise

#: The largest management request body read (a request is a few hundred bytes).
MAX_BODY_BYTES = 1 << 20


class Failure(Exception):
    """Ends a request with ``status`` and a plain-text ``reason``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class BadRequest(Failure):
    """Ends a request with ``400`` and a plain-text ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(400, reason)


class LimitedRequest(Request):
    """A request whose body is read up to :data:`MAX_BODY_BYTES`."""

    max_content_length = MAX_BODY_BYTES


class Body:
    """A request's JSON object, read the way Go's ``encoding/json`` fills a struct:
    names match case-insensitively, ``null`` or a missing field is the zero value."""

    def __init__(self, data: Dict[str, Any], where: str, example: str) -> None:
        self.data = data
        self.where = where
        self.example = example

    def raw(self, name: str) -> Any:
        if name in self.data:
            return self.data[name]
        found = None
        for key, value in self.data.items():
            if key.lower() == name.lower():
                found = value
        return found

    def missing(self, name: str) -> BadRequest:
        return BadRequest(f'{self.where}: "{name}" must not be empty (expected a body like '
                          f'{self.example})')

    def text(self, name: str, allow_empty: bool = False) -> str:
        value = self.raw(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise BadRequest(f'{self.where}: "{name}" must be a string, not {json.dumps(value)}')
        if not value and not allow_empty:
            raise self.missing(name)
        return value

    def strings(self, name: str) -> List[str]:
        value = self.raw(name)
        if value is None or value == []:
            raise self.missing(name)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise BadRequest(f'{self.where}: "{name}" must be a list of strings, '
                             f'not {json.dumps(value)}')
        return value

    def objects(self, name: str) -> List["Body"]:
        value = self.raw(name)
        if value is None or value == []:
            raise self.missing(name)
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise BadRequest(f'{self.where}: "{name}" must be a list of objects, '
                             f'not {json.dumps(value)}')
        return [Body(item, f"{self.where} {name}[{i}]", self.example)
                for i, item in enumerate(value)]

    def integer(self, name: str, default: int) -> int:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadRequest(f'{self.where}: "{name}" must be an integer, not {json.dumps(value)}')
        return value

    def host(self, name: str = "host") -> str:
        """A DNS name, with or without its trailing dot (the zone ignores the dot)."""
        value = self.text(name)
        try:
            normalise(value)
        except ValueError as exc:
            raise BadRequest(f'{self.where}: "{name}": {exc}') from None
        return value


def history_key(name: str) -> str:
    """How history entries are compared: lower case, no trailing dot."""
    name = name.strip().lower()
    return name[:-1] if name.endswith(".") else name


def strip_port(host: str) -> str:
    """A ``Host`` header without its port, as Go's ``net.SplitHostPort`` would take it apart."""
    if host.startswith("["):
        end = host.find("]")
        if end != -1 and host[end + 1:end + 2] == ":":
            return host[1:end]
        return host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def check_ip(where: str, value: str, version: int) -> str:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise BadRequest(f"{where}: {value!r} is not an IPv{version} address") from None
    if address.version != version:
        raise BadRequest(f"{where}: {value!r} is not an IPv{version} address")
    return str(address)
