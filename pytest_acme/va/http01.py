"""http-01 (RFC 8555 §8.3): fetch the key authorization over plain HTTP.

``GET http://<identifier>:<http01_port>/.well-known/acme-challenge/<token>``;
the body, with trailing whitespace removed, must be the key authorization.

What is accepted is what Let's Encrypt accepts (Boulder's ``va/http.go``), so a
responder that passes here passes there:

* only *trailing* whitespace is ignored (RFC 8555 §8.3: "the server SHOULD
  ignore whitespace characters at the end of the body"); a body that starts
  with a space or newline fails;
* the body is at most :data:`MAX_BODY` (128) bytes, whitespace included;
* at most :data:`MAX_REQUESTS` requests (the first and nine redirects), and
  only 301, 302, 307 and 308 redirects are followed (Baseline Requirements
  3.2.2.4.19): a 303 or any other 3xx fails;
* a redirect goes to http or https, to a host name with at least two labels or
  an IP address, never twice to the same URL, with a path of at most
  :data:`MAX_PATH` bytes, and to the HTTP or the HTTPS port only.  Let's
  Encrypt's are 80 and 443; here they are ``http01_port`` and
  ``tlsalpn01_port`` (Boulder's own test setup uses one port for HTTPS and
  tls-alpn-01): ``http://name/`` goes to ``http01_port``, ``https://name/`` to
  ``tlsalpn01_port``, and any other explicit port is refused;
* each URL is fetched from the first IPv6 address of its host, and from its
  first IPv4 address only if the IPv6 one cannot be dialled; other addresses
  are never tried;
* every target goes through the network guard.

A response that is not the key authorization is ``unauthorized``, as Boulder
and Pebble report it; a redirect that is not followed is ``connection``.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urljoin, urlsplit, urlunsplit

from ..protocol import problems
from ..protocol.challenges import HTTP01_PATH
from ..protocol.identifiers import IP, is_ip_address
from .base import Network, ValidationRequest
from .guard import allowed_addresses
from .resolver import addresses, first_of_each_family

#: Requests per validation, the first included (Boulder: ``maxRequests``).
MAX_REQUESTS = 10
#: Bytes of body read; a longer body fails (Boulder: ``maxResponseSize``).
MAX_BODY = 128
#: Bytes of path a redirect target may have (Boulder: ``maxPathSize``).
MAX_PATH = 2000
#: The redirects followed (Baseline Requirements 3.2.2.4.19).
REDIRECTS = (301, 302, 307, 308)
#: What Go's ``unicode.IsSpace`` calls whitespace, which Boulder trims from the
#: end of the body (Python's ``str.isspace`` also counts U+001C to U+001F).
TRAILING_WHITESPACE = ("\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
                       "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def _host_header(host: str, port: int, default: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port == default else f"{shown}:{port}"


class _DialError(Exception):
    """The TCP connection could not be made: the one failure after which Let's
    Encrypt tries the next address (IPv6, then IPv4; ``fallbackErr`` in Boulder)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _dial(address: str, port: int, timeout: float) -> socket.socket:
    try:
        return socket.create_connection((address, port), timeout)
    except OSError as e:
        raise _DialError(e) from e


class _HttpToAddress(http.client.HTTPConnection):
    """HTTP to a chosen address, a failed dial told apart from later failures."""

    def connect(self) -> None:
        self.sock = _dial(self.host, self.port, self.timeout)  # type: ignore[arg-type]


class _TlsToAddress(http.client.HTTPSConnection):
    """HTTPS to a chosen address with SNI = the host name (redirect targets only).

    Certificates are not verified, as Let's Encrypt does not for http-01 redirects."""

    def __init__(self, address: str, port: int, sni: str, timeout: float) -> None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        super().__init__(address, port, timeout=timeout, context=ctx)
        self._sni = sni

    def connect(self) -> None:
        raw = _dial(self.host, self.port, self.timeout)  # type: ignore[arg-type]
        is_ip = is_ip_address(self._sni)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            raw, server_hostname=None if is_ip else self._sni)



