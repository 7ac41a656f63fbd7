"""The management port: Pebble's management API and pytest-acme's own JSON API.

:func:`make_management_app` returns one WSGI application serving two APIs:

* **Pebble's management interface** (the paths and shapes of Pebble's
  ``wfe/wfe.go``), so tooling written for Pebble keeps working:

  ==================================  =================================================
  ``GET /roots/N``                    the root of chain N (0: default), PEM
  ``GET /root-keys/N``                its private key, PEM
  ``GET /intermediates/N``            chain N's certificate of the issuing key, PEM
  ``GET /intermediate-keys/N``        the issuing key (one for every chain), PEM
  ``GET /cert-status-by-serial/<hex>`` ``{"Status", "Serial", "Certificate", "Reason",
                                      "RevokedAt"}``
  ``POST /set-renewal-info/``         ``{"Certificate": PEM, "ARIResponse": RenewalInfo
                                      JSON}``: what renewalInfo says about it
  ==================================  =================================================

* **pytest-acme's JSON API** under ``/pytest-acme/``: what happened (orders,
  accounts, describe text, the event timeline, the request log, faults) and
  what to do next (arm faults, expire or invalidate an order, move the clock,
  reset).  ``GET /pytest-acme/`` lists the endpoints.

  The listings (orders, accounts, describe and describe.json of every order, events,
  requests) come in pages, so one answer stays small however much the server
  holds: ``?limit=N`` entries (by default :data:`PAGE_SIZE` orders or
  :data:`SMALL_PAGE_SIZE` accounts, events or requests; at most
  :data:`MAX_PAGE_SIZE`) from ``?cursor=N`` (the position of the first, from 0).
  The body keeps its shape (a JSON array, or the text); ``Pytest-Acme-Total`` says
  how many entries there are, and while more follow, ``Link: <...>;rel="next"``
  names the next page (as RFC 8555 §7.1.2.1 pages an account's orders).  The
  cursor is a position: an entry forgotten or dropped meanwhile moves later ones
  one place forward.

Errors are JSON ``{"error": "..."}`` with a 4xx status; bad input never gets a 500.
Times are RFC 3339 UTC strings.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .. import faults as _faults
from .. import inspection as _inspect
from .. import strictjson
from ..httpd import hosts
from ..protocol import ari, problems
from ..protocol.states import Event, can
from .replies import without_type_when_empty
from .views import account_json, event_json, fault_json, info_json, order_json, request_json, timestamp

__all__ = ["make_management_app", "ManagementApp", "ENDPOINTS"]

#: Pebble's content types (wfe.go: handleCert, handleKey, writeJSONResponse).
PEM_CHAIN = "application/pem-certificate-chain; charset=utf-8"
PEM_KEY = "application/x-pem-file; charset=utf-8"
JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

#: Fault constructors that ``POST /pytest-acme/faults`` may call, by name.
FAULT_CONSTRUCTORS: Dict[str, Callable[..., _faults.Fault]] = {
    f.__name__: f for f in _faults.CONSTRUCTORS
}

_HEX = re.compile(r"[0-9a-fA-F]{1,256}")
_WHOLE = re.compile(r"[0-9]{1,9}")

#: Orders per page of a listing when ``?limit=`` names no other number.
PAGE_SIZE = 100
#: Accounts, events or requests per page (each a few hundred bytes of JSON).
SMALL_PAGE_SIZE = 1000
#: The largest ``?limit=``.  An order of 100 identifiers is about 160 KB of JSON, so
#: a default page of them is about 16 MB, the largest about 160 MB.
MAX_PAGE_SIZE = 1000

#: (method, path, what it does): the index at ``GET /pytest-acme/``.
ENDPOINTS: Tuple[Tuple[str, str, str], ...] = (
    ("GET", "/roots/0", "Pebble: the root certificate (PEM); /roots/N: alternate chain N's"),
    ("GET", "/root-keys/0", "Pebble: the root's private key (PEM); /root-keys/N likewise"),
    ("GET", "/intermediates/0",
     "Pebble: the issuing intermediate (PEM); /intermediates/N: chain N's certificate of it"),
    ("GET", "/intermediate-keys/0", "Pebble: the issuing intermediate's private key (PEM)"),
    ("GET", "/cert-status-by-serial/<hex serial>",
     "Pebble: {Status, Serial, Certificate, Reason, RevokedAt} of an issued certificate"),
    ("POST", "/set-renewal-info/",
     'Pebble: {"Certificate": PEM, "ARIResponse": "{\\"suggestedWindow\\": ...}"} sets '
     "that certificate's renewalInfo answer"),
    ("GET", "/pytest-acme/", "this index"),
    ("GET", "/pytest-acme/orders?cursor=0&limit=100",
     "every order: status, identifiers, authorizations, ... (listings come in pages: "
     'limit= entries from cursor=, Link rel="next" names the next, Pytest-Acme-Total '
     "counts them)"),
    ("GET", "/pytest-acme/accounts", "every account"),
    ("GET", "/pytest-acme/describe?order=<url or id>",
     "kubectl-describe-like text of one order (or any object), or of all orders"),
    ("GET", "/pytest-acme/describe.json?order=<url or id>",
     "the same as JSON: one object, or every order"),
    ("GET", "/pytest-acme/events?order=<url or id>", "the event timeline (of one order)"),
    ("GET", "/pytest-acme/requests?last=N", "the request log (the last N requests)"),
    ("GET", "/pytest-acme/logs",
     "the bounded logs: entries kept, limit and dropped, for events and requests"),
    ("GET", "/pytest-acme/faults", "armed faults and the firings so far"),
    ("POST", "/pytest-acme/faults",
     'arm a fault: {"fault": "bad_nonce", "args": {"times": 2}}'),
    ("DELETE", "/pytest-acme/faults", "disarm every fault and forget the firings"),
    ("POST", "/pytest-acme/orders/expire", 'expire an order now: {"order": "<url or id>"}'),
    ("POST", "/pytest-acme/orders/invalidate",
     'make an order invalid now: {"order": "<url or id>", "problem": "serverInternal", '
     '"detail": "..."} (problem and detail optional)'),
    ("GET", "/pytest-acme/clock", "the server clock: {now, offset_seconds}"),
    ("POST", "/pytest-acme/clock/advance", 'move the server clock forward: {"seconds": N}'),
    ("POST", "/pytest-acme/reset", "forget accounts, orders, events, requests and faults"),
)


class BadInput(Exception):
    """The request is wrong: answered with this status and ``{"error": message}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# -- the application -----------------------------------------------------------------


