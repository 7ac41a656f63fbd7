"""One way to read JSON from a client, as strictly as the real CAs read it.

Every JSON body this package accepts (the JWS and its protected header and
payload, the management API, the challtestsrv API) is read by :func:`loads`.
It refuses, with :class:`JsonError` and a detail a person can act on:

* bytes that are not UTF-8, a UTF-8 byte order mark included: RFC 8259 §8.1
  ("JSON text exchanged between systems that are not part of a closed
  ecosystem MUST be encoded using UTF-8").  Python's ``json.loads`` would
  guess UTF-16 or UTF-32 from the first bytes; Go's decoder, which Pebble and
  Boulder use, reads UTF-8 only;
* an object that names a member twice: RFC 8259 §4 says names SHOULD be unique
  and leaves duplicates to the parser; go-jose's JSON decoder (Pebble's and
  Boulder's JWS parser) refuses them ("duplicate key"), and accepting the last
  value would let a client sign one ``url`` and be judged on another;
* ``NaN``, ``Infinity`` and ``-Infinity``, which are not JSON (RFC 8259 §6);
* anything nested more deeply than :data:`MAX_DEPTH`, refused before parsing,
  so no input reaches the recursion limit.

Callers turn :class:`JsonError` into their own 4xx: ``malformed`` for ACME
requests, 400 for the management and challtestsrv APIs.  Those two stand in for
Pebble's and pebble-challtestsrv's, which read bodies with Go's
``encoding/json``: it keeps the last of repeated members, so they pass
``unique=False`` and do the same.

The common case stays cheap: the depth check looks closer only at a text with
more than :data:`MAX_DEPTH` opening brackets, and the duplicate check is a
``dict`` built from the pairs the C scanner hands over, compared by length.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Tuple, Union

__all__ = ["MAX_DEPTH", "JsonError", "loads"]

#: The deepest nesting of arrays and objects accepted.  An ACME message nests a
#: few levels; Go's decoder (Pebble's, Boulder's) accepts up to 10000, Python's
#: parser fails near its recursion limit (1000 frames, the server's own
#: included), so the server stops at 512: far above any real document, with room
#: for its own stack.
MAX_DEPTH = 512

class JsonError(ValueError):
    """The text is not JSON this server accepts; ``str()`` says why."""


def _unique(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for name, _ in pairs:
            if name in seen:
                raise JsonError(f"the member {name[:100]!r} appears more than once in an "
                                "object (member names must be unique)")
            seen.add(name)
    return obj


def _constant(name: str) -> Any:
    raise JsonError(f"{name} is not a JSON number (RFC 8259 §6)")


_DECODER = json.JSONDecoder(object_pairs_hook=_unique, parse_constant=_constant)
_LAST_WINS = json.JSONDecoder(parse_constant=_constant)


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def _depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text``; brackets inside strings
    do not count.  Both passes run in the regular expression engine; Python
    steps through the brackets only."""
    deepest = depth = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        else:
            depth -= 1
    return deepest


def loads(data: Union[bytes, bytearray, str], *, unique: bool = True) -> Any:
    """The JSON value in ``data`` (UTF-8 bytes, or text already decoded).

    Args:
        data: the request body, or a string member holding JSON.
        unique: refuse an object that names a member twice; with False the last
            value wins, as in Go's ``encoding/json``.

    Raises:
        JsonError: with a detail that names what is wrong (and where, when the
            parser says so).

    Example::

        >>> loads(b'{"a": [1, 2]}')
        {'a': [1, 2]}
        >>> loads(b'{"a": 1, "a": 2}')
        Traceback (most recent call last):
        ...
        pytest_acme.strictjson.JsonError: the member 'a' appears more than once ...
    """
    if isinstance(data, (bytes, bytearray)):
        if data[:3] == b"\xef\xbb\xbf":
            raise JsonError("it starts with a byte order mark; send UTF-8 without one "
                            "(RFC 8259 §8.1)")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise JsonError(f"it is not UTF-8 (byte {e.start}); JSON must be UTF-8 "
                            "(RFC 8259 §8.1)") from None
        if "\x00" in text:  # never in JSON text; always in UTF-16 or UTF-32 ASCII
            raise JsonError("it holds NUL bytes, as UTF-16 or UTF-32 text does; JSON must "
                            "be UTF-8 (RFC 8259 §8.1)")
    else:
        text = data
    # Each level costs an opening bracket: with few of them, no need to look closer.
    if len(text) > MAX_DEPTH and (text.count("[") + text.count("{")) > MAX_DEPTH \
            and _depth(text) > MAX_DEPTH:
        raise JsonError(f"it nests arrays and objects more than {MAX_DEPTH} levels deep")
    try:
        return (_DECODER if unique else _LAST_WINS).decode(text)
    except JsonError:
        raise
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps it away
        raise JsonError("it nests arrays and objects too deeply") from None
    except ValueError as e:
        raise JsonError(str(e)) from None