def _fetch(net: Network, url: str, request: ValidationRequest) -> Tuple[int, bytes, Optional[str]]:
    """One GET; returns status, body (up to MAX_BODY + 1 bytes) and Location."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise problems.Connection(f"cannot follow a redirect to {url!r}: only http and https URLs")
    host = parts.hostname
    default = 80 if parts.scheme == "http" else 443
    port = parts.port or default
    if is_ip_address(host):
        resolved = [str(ipaddress.ip_address(host))]
    else:
        resolved = addresses(net.resolver, host)
    record: Dict[str, Any] = {"url": url, "hostname": host, "port": str(port),
                              "addressesResolved": resolved}
    request.records.append(record)
    errors = []
    # The first IPv6 address, then the first IPv4 one only if that could not be
    # dialled: a failure after the connection is made is final, as at Let's Encrypt.
    for address in allowed_addresses(net, first_of_each_family(resolved), url):
        record["addressUsed"] = address
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = _TlsToAddress(address, port, host, net.timeout)
        else:
            conn = _HttpToAddress(address, port, timeout=net.timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("GET", target, headers={
                "Host": _host_header(host, port, default),
                "User-Agent": "pytest-acme validation authority",
                "Accept": "*/*",
                "Connection": "close",
            })
            response = conn.getresponse()
            record["responseCode"] = response.status  # for describe(); not sent to clients
            try:
                body = response.read(MAX_BODY + 1)
                if len(body) <= MAX_BODY and response.length:
                    # The connection ended before the Content-Length was read.
                    raise http.client.IncompleteRead(body, response.length)
            except (OSError, http.client.HTTPException) as e:
                # Let's Encrypt reads the body of a 200 only: a failure there is
                # unauthorized; another status is judged without its body.
                if response.status == 200:
                    raise problems.Unauthorized(
                        f"error reading the response body from {url}: {_reason(e)}") from None
                body = b""
            return response.status, body, response.getheader("Location")
        except _DialError as e:
            errors.append(f"{address}:{port}: " + (
                f"timed out connecting after {net.timeout} s"
                if isinstance(e.error, socket.timeout) else _reason(e.error)))
            continue
        except socket.timeout:
            errors.append(f"{address}:{port}: timed out after {net.timeout} s")
        except ssl.SSLError as e:
            errors.append(f"{address}:{port}: TLS error: {e.reason or e}")
        except (OSError, http.client.HTTPException) as e:
            errors.append(f"{address}:{port}: {_reason(e)}")
        finally:
            conn.close()
        break  # connected, then failed: no other address is tried
    raise problems.Connection(f"connection error fetching {url}: " + "; ".join(errors))


def _reason(e: BaseException) -> str:
    if isinstance(e, ConnectionRefusedError):
        return "connection refused (nothing listens there: is the client's responder up?)"
    if isinstance(e, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    return f"{type(e).__name__}: {e}"


def validate(net: Network, request: ValidationRequest) -> None:
    """Raise the problem that explains why the http-01 challenge fails, if it does."""
    ident = request.identifier
    host = f"[{ident.value}]" if ident.type == IP and ":" in ident.value else ident.value
    url = f"http://{host}:{net.http01_port}{HTTP01_PATH}{request.token}"
    first = url
    fetched: List[str] = []
    for _ in range(MAX_REQUESTS):
        fetched.append(url)
        status, body, location = _fetch(net, url, request)
        if status in REDIRECTS:
            url = _redirect_target(net, url, status, location, fetched)
            continue
        if 300 <= status < 400:
            raise problems.Connection(
                f"{url} answered HTTP {status}, a redirect that is not followed: only 301, "
                "302, 307 and 308 are (Baseline Requirements 3.2.2.4.19)")
        if status != 200:
            raise problems.Unauthorized(
                f"invalid response from {url}: HTTP {status}"
                + (f" (after redirects from {first})" if url != first else "")
                + f"; body starts {_preview(body)}"
            )
        if len(body) > MAX_BODY:
            raise problems.Unauthorized(
                f"the response from {url} is longer than {MAX_BODY} bytes; it must be "
                "the key authorization alone (trailing whitespace allowed)")
        # RFC 8555 §8.3: whitespace at the *end* of the body is ignored, no more.
        got = body.decode("utf-8", "replace").rstrip(TRAILING_WHITESPACE)
        if got != request.key_authorization:
            hint = ""
            if got.strip() == request.key_authorization:
                hint = "; only whitespace at the end of the body is ignored, not at its start"
            raise problems.Unauthorized(
                f"the key authorization from {url} does not match: expected "
                f"{request.key_authorization!r}, found {_preview(body)}{hint}")
        return
    raise problems.Connection(
        f"too many redirects: gave up after {MAX_REQUESTS} requests starting at {first}")


def _redirect_target(net: Network, url: str, status: int, location: Optional[str],
                     fetched: List[str]) -> str:
    """The URL a redirect from ``url`` leads to, with its port spelled out.

    Raises:
        problems.Connection: a redirect Let's Encrypt would not follow.
    """
    if not location:
        raise problems.Connection(f"invalid redirect from {url}: HTTP {status} without a "
                                  "Location header")
    location = location.strip()
    target = urljoin(url, location)
    parts = urlsplit(target)
    where = f"redirect from {url} to {location!r}"
    if parts.scheme not in ("http", "https"):
        raise problems.Connection(
            f"cannot follow the {where}: only http and https URLs, not {parts.scheme!r}")
    host = parts.hostname or ""  # lower case
    # urljoin reads "http:///path" as a path on the current host; the URL has none.
    absolute = urlsplit(location)
    if not host or (absolute.scheme and location[len(absolute.scheme) + 1:].startswith("//")
                    and not absolute.hostname):
        raise problems.Connection(f"cannot follow the {where}: the URL has no host")
    if host.endswith(".well-known"):
        raise problems.Connection(
            f"cannot follow the {where}: the host {host!r} looks like a redirect missing "
            "the '/' between host and path; check the web server's redirect")
    if "%" in host:
        raise problems.Connection(f"cannot follow the {where}: the host has an IPv6 scope zone")
    if not is_ip_address(host) and "." not in host.strip("."):
        raise problems.Connection(
            f"cannot follow the {where}: {host!r} is a single-label name; Let's Encrypt "
            "follows redirects only to names under a public top-level domain")
    try:
        port = parts.port
    except ValueError:
        raise problems.Connection(f"cannot follow the {where}: its port is not a number") from None
    if port is None:
        port = net.http01_port if parts.scheme == "http" else net.tlsalpn01_port
    elif port not in (net.http01_port, net.tlsalpn01_port):
        raise problems.Connection(
            f"cannot follow the {where}: port {port} is neither the HTTP port "
            f"({net.http01_port}, http01_port) nor the HTTPS port ({net.tlsalpn01_port}, "
            "tlsalpn01_port); Let's Encrypt follows redirects only to ports 80 and 443")
    if len(parts.path) > MAX_PATH:
        raise problems.Connection(
            f"cannot follow the redirect from {url}: its path is longer than {MAX_PATH} bytes")
    shown = f"[{host}]" if ":" in host else host
    followed = urlunsplit((parts.scheme, f"{shown}:{port}", parts.path or "/", parts.query, ""))
    if followed in fetched:
        raise problems.Connection(
            f"redirect loop: {url} redirects to {followed}, which was already fetched")
    return followed


def _preview(body: bytes, limit: int = 100) -> str:
    text = body[:limit].decode("utf-8", "replace")
    return repr(text) + ("..." if len(body) > limit else "")
