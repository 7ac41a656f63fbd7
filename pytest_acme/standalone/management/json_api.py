"""pytest-acme's own JSON API under ``/pytest-acme/``: what happened (orders, accounts,
describe text, events, requests, faults, the clock) and what to do next (arm faults,
expire or invalidate an order, move the clock, reset)."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Callable, Dict

from werkzeug.wrappers import Request, Response

from ... import faults as _faults
from ... import inspection
from ...protocol import problems
from ...protocol.states import Event, can
from ..views import (
    account_json,
    event_json,
    fault_json,
    info_json,
    order_json,
    request_json,
    timestamp,
)
from .base import TEXT, BadInput, ManagementBase, json_response

#: Fault constructors that ``POST /pytest-acme/faults`` may call, by name.
FAULT_CONSTRUCTORS: Dict[str, Callable[..., _faults.Fault]] = {
    f.__name__: f for f in _faults.CONSTRUCTORS
}


class JsonApi(ManagementBase):
    """The handlers of pytest-acme's JSON API (but its index, which lists every route)."""

    # -- reading -----------------------------------------------------------------------

    def on_orders(self, request: Request) -> Response:
        infos, headers = self._order_page(request)
        return json_response([order_json(o) for o in infos], headers=headers)

    def on_accounts(self, request: Request) -> Response:
        store = self.server.app.store
        with store.lock:
            ids = list(store.accounts)
        window, headers = self._page(request, len(ids), small=True)
        infos = []
        for id in ids[window]:
            try:
                infos.append(self.server.lookup(id))
            except KeyError:
                continue
        return json_response([account_json(a) for a in infos
                               if isinstance(a, inspection.AccountInfo)], headers=headers)


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
            return json_response(info_json(self._lookup(key)))
        infos, headers = self._order_page(request)
        return json_response([order_json(o, events=True) for o in infos], headers=headers)

    def on_events(self, request: Request) -> Response:
        key = self._order_param(request)
        events = self._order(key).events if key is not None else self.server.events
        window, headers = self._page(request, len(events), small=True)
        return json_response([event_json(e) for e in events[window]],
                              headers={**self._dropped("events"), **headers})

    def on_requests(self, request: Request) -> Response:
        records = self.server.requests
        last = request.args.get("last")
        if last is not None:
            if not re.fullmatch(r"[0-9]{1,9}", last.strip()):
                raise BadInput(f"last= must be a whole number of requests, got {last!r}")
            n = int(last)
            records = records[-n:] if n else []
        window, headers = self._page(request, len(records), small=True)
        return json_response([request_json(r) for r in records[window]],
                              headers={**self._dropped("requests"), **headers})


    def on_logs(self, request: Request) -> Response:
        return json_response(self.server.logs())

    def on_faults(self, request: Request) -> Response:
        plan = self.server.faults
        return json_response({
            "armed": [fault_json(f) for f in list(plan.faults)],
            "fired": [{"time": timestamp(f.time), "kind": f.fault.kind,
                       "describe": f.fault.describe(), "where": f.where,
                       "order_id": f.order_id} for f in list(plan.fired)],
        })

    def on_clock(self, request: Request) -> Response:
        clock = self.server.clock
        return json_response({"now": timestamp(clock.now()),
                               "offset_seconds": clock.offset.total_seconds()})

    # -- acting ------------------------------------------------------------------------

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
        return json_response(fault_json(fault), 201)

    def on_clear_faults(self, request: Request) -> Response:
        plan = self.server.faults
        count = len(plan.faults)
        plan.clear()
        return json_response({"cleared": count})

    def on_expire_order(self, request: Request) -> Response:
        info = self._order(self._body(request).get("order"))
        self.server.faults.expire_order(info.id)
        return json_response(order_json(self.server.order(info.id)))

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
        return json_response(order_json(self.server.order(info.id)))

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
        return json_response({"now": timestamp(now),
                               "offset_seconds": clock.offset.total_seconds()})

    def on_reset(self, request: Request) -> Response:
        self.server.reset()
        return json_response({"reset": True, "now": timestamp(self.server.clock.now())})
