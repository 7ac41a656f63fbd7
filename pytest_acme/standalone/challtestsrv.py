"""A pebble-challtestsrv compatible management API over pytest-acme's zone and responders.

Scripts written for Pebble's ``pebble-challtestsrv`` drive it through a small
HTTP management interface (port 8055 by default): ``POST /set-txt`` with
``{"host": "_acme-challenge.example.com.", "value": "..."}`` and so on.  This
module answers the same requests, with the same paths and JSON bodies, by
editing a :class:`~pytest_acme.va.zone.Zone` and, when they are given, an
:class:`~pytest_acme.responders.Http01Responder` and a
:class:`~pytest_acme.responders.TlsAlpn01Responder`::

    app = make_challtestsrv_app(zone, http01=Http01Responder().start())
    # serve ``app`` with any WSGI server, then:
    #   curl -d '{"host":"_acme-challenge.example.com.","value":"foo"}' http://localhost:8055/set-txt

Endpoints (every one takes a JSON object as its body; any method, as in Go):

==========================  ============================================================
path                        body
==========================  ============================================================
/set-default-ipv4           ``{"ip": "10.10.10.2"}`` (``""``: no default A)
/set-default-ipv6           ``{"ip": "::1"}`` (``""``: no default AAAA)
/add-a, /add-aaaa           ``{"host": "h.example.", "addresses": ["12.12.12.12", ...]}``
/clear-a, /clear-aaaa       ``{"host": "h.example."}``
/set-txt                    ``{"host": "_acme-challenge.h.example.", "value": "foo"}``
/clear-txt                  ``{"host": "_acme-challenge.h.example."}``
/add-caa                    ``{"host": "h.example", "policies": [{"tag": "issue", "value": "ca.example"}]}``
/clear-caa                  ``{"host": "h.example"}``
/set-cname                  ``{"host": "alias.example", "target": "h.example"}``
/clear-cname                ``{"host": "alias.example"}``
/set-servfail               ``{"host": "h.example"}``
/clear-servfail             ``{"host": "h.example"}``
/add-http01                 ``{"token": "aaaa", "content": "bbbb"}``
/del-http01                 ``{"token": "aaaa"}``
/add-redirect               ``{"path": "/.well-known/acme-challenge/aaaa", "targetURL": "https://...", "code": 301}``
/del-redirect               ``{"path": "/.well-known/acme-challenge/aaaa"}``
/add-tlsalpn01              ``{"host": "h.example", "content": "<key authorization>"}``
/del-tlsalpn01              ``{"host": "h.example"}``
/http-request-history       ``{"host": "h.example"}`` -> ``[{"URL", "Host", "HTTPS", "ServerName"}, ...]``
/dns-request-history        ``{"host": "h.example"}`` -> ``[]`` (no DNS query log, see below)
/tlsalpn01-request-history  ``{"host": "h.example"}`` -> ``[{"ServerName", "SupportedProtos"}, ...]``
/clear-request-history      ``{"host": "h.example", "type": "http" | "dns" | "tlsalpn"}``
==========================  ============================================================

As in Go's ``encoding/json``, field names match case-insensitively and unknown
fields are ignored.  Success is ``200`` with an empty body (the history
endpoints answer a JSON list); a body that is missing, not JSON, or lacks a
field, or a bad address, is ``400`` with a plain-text reason; an unknown path
is ``404``; an endpoint of a responder that was not given is ``503``.  Host
names may end in a dot or not.

Where pytest-acme differs from challtestsrv:

* The HTTP-01 responder redirects challenge paths only, so ``/add-redirect``
  takes ``/.well-known/acme-challenge/<token>`` paths; a token holds either
  content or a redirect, the later request replacing the earlier one.
* The request history is built from the responders' own logs: HTTP events
  carry the path without the query string; TLS-ALPN events list the
  *negotiated* ALPN protocol (if any) as ``SupportedProtos``, not every
  protocol the client offered.  DNS events come from the zone's query log
  (the last 1000 queries the DNS server received).

A request's body is read by :mod:`.challtestsrv_body`; ``pytest-acme
challtestsrv`` serves the variant of :mod:`.challtestsrv_standalone`.
"""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .. import strictjson
from ..protocol.challenges import HTTP01_PATH
from .challtestsrv_body import (
    BadRequest,
    Body,
    Failure,
    LimitedRequest,
    check_ip,
    history_key,
    strip_port,
)
from .replies import without_type_when_empty