def _rules() -> List[Rule]:
    return [
        # Pebble (wfe.go: RootCertPath, rootKeyPath, intermediateCertPath,
        # intermediateKeyPath, certStatusBySerial, set-renewal-info)
        Rule("/roots/<no>", endpoint="root", methods=["GET"]),
        Rule("/root-keys/<no>", endpoint="root_key", methods=["GET"]),
        Rule("/intermediates/<no>", endpoint="intermediate", methods=["GET"]),
        Rule("/intermediate-keys/<no>", endpoint="intermediate_key", methods=["GET"]),
        Rule("/cert-status-by-serial/<serial>", endpoint="cert_status", methods=["GET"]),
        Rule("/set-renewal-info/", endpoint="set_renewal_info", methods=["POST"]),
        # pytest-acme
        Rule("/pytest-acme/", endpoint="index", methods=["GET"]),
        Rule("/pytest-acme/orders", endpoint="orders", methods=["GET"]),
        Rule("/pytest-acme/orders/expire", endpoint="expire_order", methods=["POST"]),
        Rule("/pytest-acme/orders/invalidate", endpoint="invalidate_order", methods=["POST"]),
        Rule("/pytest-acme/accounts", endpoint="accounts", methods=["GET"]),
        Rule("/pytest-acme/describe", endpoint="describe", methods=["GET"]),
        Rule("/pytest-acme/describe.json", endpoint="describe_json", methods=["GET"]),
        Rule("/pytest-acme/events", endpoint="events", methods=["GET"]),
        Rule("/pytest-acme/requests", endpoint="requests", methods=["GET"]),
        Rule("/pytest-acme/logs", endpoint="logs", methods=["GET"]),
        Rule("/pytest-acme/faults", endpoint="faults", methods=["GET"]),
        Rule("/pytest-acme/faults", endpoint="arm_fault", methods=["POST"]),
        Rule("/pytest-acme/faults", endpoint="clear_faults", methods=["DELETE"]),
        Rule("/pytest-acme/clock", endpoint="clock", methods=["GET"]),
        Rule("/pytest-acme/clock/advance", endpoint="advance_clock", methods=["POST"]),
        Rule("/pytest-acme/reset", endpoint="reset", methods=["POST"]),
    ]


