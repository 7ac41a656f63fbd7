"""http-01 (RFC 8555 §8.3): fetch the key authorization over plain HTTP.

``GET http://<identifier>:<http01_port>/.well-known/acme-challenge/<token>``;
the body, with surrounding whitespace removed, must be the key authorization.
Redirects are followed (at most :data:`MAX_REDIRECTS`, to http or https, each
target through the network guard); at most :data:`MAX_BODY` bytes are read.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from typing import Optional, Tuple
from urllib.parse import urljoin, urlsplit

from ..protocol import problems
from ..protocol.identifiers import IP
from .base import Network, ValidationRequest
from .guard import allowed_addresses
from .resolver import addresses

MAX_REDIRECTS = 10
MAX_BODY = 8192
PATH = "/.well-known/acme-challenge/"


def _host_header(host: str, port: int, default: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port == default else f"{shown}:{port}"


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
        raw = socket.create_connection((self.host, self.port), self.timeout)
        is_ip = _is_ip(self._sni)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            raw, server_hostname=None if is_ip else self._sni)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _fetch(net: Network, url: str, request: ValidationRequest) -> Tuple[int, bytes, Optional[str]]:
    """One GET; returns status, body (up to MAX_BODY + 1 bytes) and Location."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise problems.Connection(f"cannot follow a redirect to {url!r}: only http and https URLs")
    host = parts.hostname
    default = 80 if parts.scheme == "http" else 443
    port = parts.port or default
    if _is_ip(host):
        resolved = [str(ipaddress.ip_address(host))]
    else:
        resolved = addresses(net.resolver, host)
    record = {"url": url, "hostname": host, "port": str(port), "addressesResolved": resolved}
    request.records.append(record)
    errors = []
    for address in allowed_addresses(net, resolved, url):
        record["addressUsed"] = address
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = _TlsToAddress(address, port, host, net.timeout)
        else:
            conn = http.client.HTTPConnection(address, port, timeout=net.timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("GET", target, headers={
                "Host": _host_header(host, port, default),
                "User-Agent": "pytest-acme validation authority",
                "Accept": "*/*",
                "Connection": "close",
            })
            response = conn.getresponse()
            body = response.read(MAX_BODY + 1)
            return response.status, body, response.getheader("Location")
        except socket.timeout:
            errors.append(f"{address}:{port}: timed out after {net.timeout} s")
        except ssl.SSLError as e:
            errors.append(f"{address}:{port}: TLS error: {e.reason or e}")
        except (OSError, http.client.HTTPException) as e:
            errors.append(f"{address}:{port}: {_reason(e)}")
        finally:
            conn.close()
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
    url = f"http://{host}:{net.http01_port}{PATH}{request.token}"
    first = url
    for _ in range(MAX_REDIRECTS + 1):
        status, body, location = _fetch(net, url, request)
        if status in (301, 302, 303, 307, 308) and location:
            url = urljoin(url, location)
            continue
        if status != 200:
            raise problems.Unauthorized(
                f"invalid response from {url}: HTTP {status}"
                + (f" (after redirects from {first})" if url != first else "")
                + f"; body starts {_preview(body)}"
            )
        if len(body) > MAX_BODY:
            raise problems.IncorrectResponse(
                f"the response from {url} is longer than {MAX_BODY} bytes; it must be "
                "the key authorization alone")
        got = body.decode("utf-8", "replace").strip()
        if got != request.key_authorization:
            raise problems.IncorrectResponse(
                f"the key authorization from {url} does not match: expected "
                f"{request.key_authorization!r}, found {_preview(body)}")
        return
    raise problems.Connection(f"too many redirects (more than {MAX_REDIRECTS}) from {first}")


def _preview(body: bytes, limit: int = 100) -> str:
    text = body[:limit].decode("utf-8", "replace")
    return repr(text) + ("..." if len(body) > limit else "")
