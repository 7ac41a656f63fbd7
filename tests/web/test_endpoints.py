"""The endpoint registry matches the route table: every route has exactly one
handler, every handler a route, and the handler modules are listed, not found by
their imports' side effects."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import pytest_acme.web
from pytest_acme.web import endpoints, exchange
from pytest_acme.web.exchange import Reply, endpoint, registry
from pytest_acme.web.routes import ENDPOINT_NAMES, RULES


def test_every_route_has_exactly_one_handler_and_every_handler_a_route():
    assert sorted(endpoints.ENDPOINTS) == sorted(ENDPOINT_NAMES)
    handlers = [handler for handler, _ in endpoints.ENDPOINTS.values()]
    assert len(set(handlers)) == len(handlers)  # no function answers two endpoints


def test_every_declared_handler_is_in_the_registry():
    """A module with handlers that is not in HANDLER_MODULES would leave them out."""
    for info in pkgutil.iter_modules(pytest_acme.web.__path__):
        importlib.import_module(f"pytest_acme.web.{info.name}")
    registered = {handler for handler, _ in endpoints.ENDPOINTS.values()}
    declared = set(exchange._DECLARED)
    assert declared - registered == set()


def test_unsigned_endpoints_are_the_get_only_routes_and_ocsp():
    """auth=None where the route table allows no POST, and for OCSP, whose POSTed
    requests are not JWS (RFC 6960 Appendix A.1)."""
    get_only = {str(rule.endpoint) for rule in RULES.iter_rules()
                if "POST" not in (rule.methods or ())}
    unsigned = {name for name, (_, auth) in endpoints.ENDPOINTS.items() if auth is None}
    assert unsigned == get_only | {"ocsp"}


def test_the_registry_refuses_two_handlers_for_one_endpoint_and_unlisted_ones():
    module = types.ModuleType("handlers_under_test")

    @endpoint("one", auth=None)
    def first(app, ex):
        return Reply()

    @endpoint("one", auth=None)
    def second(app, ex):
        return Reply()

    def undeclared(app, ex):
        return Reply()

    for fn in (first, second, undeclared):
        fn.__module__ = module.__name__
    try:
        module.HANDLERS = (first, second)
        with pytest.raises(ValueError, match="two handlers for endpoint 'one'"):
            registry([module])
        module.HANDLERS = (first,)
        with pytest.raises(ValueError, match="does not list in HANDLERS: second"):
            registry([module])
        module.HANDLERS = (undeclared,)
        with pytest.raises(ValueError, match="undeclared is not declared with @endpoint"):
            registry([module])
    finally:
        for fn in (first, second):
            exchange._DECLARED.pop(fn)
