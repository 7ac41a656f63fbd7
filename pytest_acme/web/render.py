"""How a reply goes on the wire: a handler's reply, or a problem, becomes a WSGI
status line, headers and body.

Every problem a handler raises is rendered here and only here, as
``application/problem+json`` (:func:`problem_reply`); routing's 404 and 405
become problems too (:func:`http_problem`).  :func:`render` adds what every
reply carries: the length, ``Replay-Nonce`` where one is sent, the directory
``Link`` and ``Cache-Control``.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any, List, Optional, Tuple

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request

from ..protocol import problems
from .exchange import Reply
from .routes import Urls

PROBLEM_JSON = "application/problem+json"
#: Status lines as Werkzeug's Response writes them ("201 CREATED").
_STATUS_LINES = {code: f"{code} {text.upper()}" for code, text in HTTP_STATUS_CODES.items()}


def pretty_json(value: Any, newline: str = "\n") -> str:
    """``json.dumps(value, indent=2)``, the same text at twice the speed: the
    standard encoder leaves its C accelerator out whenever it indents."""
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is dict and value and all(type(k) is str for k in value):
        inner = newline + "  "
        return "{" + ",".join([inner + encode_basestring_ascii(k) + ": "
                               + pretty_json(v, inner) for k, v in value.items()]) \
            + newline + "}"
    if (kind is list or kind is tuple) and value:
        inner = newline + "  "
        return "[" + ",".join([inner + pretty_json(v, inner) for v in value]) + newline + "]"
    return json.dumps(value, indent=2).replace("\n", newline)


def http_problem(request: Request, e: HTTPException) -> problems.Problem:
    """The problem for what routing refused (no rule: 404; a method the rule does
    not take: 405, naming POST-as-GET to a GET)."""
    path = request.path if len(request.path) <= 200 else request.path[:200] + "..."
    if isinstance(e, MethodNotAllowed):
        allowed = ", ".join(sorted(set(e.valid_methods or []) - {"HEAD", "OPTIONS"}))
        hint = (
            "; ACME resources are read with POST-as-GET (RFC 8555 §6.3)"
            if request.method == "GET" else ""
        )
        return problems.Malformed(
            f"{request.method} is not allowed on {path} (allowed: {allowed}){hint}",
            status=405,
            headers={"Allow": ", ".join(sorted(set(e.valid_methods or [])))},
        )
    if isinstance(e, NotFound):
        return problems.Malformed(f"no resource at {path}", status=404)
    return problems.Malformed(f"{e.name}: {e.description}", status=e.code or 400)


def problem_reply(p: problems.Problem, pebble_wording: bool = False) -> Reply:
    """The reply of a problem document; with ``pebble_wording``, Pebble's type and
    detail where the problem has them."""
    if p.pebble is not None and pebble_wording:
        p = p.as_pebble()
    return Reply(
        p.to_json(), status=p.status, headers=list(p.headers.items()),
        content_type=PROBLEM_JSON,
    )


def render(reply: Reply, urls: Urls, nonce: Optional[str] = None
           ) -> Tuple[str, List[Tuple[str, str]], bytes]:
    """Status line, headers and body of a reply (the headers Werkzeug's Response
    would make, without building one per request), with ``nonce`` as its
    ``Replay-Nonce`` when given."""
    body = reply.body
    data = pretty_json(body).encode() if isinstance(body, dict) else body or b""
    status = reply.status
    headers: List[Tuple[str, str]] = []
    if data:
        # RFC 9110 §8.3: the type describes content; an empty reply (newNonce,
        # a revocation) has none, and clients told "application/json" may try
        # to parse nothing.  A HEAD reply's data is its GET's, so it keeps the type.
        headers.append(("Content-Type", reply.content_type))
    if status not in (204, 304) and not 100 <= status < 200:
        headers.append(("Content-Length", str(len(data))))
    headers.extend(reply.headers)
    if nonce is not None:
        headers.append(("Replay-Nonce", nonce))
    headers.append(("Link", f'<{urls.directory()}>;rel="index"'))
    headers.append(("Cache-Control", "no-store"))
    return _STATUS_LINES.get(status) or f"{status} UNKNOWN", headers, data
