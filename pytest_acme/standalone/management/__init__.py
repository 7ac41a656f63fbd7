"""The management port's routes: Pebble's management API and pytest-acme's own JSON API.

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
  holds: ``?limit=N`` entries (by default :data:`.base.PAGE_SIZE` orders or
  :data:`.base.SMALL_PAGE_SIZE` accounts, events or requests; at most
  :data:`.base.MAX_PAGE_SIZE`) from ``?cursor=N`` (the position of the first, from 0).
  The body keeps its shape (a JSON array, or the text); ``Pytest-Acme-Total`` says
  how many entries there are, and while more follow, ``Link: <...>;rel="next"``
  names the next page (as RFC 8555 §7.1.2.1 pages an account's orders).  The
  cursor is a position: an entry forgotten or dropped meanwhile moves later ones
  one place forward.

Errors are JSON ``{"error": "..."}`` with a 4xx status; bad input never gets a 500.
Times are RFC 3339 UTC strings.

This module holds the routes and sends each request to its handler; the
handlers are in :mod:`.pebble_api` and :mod:`.json_api`, and what they share
(bad input, JSON answers, reading parameters, paging) in :mod:`.base`.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ...httpd import hosts
from ..replies import without_type_when_empty
from ..views import timestamp
from .base import BadInput, error_response, json_response
from .json_api import FAULT_CONSTRUCTORS, JsonApi
from .pebble_api import PebbleApi

__all__ = ["make_management_app", "ManagementApp", "ENDPOINTS", "FAULT_CONSTRUCTORS", "BadInput"]

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


class ManagementApp(PebbleApi, JsonApi):
    """The WSGI application of the management port (see the module docstring): routes a
    request to the handler of its endpoint, ``on_<endpoint>``.

    Args:
        server: the :class:`~pytest_acme.AcmeServer` to manage and inspect.
    """

    def __init__(self, server: Any) -> None:
        super().__init__(server)
        self.url_map = Map(_rules())

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        response = without_type_when_empty(self.dispatch(request))
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        host = request.environ.get("HTTP_HOST")
        bad_host = hosts.url_problem(host) if host is not None else None
        if bad_host is not None:  # replies link to URLs built on the Host
            return error_response(bad_host, 400)
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except MethodNotAllowed as e:
            allowed = ", ".join(sorted(e.valid_methods or ()))
            return error_response(f"{request.method} is not allowed on {request.path}; "
                                  f"use {allowed}", 405, [("Allow", allowed)])
        except HTTPException as e:
            if e.code is not None and 300 <= e.code < 400:  # a redirect (trailing slash)
                return e.get_response(request.environ)
            if e.code == 404:
                return error_response(f"nothing at {request.path} on the management port; "
                                      "GET /pytest-acme/ lists the endpoints", 404)
            return error_response(e.description or str(e), e.code or 400)
        try:
            return getattr(self, "on_" + endpoint)(request, **args)
        except BadInput as e:
            return error_response(str(e), e.status)

    def on_index(self, request: Request) -> Response:
        server = self.server
        return json_response({
            "server": "pytest-acme",
            "directory": server.directory_url if server.port is not None else None,
            "now": timestamp(server.clock.now()),
            "endpoints": [{"method": m, "path": p, "description": d} for m, p, d in ENDPOINTS],
            "faults": sorted(FAULT_CONSTRUCTORS),
        })


def make_management_app(server: Any) -> ManagementApp:
    """The WSGI application of the management port for ``server`` (an AcmeServer):
    Pebble's management API and pytest-acme's JSON API under ``/pytest-acme/``."""
    return ManagementApp(server)
