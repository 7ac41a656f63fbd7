"""The endpoint registry: which handler answers each endpoint of the route table.

The handler modules are listed here, once, not imported for their side effects.
Each lists its handlers in ``HANDLERS`` and declares each one's endpoint name and
key form with :func:`.exchange.endpoint`; :data:`ENDPOINTS` is built from them.
The route table (:data:`.routes.RULES`) stays the one source of endpoint names:
a test checks that every route has exactly one handler and every handler a route.
"""

from __future__ import annotations

from typing import Dict

from . import accounts, authorizations, certs, directory, key_change, ocsp, orders, revocation
from .exchange import Endpoint, registry

#: Every module that holds handlers.
HANDLER_MODULES = (directory, accounts, key_change, orders, authorizations, certs, revocation,
                   ocsp)

#: Endpoint name -> (handler, key form of its JWS; None for an unsigned GET).
ENDPOINTS: Dict[str, Endpoint] = registry(HANDLER_MODULES)
