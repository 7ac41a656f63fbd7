"""The console's WSGI application: routes, the CSRF check, security headers.

Pages are GETs; every action is a POST that must carry the console's token
(``csrf``), drawn once per console from :mod:`secrets`.  A page of another
site open in the same browser can make the browser POST to the console, but it
cannot read the console's pages, so it cannot know the token: such a POST gets
403 and changes nothing (the synchronizer-token pattern; OWASP's CSRF
prevention cheat sheet).  After an action the browser is sent back (303) to
the page it came from, so a reload never repeats it.

The Content-Security-Policy allows the console's own stylesheet and script and
nothing else: no inline script or style, no other origin, no framing.
"""

from __future__ import annotations

import hmac
import secrets
from importlib import resources
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Mapping, Optional
from urllib.parse import urlsplit

from markupsafe import Markup
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from . import actions, blocks, pages, view

if TYPE_CHECKING:  # pragma: no cover
    from ..server import AcmeServer

__all__ = ["PREFIX", "ConsoleApp", "make_console_app", "mount", "CSP"]

#: Where the console is mounted on the management port (and on ``console_url``).
PREFIX = "/console"

CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")

_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_STATIC = {"console.css": "text/css; charset=utf-8",
           "console.js": "text/javascript; charset=utf-8"}

ROUTES = Map([
    Rule("/", endpoint="overview", methods=["GET"]),
    Rule("/orders", endpoint="orders", methods=["GET"]),
    Rule("/orders/<id>", endpoint="order", methods=["GET"]),
    Rule("/accounts", endpoint="accounts", methods=["GET"]),
    Rule("/accounts/<id>", endpoint="account", methods=["GET"]),
    Rule("/authorizations", endpoint="authorizations", methods=["GET"]),
    Rule("/authorizations/<id>", endpoint="authorization", methods=["GET"]),
    Rule("/certificates", endpoint="certificates", methods=["GET"]),
    Rule("/certificates/<id>", endpoint="certificate", methods=["GET"]),
    Rule("/certificates/<id>/chain.pem", endpoint="certificate_pem", methods=["GET"]),
    Rule("/certificates/<id>/renewal", endpoint="renewal", methods=["POST"]),
    Rule("/requests", endpoint="requests", methods=["GET"]),
    Rule("/requests/<int:number>", endpoint="request", methods=["GET"]),
    Rule("/faults", endpoint="faults", methods=["GET"]),
    Rule("/faults/arm", endpoint="fault_arm", methods=["POST"]),
    Rule("/faults/disarm", endpoint="fault_disarm", methods=["POST"]),
    Rule("/faults/clear", endpoint="faults_clear", methods=["POST"]),
    Rule("/dns", endpoint="dns", methods=["GET", "POST"]),
    Rule("/clock/advance", endpoint="clock_advance", methods=["POST"]),
    Rule("/clock/set", endpoint="clock_set", methods=["POST"]),
    Rule("/reset", endpoint="reset", methods=["POST"]),
    Rule("/static/<name>", endpoint="static", methods=["GET"]),
], strict_slashes=True)

#: POST endpoints and the action each runs (``renewal`` takes the certificate too).
_ACTIONS: Dict[str, Callable[..., Any]] = {
    "fault_arm": actions.arm_fault,
    "fault_disarm": actions.disarm_fault,
    "faults_clear": actions.clear_faults,
    "dns": actions.edit_dns,
    "clock_advance": actions.advance_clock,
    "clock_set": actions.set_clock,
    "reset": actions.reset,
}