def _json_response(doc: Any, status: int = 200, headers: Optional[Dict[str, str]] = None
                   ) -> Response:
    body = json.dumps(doc, indent=2, default=str) + "\n"
    return Response(body, status=status, content_type=JSON, headers=headers)


def _error(message: str, status: int, headers: Optional[Iterable[Tuple[str, str]]] = None
           ) -> Response:
    response = _json_response({"error": message}, status)
    for name, value in headers or ():
        response.headers[name] = value
    return response


class ManagementApp:
    """The WSGI application of the management port (see the module docstring).

    Args:
        server: the :class:`~pytest_acme.AcmeServer` to manage and inspect.
    """

    def __init__(self, server: Any) -> None:
        self.server = server
        self.url_map = Map(_rules())

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        response = without_type_when_empty(self.dispatch(request))
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        host = request.environ.get("HTTP_HOST")
        bad_host = hosts.url_problem(host) if host is not None else None
        if bad_host is not None:  # replies link to URLs built on the Host
            return _error(bad_host, 400)
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except MethodNotAllowed as e:
            allowed = ", ".join(sorted(e.valid_methods or ()))
            return _error(f"{request.method} is not allowed on {request.path}; use {allowed}",
                          405, [("Allow", allowed)])
        except HTTPException as e:
            if e.code is not None and 300 <= e.code < 400:  # a redirect (trailing slash)
                return e.get_response(request.environ)
            if e.code == 404:
                return _error(f"nothing at {request.path} on the management port; "
                              "GET /pytest-acme/ lists the endpoints", 404)
            return _error(e.description or str(e), e.code or 400)
        try:
            return getattr(self, "on_" + endpoint)(request, **args)
        except BadInput as e:
            return _error(str(e), e.status)

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    def _body(request: Request, *, required: bool = True) -> Dict[str, Any]:
        raw = request.get_data(cache=True)
        if not raw.strip():
            if required:
                raise BadInput("the request needs a JSON object body")
            return {}
        try:
            doc = strictjson.loads(raw, unique=False)
        except strictjson.JsonError as e:
            raise BadInput(f"the body is not JSON: {e}") from None
        if not isinstance(doc, dict):
            raise BadInput(f"the body must be a JSON object, got {type(doc).__name__}")
        return doc

    def _order(self, key: Any) -> _inspect.OrderInfo:
        if not isinstance(key, str) or not key.strip():
            raise BadInput('"order" must be an order URL or id (a non-empty string)')
        try:
            return self.server.order(key)
        except KeyError:
            raise BadInput(f"no order {key!r} on this server", 404) from None

    def _order_param(self, request: Request) -> Optional[str]:
        value = request.args.get("order")
        if value is None:
            return None
        if not value.strip():
            raise BadInput("order= needs an order URL or id")
        return value

    @staticmethod
    def _whole(request: Request, name: str, default: int) -> int:
        value = request.args.get(name)
        if value is None:
            return default
        if not _WHOLE.fullmatch(value.strip()):
            raise BadInput(f"{name}= must be a whole number (0 to 999999999), got "
                           f"{value[:20]!r}")
        return int(value)

    def _page(self, request: Request, total: int, size: Optional[int] = None
              ) -> Tuple[slice, Dict[str, str]]:
        """The entries ``?cursor=`` and ``?limit=`` (default ``size``, or
        :data:`PAGE_SIZE`) ask for, out of ``total``, and the headers that say what
        else there is (see the module docstring)."""
        cursor = self._whole(request, "cursor", 0)
        limit = self._whole(request, "limit", size or PAGE_SIZE)
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise BadInput(f"limit= must be 1 to {MAX_PAGE_SIZE} entries per page, "
                           f"got {limit}")
        headers = {"Pytest-Acme-Total": str(total)}
        end = cursor + limit
        if end < total:
            query = [(k, v) for k, v in request.args.items(multi=True)
                     if k not in ("cursor", "limit")]
            query += [("cursor", str(end)), ("limit", str(limit))]
            # A path-absolute reference (RFC 8288 §3.1): it needs no trusted Host.
            headers["Link"] = f'<{request.path}?{urlencode(query)}>;rel="next"'
        return slice(cursor, end), headers

    def _order_page(self, request: Request) -> Tuple[List[_inspect.OrderInfo], Dict[str, str]]:
        """A page of the orders, oldest first; only its orders are looked at."""
        store = self.server.app.store
        with store.lock:
            ids = list(store.orders)
        window, headers = self._page(request, len(ids))
        infos = []
        for id in ids[window]:
            try:
                infos.append(self.server.order(id))
            except KeyError:  # forgotten since the ids were read
                continue
        return infos, headers

    # -- Pebble ------------------------------------------------------------------------

    @staticmethod
    def _index(no: str) -> int:
        # Pebble: strconv.Atoi(path) or 404
        if not re.fullmatch(r"[0-9]{1,9}", no):
            raise BadInput(f"{no!r} is not a certificate index; there is only 0", 404)
        return int(no)

    def _issuer(self, kind: str, no: str) -> Any:
        """Pebble: ``/roots/N`` is chain N's root, ``/intermediates/N`` the certificate
        chain N has for the issuing key (the intermediate nearest the leaf)."""
        index = self._index(no)
        chains = self.server.app.ca.chains
        if index >= len(chains):
            raise BadInput(f"no {kind} {index}: this CA has {len(chains)} "
                           f"({', '.join(str(i) for i in range(len(chains)))}); "
                           "alternate_roots adds more", 404)
        chain = chains[index]
        return chain.root if kind == "root" else chain.intermediates[0]

    def _pem(self, request: Request, kind: str, no: str, data: bytes, content_type: str
             ) -> Response:
        # Pebble links every other chain's counterpart with rel="alternate".
        response = Response(data, content_type=content_type)
        base = request.base_url.rsplit("/", 1)[0]
        for i in range(len(self.server.app.ca.chains)):
            if i != self._index(no):
                response.headers.add("Link", f'<{base}/{i}>;rel="alternate"')
        return response

    def on_root(self, request: Request, no: str) -> Response:
        return self._pem(request, "root", no, self._issuer("root", no).cert_pem, PEM_CHAIN)

    def on_intermediate(self, request: Request, no: str) -> Response:
        return self._pem(request, "intermediate", no,
                         self._issuer("intermediate", no).cert_pem, PEM_CHAIN)

    @staticmethod
    def _key_pem(issuer: Any) -> bytes:
        # Pebble writes PKCS#1 ("RSA PRIVATE KEY"); the traditional OpenSSL format is
        # that for RSA and SEC 1 ("EC PRIVATE KEY") for the ECDSA keys pytest-acme uses.
        return issuer.key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.TraditionalOpenSSL,
                                        serialization.NoEncryption())

    def on_root_key(self, request: Request, no: str) -> Response:
        return self._pem(request, "root", no, self._key_pem(self._issuer("root", no)), PEM_KEY)

    def on_intermediate_key(self, request: Request, no: str) -> Response:
        return self._pem(request, "intermediate", no,
                         self._key_pem(self._issuer("intermediate", no)), PEM_KEY)

    def on_cert_status(self, request: Request, serial: str) -> Response:
        if not _HEX.fullmatch(serial):
            raise BadInput(f"{serial!r} is not a hexadecimal serial number (no 0x prefix)")
        number = int(serial, 16)
        store = self.server.app.store
        with store.lock:
            cert = store.certificates_by_serial.get(number)
            if cert is None:
                raise BadInput(f"no certificate with serial {number:x} on this server", 404)
            revoked_at = getattr(cert, "revoked_at", None)
            reason = getattr(cert, "revocation_reason", None)
            leaf_pem = cert.leaf.public_bytes(serialization.Encoding.PEM).decode("ascii")
        # Pebble's struct, in its field order: Reason and RevokedAt only when revoked.
        doc: Dict[str, Any] = {
            "Status": "Revoked" if revoked_at is not None else "Valid",
            "Serial": f"{number:x}",
            "Certificate": leaf_pem,
        }
        if revoked_at is not None:
            if reason is not None:
                doc["Reason"] = int(reason)
            doc["RevokedAt"] = timestamp(revoked_at)
        return _json_response(doc)

    def on_set_renewal_info(self, request: Request) -> Response:
        """Pebble: ``{"Certificate": PEM, "ARIResponse": "<RenewalInfo JSON>"}`` (field
        names in any case, as Go decodes them; ``ARIResponse`` may also be an object)."""
        body = {k.lower(): v for k, v in self._body(request).items()}
        pem, answer = body.get("certificate"), body.get("ariresponse")
        if not isinstance(pem, str) or "BEGIN CERTIFICATE" not in pem:
            raise BadInput('"Certificate" must be the PEM of a certificate this server issued')
        if isinstance(answer, str):
            try:
                answer = strictjson.loads(answer, unique=False)
            except strictjson.JsonError as e:
                raise BadInput(f'"ARIResponse" is not JSON: {e}') from None
        try:
            window = ari.RenewalWindow.from_json(answer)
        except ValueError as e:
            raise BadInput(f'"ARIResponse": {e}') from None
        try:
            leaf = x509.load_pem_x509_certificate(pem.encode())
        except ValueError as e:
            raise BadInput(f'"Certificate" is not a PEM certificate: {e}') from None
        try:
            cert_id = self.server.set_renewal_info(leaf, window.start, window.end,
                                                   window.explanation_url, allow_instant=True)
        except KeyError:
            raise BadInput(f"no certificate with serial {leaf.serial_number:x} on this "
                           "server", 404) from None
        return _json_response({"certID": cert_id, **window.to_json()})

    # -- pytest-acme: reading -----------------------------------------------------------

    def on_index(self, request: Request) -> Response:
        server = self.server
        return _json_response({
            "server": "pytest-acme",
            "directory": server.directory_url if server.port is not None else None,
            "now": timestamp(server.clock.now()),
            "endpoints": [{"method": m, "path": p, "description": d} for m, p, d in ENDPOINTS],
            "faults": sorted(FAULT_CONSTRUCTORS),
        })

    def on_orders(self, request: Request) -> Response:
        infos, headers = self._order_page(request)
        return _json_response([order_json(o) for o in infos], headers=headers)

    def on_accounts(self, request: Request) -> Response:
        store = self.server.app.store
        with store.lock:
            ids = list(store.accounts)
        window, headers = self._page(request, len(ids), SMALL_PAGE_SIZE)
        infos = []
        for id in ids[window]:
            try:
                infos.append(self.server.lookup(id))
            except KeyError:
                continue
        return _json_response([account_json(a) for a in infos
                               if isinstance(a, _inspect.AccountInfo)], headers=headers)

    def _lookup(self, key: str) -> _inspect.Info:
        try:
            return self.server.lookup(key)
        except KeyError:
            raise BadInput(f"no order (or other object) {key!r} on this server", 404) from None

    def on_describe(self, request: Request) -> Response:
        key = self._order_param(request)
        if key is not None:
            text = self.server.describe(self._lookup(key))
            return Response(text + "\n", content_type=TEXT)
        infos, headers = self._order_page(request)
        if infos or headers["Pytest-Acme-Total"] == "0":
            text = self.server.describe(infos)  # "No orders on this server." if none
        else:
            text = f"No orders from cursor={self._whole(request, 'cursor', 0)} on."
        if "Link" in headers:
            following = headers["Link"].split(">", 1)[0][1:]
            text += (f"\n\n... more orders ({headers['Pytest-Acme-Total']} in all): "
                     f"GET {following}")
        return Response(text + "\n", content_type=TEXT, headers=headers)

    def on_describe_json(self, request: Request) -> Response:
        key = self._order_param(request)
        if key is not None:
            return _json_response(info_json(self._lookup(key)))
        infos, headers = self._order_page(request)
        return _json_response([order_json(o, events=True) for o in infos], headers=headers)

    def on_events(self, request: Request) -> Response:
        key = self._order_param(request)
        events = self._order(key).events if key is not None else self.server.events
        window, headers = self._page(request, len(events), SMALL_PAGE_SIZE)
        return _json_response([event_json(e) for e in events[window]],
                              headers={**self._dropped("events"), **headers})

    def on_requests(self, request: Request) -> Response:
        records = self.server.requests
        last = request.args.get("last")
        if last is not None:
            if not re.fullmatch(r"[0-9]{1,9}", last.strip()):
                raise BadInput(f"last= must be a whole number of requests, got {last!r}")
            n = int(last)
            records = records[-n:] if n else []
        window, headers = self._page(request, len(records), SMALL_PAGE_SIZE)
        return _json_response([request_json(r) for r in records[window]],
                              headers={**self._dropped("requests"), **headers})

    def _dropped(self, log: str) -> Dict[str, str]:
        """How many entries the log dropped, so a reader knows the list is incomplete."""
        return {"Pytest-Acme-Dropped": str(self.server.logs()[log]["dropped"])}

    def on_logs(self, request: Request) -> Response:
        return _json_response(self.server.logs())

    def on_faults(self, request: Request) -> Response:
        plan = self.server.faults
        return _json_response({
            "armed": [fault_json(f) for f in list(plan.faults)],
            "fired": [{"time": timestamp(f.time), "kind": f.fault.kind,
                       "describe": f.fault.describe(), "where": f.where,
                       "order_id": f.order_id} for f in list(plan.fired)],
        })

    def on_clock(self, request: Request) -> Response:
        clock = self.server.clock
        return _json_response({"now": timestamp(clock.now()),
                               "offset_seconds": clock.offset.total_seconds()})

    # -- pytest-acme: acting ---------------------------------------------------------------

    def on_arm_fault(self, request: Request) -> Response:
        body = self._body(request)
        name = body.get("fault")
        if not isinstance(name, str) or name not in FAULT_CONSTRUCTORS:
            raise BadInput(f"unknown fault {name!r}; use one of "
                           f"{', '.join(sorted(FAULT_CONSTRUCTORS))}")
        args = body.get("args", {})
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise BadInput('"args" must be a JSON object of keyword arguments')
        unknown = set(body) - {"fault", "args"}
        if unknown:
            raise BadInput(f"unknown field(s) {', '.join(sorted(unknown))}; "
                           'send {"fault": name, "args": {...}}')
        try:
            fault = FAULT_CONSTRUCTORS[name](**args)
        except Exception as e:  # TypeError, ValueError, ...: the arguments are wrong
            raise BadInput(f"{name}(**{json.dumps(args)}): {e}") from None
        self.server.faults.add(fault)
        return _json_response(fault_json(fault), 201)

    def on_clear_faults(self, request: Request) -> Response:
        plan = self.server.faults
        count = len(plan.faults)
        plan.clear()
        return _json_response({"cleared": count})

    def on_expire_order(self, request: Request) -> Response:
        info = self._order(self._body(request).get("order"))
        self.server.faults.expire_order(info.id)
        return _json_response(order_json(self.server.order(info.id)))

    def on_invalidate_order(self, request: Request) -> Response:
        body = self._body(request)
        info = self._order(body.get("order"))
        problem_type = body.get("problem", "serverInternal")
        detail = body.get("detail", "the order was invalidated through the management API")
        if not isinstance(problem_type, str) or not isinstance(detail, str):
            raise BadInput('"problem" and "detail" must be strings')
        try:
            problem = problems.from_type(problem_type, detail)
        except ValueError as e:
            raise BadInput(str(e)) from None
        store = self.server.app.store
        with store.lock:  # reentrant: invalidate_order takes it again
            record = store.orders.get(info.id)
            if record is None:
                raise BadInput(f"no order {info.id!r} on this server", 404)
            if not can(record, Event.FAIL):
                raise BadInput(f"order {info.url} is {record.status.value}; only a pending, "
                               "ready or processing order can be invalidated", 409)
            self.server.faults.invalidate_order(info.id, problem)
        return _json_response(order_json(self.server.order(info.id)))

    def on_advance_clock(self, request: Request) -> Response:
        seconds = self._body(request).get("seconds")
        if (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                or not math.isfinite(seconds) or seconds < 0):
            raise BadInput(f'"seconds" must be a finite number >= 0, got {seconds!r}')
        clock = self.server.clock
        try:  # refuse what would push the clock past year 9999 (every read would fail)
            delta = dt.timedelta(seconds=seconds)
            clock.now() + delta + dt.timedelta(days=3650)
        except OverflowError:
            raise BadInput(f"{seconds} seconds is too far ahead for the server clock") from None
        now = clock.advance(delta)
        return _json_response({"now": timestamp(now),
                               "offset_seconds": clock.offset.total_seconds()})

    def on_reset(self, request: Request) -> Response:
        self.server.reset()
        return _json_response({"reset": True, "now": timestamp(self.server.clock.now())})


def make_management_app(server: Any) -> ManagementApp:
    """The WSGI application of the management port for ``server`` (an AcmeServer):
    Pebble's management API and pytest-acme's JSON API under ``/pytest-acme/``."""
    return ManagementApp(server)
