"""What every handler of the management port shares: its bad-input error, JSON answers,
reading bodies and parameters, and paging the listings."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, Iterable, List, Optional, Tuple
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from ... import inspection, strictjson

JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

_WHOLE = re.compile(r"[0-9]{1,9}")

#: Orders per page of a listing when ``?limit=`` names no other number.
PAGE_SIZE = 100
#: Accounts, events or requests per page (each a few hundred bytes of JSON).
SMALL_PAGE_SIZE = 1000
#: The largest ``?limit=``.  An order of 100 identifiers is about 160 KB of JSON, so
#: a default page of them is about 16 MB, the largest about 160 MB.
MAX_PAGE_SIZE = 1000


class BadInput(Exception):
    """The request is wrong: answered with this status and ``{"error": message}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def json_response(doc: Any, status: int = 200, headers: Optional[Dict[str, str]] = None
                  ) -> Response:
    """``doc`` as an indented JSON answer."""
    body = json.dumps(doc, indent=2, default=str) + "\n"
    return Response(body, status=status, content_type=JSON, headers=headers)


def error_response(message: str, status: int,
                   headers: Optional[Iterable[Tuple[str, str]]] = None) -> Response:
    """An error answer: ``{"error": message}`` with ``status`` (and ``headers``)."""
    response = json_response({"error": message}, status)
    for name, value in headers or ():
        response.headers[name] = value
    return response


class ManagementBase:
    """The management application's state and what its handlers share.

    Args:
        server: the :class:`~pytest_acme.AcmeServer` to manage and inspect.
    """

    def __init__(self, server: Any) -> None:
        self.server = server

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

    def _order(self, key: Any) -> inspection.OrderInfo:
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

    def _page(self, request: Request, total: int, small: bool = False
              ) -> Tuple[slice, Dict[str, str]]:
        """The entries ``?cursor=`` and ``?limit=`` (default :data:`PAGE_SIZE`, or
        :data:`SMALL_PAGE_SIZE` for ``small`` entries) ask for, out of ``total``, and
        the headers that say what else there is (see
        :mod:`pytest_acme.standalone.management`)."""
        cursor = self._whole(request, "cursor", 0)
        limit = self._whole(request, "limit", SMALL_PAGE_SIZE if small else PAGE_SIZE)
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

    def _order_page(self, request: Request) -> Tuple[List[inspection.OrderInfo], Dict[str, str]]:
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

    def _lookup(self, key: str) -> inspection.Info:
        try:
            return self.server.lookup(key)
        except KeyError:
            raise BadInput(f"no order (or other object) {key!r} on this server", 404) from None

    def _dropped(self, log: str) -> Dict[str, str]:
        """How many entries the log dropped, so a reader knows the list is incomplete."""
        return {"Pytest-Acme-Dropped": str(self.server.logs()[log]["dropped"])}