class ConsoleApp:
    """The console of one server, as a WSGI application meant to be mounted at
    :data:`PREFIX` (see :func:`mount`).

    Args:
        server: the :class:`~pytest_acme.AcmeServer` it shows and steers.
        refresh_ms: how often the pages poll for changes, in milliseconds.
    """

    def __init__(self, server: "AcmeServer", *, refresh_ms: int = 1000) -> None:
        self.server = server
        self.refresh_ms = refresh_ms
        #: The CSRF token every form carries; one per console, never sent to another origin.
        self.token = secrets.token_urlsafe(32)

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        request = Request(environ)
        adapter = ROUTES.bind_to_environ(environ)
        try:
            endpoint, args = adapter.match()
            response = self.dispatch(request, adapter, endpoint, args)
        except actions.BadForm as e:
            response = self._page(request, adapter, "Cannot do that", "",
                                  blocks.error(str(e), self._back(request, adapter)), 400)
        except NotFound:
            response = self._page(request, adapter, "Not found", "", blocks.error(
                "Nothing is here: it may have been removed by a reset.",
                adapter.build("overview")), 404)
        except HTTPException as e:
            response = e.get_response(environ)
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        return response(environ, start_response)

    # -- dispatch ------------------------------------------------------------------

    def dispatch(self, request: Request, adapter: Any, endpoint: str, args: Mapping[str, Any]
                 ) -> Response:
        if request.method == "POST":
            return self._act(request, adapter, endpoint, args)
        if endpoint == "static":
            return self._static(args["name"])
        server = self.server
        here = request.script_root + request.full_path.rstrip("?")
        ctx = blocks.Context(server, url_builder(adapter), self.token, here)
        if endpoint == "certificate_pem":
            info = view.certificate(server, args["id"])
            if info is None:
                raise NotFound()
            return Response(pages.certificate_pem(info),
                            content_type="application/pem-certificate-chain",
                            headers={"Content-Disposition":
                                     f'attachment; filename="{info.serial:x}.pem"'})
        title, body = self._render(ctx, request, endpoint, args)
        return self._page(request, adapter, title, endpoint, body, 200)

    def _render(self, ctx: blocks.Context, request: Request, endpoint: str,
                args: Mapping[str, Any]) -> Any:
        server = self.server
        if endpoint == "overview":
            return "Overview", pages.overview(ctx)
        if endpoint == "orders":
            status = request.args.get("status", "")
            if status and status not in view.ORDER_STATUSES:
                raise actions.BadForm(f"status must be one of "
                                      f"{', '.join(view.ORDER_STATUSES)}, not {status!r}")
            return "Orders", pages.orders(ctx, status, request.args.get("identifier", ""))
        if endpoint == "accounts":
            return "Accounts", pages.accounts(ctx)
        if endpoint == "authorizations":
            return "Authorizations", pages.authorizations(ctx)
        if endpoint == "certificates":
            return "Certificates", pages.certificates(ctx)
        if endpoint == "requests":
            return "Requests", pages.requests(ctx)
        if endpoint == "faults":
            return "Faults", pages.faults(ctx)
        if endpoint == "dns":
            return "DNS zone", pages.dns(ctx)
        if endpoint == "request":
            record = dict(view.requests(server)).get(args["number"])
            if record is None:
                raise NotFound()
            return f"Request {args['number']}", pages.request(ctx, args["number"], record)
        finders = {"order": (view.order, pages.order, "Order"),
                   "account": (view.account, pages.account, "Account"),
                   "authorization": (view.authorization, pages.authorization, "Authorization"),
                   "certificate": (view.certificate, pages.certificate, "Certificate")}
        find, render, noun = finders[endpoint]
        info = find(server, args["id"])
        if info is None:
            raise NotFound()
        return f"{noun} {args['id']}", render(ctx, info)

    def _page(self, request: Request, adapter: Any, title: str, current: str,
              body: Markup, status: int) -> Response:
        html = blocks.layout(url_builder(adapter), title, current, body,
                             refresh_ms=self.refresh_ms)
        return Response(str(html), status=status, content_type="text/html; charset=utf-8")

    def _static(self, name: str) -> Response:
        if name not in _STATIC:
            raise NotFound()
        data = resources.files(__package__).joinpath("static", name).read_bytes()
        return Response(data, content_type=_STATIC[name])

    # -- actions -------------------------------------------------------------------

    def _act(self, request: Request, adapter: Any, endpoint: str, args: Mapping[str, Any]
             ) -> Response:
        sent = request.form.get("csrf", "")
        if not hmac.compare_digest(sent.encode("utf-8", "replace"), self.token.encode()):
            return self._page(request, adapter, "Refused", "", blocks.error(
                "This form did not come from this console (its token is missing or wrong). "
                "Reload the console page and try again.", adapter.build("overview")), 403)
        form = {k: v for k, v in request.form.items() if k not in ("csrf", "next")}
        if endpoint == "renewal":
            info = view.certificate(self.server, args["id"])
            if info is None:
                raise NotFound()
            actions.set_renewal(self.server, info.serial, form)
        else:
            _ACTIONS[endpoint](self.server, form)
        return redirect(self._back(request, adapter), 303)

    @staticmethod
    def _back(request: Request, adapter: Any) -> str:
        """The console page a form came from (its ``next`` field), else the overview;
        never another site."""
        wanted = request.form.get("next", "") if request.method == "POST" else ""
        root = adapter.build("overview")
        parts = urlsplit(wanted)
        if wanted.startswith(root) and not parts.scheme and not parts.netloc and \
                "\\" not in wanted:
            return wanted
        return root


def url_builder(adapter: Any) -> blocks.UrlFor:
    """``url_for("order", id=...)``: a console URL (with the mount point) from the routes."""
    def url_for(endpoint: str, **values: Any) -> str:
        return adapter.build(endpoint, values)
    return url_for


def make_console_app(server: "AcmeServer", *, refresh_ms: int = 1000) -> ConsoleApp:
    """The console of ``server``; serve it with :func:`mount` at :data:`PREFIX`."""
    return ConsoleApp(server, refresh_ms=refresh_ms)


def mount(console: ConsoleApp, other: Optional[Callable[..., Any]] = None) -> Any:
    """A WSGI application serving ``console`` under :data:`PREFIX` and ``other``
    (e.g. the management API) everywhere else (404 when None)."""
    return DispatcherMiddleware(other or NotFound(), {PREFIX: console})