#: An example body for every endpoint, quoted in the ``400`` answers.
EXAMPLES: Dict[str, str] = {
    "/set-default-ipv4": '{"ip": "10.10.10.2"}',
    "/set-default-ipv6": '{"ip": "::1"}',
    "/add-a": '{"host": "test-host.example.", "addresses": ["12.12.12.12"]}',
    "/clear-a": '{"host": "test-host.example."}',
    "/add-aaaa": '{"host": "test-host.example.", "addresses": ["2001:db8::1"]}',
    "/clear-aaaa": '{"host": "test-host.example."}',
    "/set-txt": '{"host": "_acme-challenge.test-host.example.", "value": "foo"}',
    "/clear-txt": '{"host": "_acme-challenge.test-host.example."}',
    "/add-caa": '{"host": "test-host.example.", "policies": [{"tag": "issue", "value": "ca.example"}]}',
    "/clear-caa": '{"host": "test-host.example."}',
    "/set-cname": '{"host": "alias.example.", "target": "test-host.example."}',
    "/clear-cname": '{"host": "alias.example."}',
    "/set-servfail": '{"host": "test-host.example."}',
    "/clear-servfail": '{"host": "test-host.example."}',
    "/add-http01": '{"token": "aaaa", "content": "bbbb"}',
    "/del-http01": '{"token": "aaaa"}',
    "/add-redirect": '{"path": "/.well-known/acme-challenge/aaaa", "targetURL": "https://localhost:5003/ok"}',
    "/del-redirect": '{"path": "/.well-known/acme-challenge/aaaa"}',
    "/add-tlsalpn01": '{"host": "test-host.example", "content": "foo"}',
    "/del-tlsalpn01": '{"host": "test-host.example"}',
    "/http-request-history": '{"host": "test-host.example"}',
    "/dns-request-history": '{"host": "test-host.example"}',
    "/tlsalpn01-request-history": '{"host": "test-host.example"}',
    "/clear-request-history": '{"host": "test-host.example", "type": "http"}',
}

#: The ``type`` values of ``/clear-request-history``.
HISTORY_TYPES = ("http", "dns", "tlsalpn")
#: DNS type numbers, as Go's miekg/dns reports them in the history.
_QTYPES = {"A": 1, "CNAME": 5, "TXT": 16, "AAAA": 28, "CAA": 257}

_HTTP01_OFF = (
    "the built-in HTTP-01 responder is off: start `pytest-acme serve` with "
    "--http01-responder to use {path}"
)
_TLSALPN01_OFF = (
    "the built-in TLS-ALPN-01 responder is off: start `pytest-acme serve` with "
    "--tlsalpn01-responder to use {path}"
)


def _locked(responder: Any) -> Any:
    """The lock under which a responder appends to its log (a no-op if it has none)."""
    lock = getattr(responder, "_lock", None)
    return lock if lock is not None else contextlib.nullcontext()


def _challenge_token(where: str, path: str) -> str:
    """The token of a ``/.well-known/acme-challenge/<token>`` path, or a 400 saying why not."""
    token = path[len(HTTP01_PATH):] if path.startswith(HTTP01_PATH) else ""
    if not token or any(c in token for c in "/?#"):
        raise BadRequest(
            f"{where}: pytest-acme's HTTP-01 responder only answers {HTTP01_PATH}<token>, so it "
            f"can only redirect such a path (one token, no query), not {path!r}"
        )
    return token


