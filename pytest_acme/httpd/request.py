"""One request's head, parsed: its WSGI environ (as Werkzeug's server builds it),
RFC 9112's Host rule, and its body's framing.

No sockets here: :class:`~.connection.Connection` reads the bytes and hands
them over.  Bytes that are not an HTTP/1.1 request raise :class:`BadRequest`; a
request that is one but cannot be served (its Host, its body's framing) gets a
:class:`Refusal`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, NamedTuple, Optional, Tuple
from urllib.parse import unquote, urlsplit

from . import hosts

_DIGITS = re.compile(r"[0-9]{1,18}")
#: environ key: how many Host lines a request had, when more than one.
_HOST_LINES = "pytest_acme.host_lines"
#: RFC 9110 §5.6.2 token: a header field name.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: The longest request line or header line, its line feed included.
MAX_LINE = 65536
#: The most header lines a request may have.
MAX_HEADERS = 100
#: The largest request head (request line and header lines) read, in bytes; a
#: larger one gets 431.  Real ACME clients send a few hundred bytes; nginx's
#: default buffers refuse heads past about 32 KiB, Go's server (Pebble's) past
#: 1 MiB.  64 KiB, one longest line's worth, is out of any client's reach and
#: keeps what a connection can make the server hold small: 200 connections that
#: never finish their head hold about 25 MiB of buffers, not gigabytes.
MAX_HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused before its application ran (``environ[REFUSED]``),
    or why the server answers 500 (the application failed)."""

    status: int
    detail: str


class BadRequest(Exception):
    """The bytes are not an HTTP/1.1 request: answer ``status`` and close."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class Head(NamedTuple):
    """A parsed request head."""

    environ: Dict[str, Any]
    method: str
    #: The request target as sent.
    target: str
    #: The connection closes after the response (HTTP/1.0, or ``Connection: close``).
    close: bool
    #: The client waits for ``100 Continue`` before it sends the body.
    expect_continue: bool


#: Header line -> its environ key and value: clients send the same lines again and
#: again.  They also choose them, so the cache is bounded.
_HEADERS: Dict[str, Tuple[str, str]] = {}


def header_line(line: str) -> Tuple[str, str]:
    """The environ key (as Werkzeug's server names it; "" to leave the field out)
    and value of a header line, given without its line feed."""
    if len(line) >= MAX_LINE:  # with its "\n", longer than a line may be
        raise BadRequest(431, "a header line is too long")
    text = line.rstrip("\r")
    name, colon, value = text.partition(":")
    if not colon or not _TOKEN.fullmatch(name):
        raise BadRequest(400, f"bad header line {text[:100]!r} (no folding, no space "
                              "before the colon; RFC 9112 §5)")
    if "_" in name:
        key = ""  # ambiguous with '-' once in the environ, as Werkzeug does
    else:
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
    value = value.strip(" \t")
    if len(line) < 200:
        if len(_HEADERS) >= 1000:
            _HEADERS.clear()
        _HEADERS[line] = key, value
    return key, value


def request_line(line: str) -> Tuple[str, str, str]:
    """The method, target and version of a request line (without its line feed)."""
    if len(line) >= MAX_LINE:  # with its "\n", longer than a line may be
        raise BadRequest(414, "the request line is too long")
    line = line.rstrip("\r")
    words = line.split(" ")
    if len(words) != 3 or not words[0] or not words[1]:
        raise BadRequest(400, f"bad request line {line[:100]!r}")
    method, target, version = words
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        if version.startswith("HTTP/") and version[5:6].isdigit():
            raise BadRequest(505, f"{version[:20]} is not supported; use HTTP/1.1")
        raise BadRequest(400, f"bad request line {line[:100]!r}")
    return method, target, version


def parse_head(head: str, base_environ: Dict[str, Any]) -> Head:
    """The request a head (its lines, latin-1 text, without the empty line) makes:
    ``base_environ`` with the request's keys added."""
    lines = head.split("\n")
    method, target, version = request_line(lines[0])
    environ = base_environ.copy()
    known = _HEADERS
    repeated: Optional[Dict[str, List[str]]] = None
    for line in lines[1:MAX_HEADERS + 2]:
        key, value = known.get(line) or header_line(line)
        if not key:
            continue
        if key in environ:  # a repeated field: its values are joined by ','
            if repeated is None:
                repeated = {}
            values = repeated.get(key)
            if values is None:
                repeated[key] = values = [environ[key]]
            values.append(value)
        else:
            environ[key] = value
    if repeated:  # joined once, not by growing a string per line
        for key, values in repeated.items():
            environ[key] = ",".join(values)
        if "HTTP_HOST" in repeated:
            environ[_HOST_LINES] = len(repeated["HTTP_HOST"])
    if len(lines) > MAX_HEADERS + 1:
        raise BadRequest(431, f"more than {MAX_HEADERS} header lines")
    tokens = environ.get("HTTP_CONNECTION")
    close = version != "HTTP/1.1" or tokens is not None and "close" in (
        t.strip() for t in tokens.lower().split(","))
    if (target[0] == "/" and target[1:2] != "/" and target.isascii()
            and "#" not in target and "\t" not in target and "\r" not in target):
        # The usual origin form, split as urlsplit() would; ASCII needs no dance.
        path, _, environ["QUERY_STRING"] = target.partition("?")
        environ["PATH_INFO"] = _wsgi_encoding_dance(unquote(path)) if "%" in path else path
        environ["REQUEST_URI"] = environ["RAW_URI"] = target
    else:
        try:
            url = urlsplit(target)
        except ValueError as e:  # "https://[/": an unclosed IPv6 bracket
            raise BadRequest(400, f"the request target {target[:100]!r} is not a URL: "
                                  f"{e}") from None
        if not url.scheme and url.netloc:  # "//x/y": the first segment is path
            path = f"/{url.netloc}{url.path}"
        else:
            path = url.path
        if url.scheme and url.netloc:  # absolute form names the host (RFC 9112 §3.2.2)
            environ["HTTP_HOST"] = url.netloc
        dance = _wsgi_encoding_dance
        environ["PATH_INFO"] = dance(unquote(path)) if "%" in path else dance(path)
        environ["QUERY_STRING"] = dance(url.query)
        environ["REQUEST_URI"] = environ["RAW_URI"] = dance(target)
    environ["REQUEST_METHOD"] = method
    environ["SERVER_PROTOCOL"] = version
    expect = environ.get("HTTP_EXPECT")
    return Head(environ, method, target, close,
                expect is not None and version == "HTTP/1.1"
                and expect.lower().strip(" \t") == "100-continue")


def host_refusal(environ: Dict[str, Any]) -> Optional[Refusal]:
    """RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code
    to any HTTP/1.1 request message that lacks a Host header field and to any
    request message that contains more than one Host header field line or a
    Host header field with an invalid field value" (as Go's net/http does)."""
    lines = environ.pop(_HOST_LINES, 1)
    if lines > 1:
        environ.pop("HTTP_HOST")
        return Refusal(400, f"the request has {lines} Host header lines; send one")
    host = environ.get("HTTP_HOST")
    if host is None:
        if environ["SERVER_PROTOCOL"] == "HTTP/1.1":
            return Refusal(400, "an HTTP/1.1 request needs a Host header (RFC 9112 §3.2)")
        return None
    problem = hosts.syntax_problem(host)
    if problem is None:
        return None
    environ.pop("HTTP_HOST")  # the application builds no URL on it
    return Refusal(400, problem)


def body_length(environ: Dict[str, Any], max_body_bytes: int
                ) -> Tuple[Optional[Refusal], int]:
    """The body's length, or why the request is refused (RFC 9112 §6): the one
    place request bodies are framed.  A body comes with ``Content-Length`` or
    not at all; a chunked one gets 411, also when a WSGI server other than this
    one took the chunks apart (``wsgi.input_terminated``)."""
    coding = environ.get("HTTP_TRANSFER_ENCODING")
    if coding is not None:
        return Refusal(411, f"request bodies are read by Content-Length only; "
                            f"'Transfer-Encoding: {coding[:40]}' is not accepted"), 0
    if environ.get("wsgi.input_terminated"):
        return Refusal(411, "request bodies are read by Content-Length only; this one "
                            "came without it"), 0
    value = environ.get("CONTENT_LENGTH")
    if value is None:
        return None, 0
    if not (value.isdigit() and value.isascii() and len(value) <= 18):
        values = {v.strip() for v in value.split(",")}
        value = values.pop()
        if values or not _DIGITS.fullmatch(value):
            return Refusal(400, f"Content-Length {value[:40]!r} is not one number of "
                                f"bytes"), 0
        environ["CONTENT_LENGTH"] = value
    length = int(value)
    if length > max_body_bytes:
        return Refusal(413, f"the request body is larger than {max_body_bytes} "
                            f"bytes"), 0
    return None, length


def _wsgi_encoding_dance(text: str) -> str:
    """PEP 3333: the environ holds bytes as latin-1 strings (Werkzeug's convention)."""
    return text.encode().decode("latin1")