class ChalltestsrvApp:
    """The WSGI application; see the module documentation for the endpoints.

    Attributes:
        zone: the DNS zone the DNS endpoints edit.
        http01: the HTTP-01 responder, or ``None`` (its endpoints answer ``503``).
        tlsalpn01: the TLS-ALPN-01 responder, or ``None`` (likewise).
        url_map: the routes.
    """

    def __init__(self, zone: Any, http01: Any = None, tlsalpn01: Any = None) -> None:
        self.zone = zone
        self.http01 = http01
        self.tlsalpn01 = tlsalpn01
        self._lock = threading.Lock()
        self._redirects: set = set()  # tokens whose answer is a redirect set through /add-redirect
        self.url_map = Map([Rule(path, endpoint=path) for path in EXAMPLES])
        self._handlers: Dict[str, Callable[[Body], Optional[list]]] = {
            "/set-default-ipv4": self._set_default_ipv4,
            "/set-default-ipv6": self._set_default_ipv6,
            "/add-a": lambda body: self._add_addresses(body, 4),
            "/clear-a": lambda body: self.zone.clear_a(body.host()),
            "/add-aaaa": lambda body: self._add_addresses(body, 6),
            "/clear-aaaa": lambda body: self.zone.clear_aaaa(body.host()),
            "/set-txt": self._set_txt,
            "/clear-txt": lambda body: self.zone.clear_txt(body.host()),
            "/add-caa": self._add_caa,
            "/clear-caa": lambda body: self.zone.clear_caa(body.host()),
            "/set-cname": self._set_cname,
            "/clear-cname": lambda body: self.zone.clear_cname(body.host()),
            "/set-servfail": lambda body: self.zone.set_servfail(body.host()),
            "/clear-servfail": lambda body: self.zone.clear_servfail(body.host()),
            "/add-http01": self._add_http01,
            "/del-http01": self._del_http01,
            "/add-redirect": self._add_redirect,
            "/del-redirect": self._del_redirect,
            "/add-tlsalpn01": self._add_tlsalpn01,
            "/del-tlsalpn01": self._del_tlsalpn01,
            "/http-request-history": self._http_history,
            "/dns-request-history": self._dns_history,
            "/tlsalpn01-request-history": self._tlsalpn_history,
            "/clear-request-history": self._clear_history,
        }
        needs_http01 = ("/add-http01", "/del-http01", "/add-redirect", "/del-redirect",
                        "/http-request-history")
        needs_tlsalpn01 = ("/add-tlsalpn01", "/del-tlsalpn01", "/tlsalpn01-request-history")
        self._needs: Dict[str, str] = {path: "http01" for path in needs_http01}
        self._needs.update({path: "tlsalpn01" for path in needs_tlsalpn01})

    # -- WSGI

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        response = without_type_when_empty(self.dispatch(LimitedRequest(environ)))
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        try:
            # The Host is not read (Go's ServeMux matches paths alone), so no Host
            # value can make binding fail.
            path, _args = self.url_map.bind("localhost").match(request.path, request.method)
            self._require(self._needs.get(path), path)
            result = self._handlers[path](self._parse(request, path))
        except NotFound:
            return self._text(404, f"{request.path}: no such endpoint of the challtestsrv "
                                   "management API")
        except Failure as failure:
            return self._text(failure.status, failure.reason)
        except HTTPException as exc:
            return self._text(exc.code or 500, exc.description or exc.name)
        if result is None:
            response = Response(b"", status=200)
            del response.headers["Content-Type"]  # as Go: an empty body has no type
            return response
        return Response(json.dumps(result, indent=3), status=200,
                        content_type="application/json; charset=utf-8")

    @staticmethod
    def _text(status: int, reason: str) -> Response:
        response = Response(reason + "\n", status=status, content_type="text/plain; charset=utf-8")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def _require(self, which: Optional[str], path: str) -> None:
        if which == "http01" and self.http01 is None:
            raise Failure(503, _HTTP01_OFF.format(path=path))
        if which == "tlsalpn01" and self.tlsalpn01 is None:
            raise Failure(503, _TLSALPN01_OFF.format(path=path))

    @staticmethod
    def _parse(request: Request, path: str) -> Body:
        data = request.get_data(cache=False)
        if not data:
            raise BadRequest(f"{path}: expected JSON POST body, was empty (expected a body "
                             f"like {EXAMPLES[path]})")
        try:
            body = strictjson.loads(data, unique=False)
        except strictjson.JsonError as exc:
            raise BadRequest(f"{path}: the body is not JSON ({exc})") from None
        if not isinstance(body, dict):
            raise BadRequest(f"{path}: the body must be a JSON object like {EXAMPLES[path]}")
        return Body(body, path, EXAMPLES[path])

    # -- mock DNS

    def _set_default_ipv4(self, body: Body) -> None:
        ip = body.text("ip", allow_empty=True)
        self.zone.set_default_ipv4(check_ip(body.where, ip, 4) if ip else None)

    def _set_default_ipv6(self, body: Body) -> None:
        ip = body.text("ip", allow_empty=True)
        self.zone.set_default_ipv6(check_ip(body.where, ip, 6) if ip else None)

    def _add_addresses(self, body: Body, version: int) -> None:
        host = body.host()
        addresses = [check_ip(body.where, ip, version) for ip in body.strings("addresses")]
        add = self.zone.add_a if version == 4 else self.zone.add_aaaa
        for address in addresses:
            add(host, address)

    def _set_txt(self, body: Body) -> None:
        host, value = body.host(), body.text("value")
        try:
            self.zone.set_txt(host, value)
        except ValueError as exc:
            raise BadRequest(f'{body.where}: "value": {exc}') from None

    def _add_caa(self, body: Body) -> None:
        host = body.host()
        records = []
        for policy in body.objects("policies"):
            tag, value = policy.text("tag"), policy.text("value", allow_empty=True)
            if not tag.isalnum() or not tag.isascii():
                raise BadRequest(f'{policy.where}: "tag" must be letters and digits, not {tag!r}')
            records.append((tag, value))
        for tag, value in records:
            self.zone.add_caa(host, 0, tag, value)

    def _set_cname(self, body: Body) -> None:
        self.zone.set_cname(body.host(), body.host("target"))

    # -- HTTP-01

    def _add_http01(self, body: Body) -> None:
        token, content = body.text("token"), body.text("content")
        try:
            self.http01.publish(token, content)
        except ValueError as exc:
            raise BadRequest(f'{body.where}: "token": {exc}') from None
        with self._lock:
            self._redirects.discard(token)

    def _del_http01(self, body: Body) -> None:
        token = body.text("token")
        with self._lock:
            if token in self._redirects:
                return  # the token holds a redirect, which /del-redirect removes
        self.http01.remove(token)

    def _add_redirect(self, body: Body) -> None:
        path, target = body.text("path"), body.text("targetURL")
        token = _challenge_token(body.where, path)
        code = body.integer("code", 0) or 302
        if not 300 <= code <= 399:
            raise BadRequest(f'{body.where}: "code" must be a 3xx redirect status, not {code}')
        with self._lock:
            self.http01.redirect(token, target, status=code)
            self._redirects.add(token)

    def _del_redirect(self, body: Body) -> None:
        token = _challenge_token(body.where, body.text("path"))
        with self._lock:
            if token not in self._redirects:
                return  # no redirect there (a published key authorization stays)
            self._redirects.discard(token)
            self.http01.remove(token)

    # -- TLS-ALPN-01

    @staticmethod
    def _tls_host(body: Body) -> str:
        host = body.host()
        return host[:-1] if host.endswith(".") else host

    def _add_tlsalpn01(self, body: Body) -> None:
        host, content = self._tls_host(body), body.text("content")
        try:
            self.tlsalpn01.publish(host, content)
        except ValueError as exc:
            raise BadRequest(f'{body.where}: "host": {exc}') from None

    def _del_tlsalpn01(self, body: Body) -> None:
        self.tlsalpn01.remove(self._tls_host(body))

    # -- request history

    def _http_events(self, host: str) -> List[Dict[str, Any]]:
        with _locked(self.http01):
            log = list(self.http01.requests)
        return [
            {"URL": path, "Host": header or "", "HTTPS": False, "ServerName": ""}
            for _method, path, header in log
            if history_key(strip_port(header or "")) == host
        ]

    def _tlsalpn_events(self, host: str) -> List[Dict[str, Any]]:
        with _locked(self.tlsalpn01):
            log = list(self.tlsalpn01.handshakes)
        return [
            {"ServerName": sni, "SupportedProtos": [alpn] if alpn else []}
            for sni, alpn in log
            if sni is not None and history_key(sni) == host
        ]

    def _http_history(self, body: Body) -> list:
        return self._http_events(history_key(body.host()))

    def _dns_history(self, body: Body) -> list:
        host = history_key(body.host())
        return [{"Question": {"Name": host + ".", "Qtype": _QTYPES.get(rtype, 0), "Qclass": 1}}
                for rtype in self.zone.queries(host)]

    def _tlsalpn_history(self, body: Body) -> list:
        return self._tlsalpn_events(history_key(body.host()))

    def _clear_history(self, body: Body) -> None:
        host = history_key(body.host())
        kind = body.text("type", allow_empty=True)
        if kind not in HISTORY_TYPES:
            raise BadRequest(
                f'{body.where}: {json.dumps(kind)} event type unknown (expected one of '
                f'{", ".join(HISTORY_TYPES)})'
            )
        if kind == "http":
            self._require("http01", body.where)
            with _locked(self.http01):
                self.http01.requests[:] = [
                    entry for entry in self.http01.requests
                    if history_key(strip_port(entry[2] or "")) != host
                ]
        elif kind == "tlsalpn":
            self._require("tlsalpn01", body.where)
            with _locked(self.tlsalpn01):
                self.tlsalpn01.handshakes[:] = [
                    entry for entry in self.tlsalpn01.handshakes
                    if entry[0] is None or history_key(entry[0]) != host
                ]
        else:
            self.zone.clear_queries(host)


def make_challtestsrv_app(zone: Any, http01: Any = None, tlsalpn01: Any = None) -> ChalltestsrvApp:
    """A WSGI application answering pebble-challtestsrv's management API.

    Args:
        zone: the :class:`~pytest_acme.va.zone.Zone` the DNS endpoints edit.
        http01: a running :class:`~pytest_acme.responders.Http01Responder`, or
            ``None``: then ``/add-http01`` and the other HTTP-01 endpoints answer
            ``503`` (``--http01-responder`` switches the responder on).
        tlsalpn01: a running :class:`~pytest_acme.responders.TlsAlpn01Responder`,
            or ``None`` (``503``; ``--tlsalpn01-responder`` switches it on).
    """
    return ChalltestsrvApp(zone, http01=http01, tlsalpn01=tlsalpn01)
