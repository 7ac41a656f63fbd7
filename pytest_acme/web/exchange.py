"""What the handler modules share: the request and reply types, the endpoint
declarations, the guards and the reply builders.

Each handler receives the :class:`~pytest_acme.web.app.AcmeApp`, an
:class:`Exchange` (the request, its URLs and, for POSTs, the verified
:class:`~pytest_acme.web.jws.SignedRequest`) and the route's arguments.  It
returns a :class:`Reply` or raises a :class:`~pytest_acme.protocol.problems.Problem`;
it never renders errors itself.  Handler modules import what they share from
here, never from each other; a resource read by several endpoints (an order, an
authorization, an account) has its one reply builder here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from types import ModuleType
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Optional,
    Tuple,
    TypeVar,
    Union,
)

from werkzeug.wrappers import Request

from ..httpd import Refusal, body_length
from ..protocol import problems
from ..protocol.csr import spki
from ..protocol.resources import Account, Authorization, Certificate, Challenge, Order
from ..protocol.states import Status
from .jws import KID, SignedRequest
from .polling import retry_after
from .routes import Urls

if TYPE_CHECKING:
    from .app import AcmeApp

JsonBody = Dict[str, Any]


@dataclass
class Reply:
    """What a handler answers; the app adds nonce, Link index and cache headers."""

    body: Union[JsonBody, bytes, None] = None
    status: int = 200
    headers: List[Tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json"


#: Paths and queries that a request URL holds as they are (no quoting to redo).
_PLAIN_URL_PART = re.compile(r"[A-Za-z0-9_.~/=&-]*")


def request_url(environ: Dict[str, Any], base: str) -> Optional[str]:
    """The request URL (what Werkzeug's ``request.url`` says) when it needs no
    quoting; None otherwise, and the caller asks Werkzeug."""
    path, query = environ.get("PATH_INFO") or "", environ.get("QUERY_STRING") or ""
    if not _PLAIN_URL_PART.fullmatch(path) or not _PLAIN_URL_PART.fullmatch(query):
        return None
    url = base + path.lstrip("/")
    return f"{url}?{query}" if query else url


def refused(refusal: Refusal) -> problems.Problem:
    """The problem a request gets when its framing or Host is refused."""
    return problems.Malformed(refusal.detail, status=refusal.status)


class Exchange:
    """One request as handlers see it: its environ, the URLs for its host and,
    once authenticated, what its JWS says.  The Werkzeug :attr:`request` is made
    only when something asks for it (most requests never do)."""

    __slots__ = ("environ", "urls", "signed", "_request")

    def __init__(self, environ: Dict[str, Any], urls: Urls,
                 signed: Optional[SignedRequest] = None) -> None:
        self.environ, self.urls, self.signed = environ, urls, signed
        self._request: Optional[Request] = None

    @property
    def request(self) -> Request:
        if self._request is None:
            self._request = Request(self.environ)
        return self._request

    @property
    def method(self) -> str:
        return self.environ["REQUEST_METHOD"].upper()

    @property
    def account(self) -> Account:
        assert self.signed is not None and self.signed.account is not None
        return self.signed.account

    def url(self, base: str) -> str:
        """The request URL, given the URL of the application's root (``base``)."""
        return request_url(self.environ, base) or self.request.url

    @property
    def full_path(self) -> str:
        """The path and query as requested (no ``?`` without a query)."""
        environ = self.environ
        path, query = environ.get("PATH_INFO") or "", environ.get("QUERY_STRING") or ""
        if _PLAIN_URL_PART.fullmatch(path) and _PLAIN_URL_PART.fullmatch(query):
            return "/" + path.lstrip("/") + (f"?{query}" if query else "")
        return self.request.full_path.rstrip("?")

    def read_body(self, limit: int) -> bytes:
        """The body: the ``Content-Length`` bytes the server gave.

        The HTTP layer frames request bodies (:func:`pytest_acme.httpd.body_length`)
        and refuses what it will not read before the application runs; its rules
        are applied here again with ``limit``, which may be lower than the server's
        (OCSP's) or the only one when the application runs on another WSGI server.

        Raises:
            Malformed: what :func:`~pytest_acme.httpd.body_length` refuses: 411 for
                a body without ``Content-Length``, 400 for an unreadable length, 413
                for a body larger than ``limit`` bytes.
        """
        refusal, length = body_length(self.environ, limit)
        if refusal is not None:
            raise refused(refusal)
        return self.environ["wsgi.input"].read(length) if length else b""


# -- the endpoint registry -----------------------------------------------------


Handler = Callable[..., Reply]
#: A handler and the key form its requests are signed with (:data:`.jws.JWK`,
#: :data:`.jws.KID` or :data:`.jws.EITHER`); None for an unsigned GET endpoint.
Endpoint = Tuple[Handler, Optional[str]]
F = TypeVar("F", bound=Handler)
#: What :func:`endpoint` declared: handler -> (endpoint name, key form).
_DECLARED: Dict[Handler, Tuple[str, Optional[str]]] = {}


def endpoint(name: str, auth: Optional[str] = KID) -> Callable[[F], F]:
    """Declare the decorated function the handler of the route endpoint ``name``
    (:data:`.routes.RULES`), its requests signed with a key of form ``auth``.

    Declaring registers nothing: :func:`registry` reads the declarations of the
    handlers a module lists in its ``HANDLERS``."""

    def declare(fn: F) -> F:
        _DECLARED[fn] = (name, auth)
        return fn

    return declare


def registry(modules: Iterable[ModuleType]) -> Dict[str, Endpoint]:
    """Endpoint name -> :data:`Endpoint`, for the handlers ``modules`` list in their
    ``HANDLERS`` tuples.

    Raises:
        ValueError: a listed handler was not declared with :func:`endpoint`, a
            declared one of those modules is not listed, or two handle one endpoint.
    """
    table: Dict[str, Endpoint] = {}
    for module in modules:
        listed = module.HANDLERS
        for fn in listed:
            if fn not in _DECLARED:
                raise ValueError(f"{module.__name__}.{fn.__name__} is not declared with "
                                 "@endpoint")
            name, auth = _DECLARED[fn]
            if name in table:
                raise ValueError(f"two handlers for endpoint {name!r}: "
                                 f"{table[name][0].__qualname__} and {fn.__qualname__}")
            table[name] = (fn, auth)
        unlisted = [fn.__name__ for fn in _DECLARED
                    if fn.__module__ == module.__name__ and fn not in listed]
        if unlisted:
            raise ValueError(f"{module.__name__} declares handlers it does not list in "
                             f"HANDLERS: {', '.join(unlisted)}")
    return table


# -- guards -------------------------------------------------------------------


def require_payload(ex: Exchange, what: str) -> JsonBody:
    """The JWS payload of a signed request that needs one (``what`` names the request)."""
    assert ex.signed is not None
    if ex.signed.payload is None:
        raise problems.Malformed(f"{what} needs a JSON object payload, not an empty one")
    return ex.signed.payload


def require_post_as_get(ex: Exchange) -> None:
    """Refuse a signed read whose payload is not empty (RFC 8555 §6.3)."""
    assert ex.signed is not None
    if ex.signed.payload is not None:
        raise problems.Malformed(
            "this resource is read with POST-as-GET: sign an empty payload (RFC 8555 §6.3)"
        )


def find(ex: Exchange, table: Dict[str, Any], id: str, what: str) -> Any:
    """The object ``id`` of ``table`` (caller holds the lock); 404 when there is none."""
    obj = table.get(id)
    if obj is None:
        raise problems.Malformed(f"no {what} at {ex.request.base_url}", status=404)
    return obj


def owned(app: "AcmeApp", ex: Exchange, table: Dict[str, Any], id: str, what: str,
          owner: Callable[[Any], str]) -> Any:
    """:func:`find`, for the account that signed the request only (``owner`` says
    whose an object is)."""
    obj = find(ex, table, id, what)
    if owner(obj) != ex.account.id:
        raise problems.Unauthorized(f"this {what} belongs to another account")
    return obj


def require_listed(app: "AcmeApp", ex: Exchange, challenge: Challenge) -> None:
    """Refuse a challenge its authorization no longer lists (caller holds the lock).

    Once one challenge decided the authorization, RFC 8555 §7.1.4 lists only
    that one, and Boulder keeps no other: a request for an unused challenge's
    URL gets 404 ``malformed`` ("No such challenge", ``wfe2`` ``Challenge``).
    Pebble keeps them readable, still pending: so does ``pebble=True``.

    Raises:
        Malformed: (404) the challenge was not used and another one decided.
    """
    authz = app.store.authz(challenge.authz_id)
    decided = authz.decided_by
    if decided is None or decided is challenge or app.config.pebble:
        return
    raise problems.Malformed(
        f"no challenge at {ex.request.base_url}: the authorization for "
        f"{authz.identifier.value} was decided by its {decided.type} challenge "
        f"({ex.urls.challenge(decided.id)}), the only one a "
        f"{authz.status_at(app.clock.now()).value} "
        "authorization keeps (RFC 8555 §7.1.4)", status=404)


# -- replies ------------------------------------------------------------------


def refuse_blocked_key(app: "AcmeApp", jwk: Any) -> None:
    """Refuse an account key revoked for keyCompromise (Boulder's blocked keys)."""
    # Most runs block no key: skip encoding this one.
    if app.store.blocked_keys and spki(jwk.key) in app.store.blocked_keys:
        raise problems.BadPublicKey(
            "this key is forbidden: a certificate with it was revoked for keyCompromise; "
            "make a new account key")


def account_reply(app: "AcmeApp", ex: Exchange, account: Account, status: int = 200) -> Reply:
    """The account as JSON, with its URL as ``Location``."""
    url = ex.urls.account(account.id)
    body = account.to_json(ex.urls)
    if not app.config.effective("account_orders_field"):
        del body["orders"]  # Boulder leaves it out (its acme-divergences.md, §7.1.2)
    if not body["contact"] and app.config.effective("contact_rules") == "letsencrypt":
        del body["contact"]  # Boulder keeps no contacts, and shows none
    return Reply(body, status=status, headers=[("Location", url)])


#: Statuses by their JSON value (a dict lookup is cheaper than ``Status(value)``).
_STATUSES = {s.value: s for s in Status}


def order_reply(app: "AcmeApp", ex: Exchange, order: Order, status: int = 200,
                poll: bool = False) -> Reply:
    """The order as JSON (caller holds the lock); ``poll`` when this is a client's
    read (faults count those)."""
    now = app.clock.now()
    body = order.to_json(ex.urls, now, app.store.authz)
    chosen = None
    view = app.faults.order_view(order.id, _STATUSES[body["status"]], now, poll)
    if view is not None:
        body["status"] = view.status.value
        body.pop("certificate", None)
        chosen = view.retry_after
    headers = [("Location", order.url(ex.urls))]
    # Only a pending order waits on its challenges; a processing one, on issuance.
    challenges = ([c for a in app.store.authzs_of_order(order) for c in a.challenges]
                  if body["status"] == "pending" and chosen is None else [])
    wait = retry_after(app, body["status"], app.config.order_retry_after, challenges, now,
                       chosen=chosen)
    if wait is not None:
        headers.append(("Retry-After", wait))
    return Reply(body, status=status, headers=headers)


def authz_reply(app: "AcmeApp", ex: Exchange, authz: Authorization) -> Reply:
    """The authorization as JSON (caller holds the lock)."""
    now = app.clock.now()
    body = authz.to_json(ex.urls, now)
    headers = []
    wait = retry_after(app, body["status"], app.config.authz_retry_after, authz.challenges, now)
    if wait is not None:
        headers.append(("Retry-After", wait))
    return Reply(body, headers=headers)


def challenge_reply(app: "AcmeApp", ex: Exchange, challenge: Challenge, now: dt.datetime,
                    started: bool = False) -> Reply:
    """The challenge as JSON, linked ``up`` to its authorization (caller holds the
    lock); ``started`` when this request has just started its validation."""
    body = challenge.to_json(ex.urls)
    headers = [("Link", f'<{ex.urls.authz(challenge.authz_id)}>;rel="up"')]
    wait = retry_after(app, body["status"], app.config.authz_retry_after, [challenge], now,
                       started=started)
    if wait is not None:
        headers.append(("Retry-After", wait))
    return Reply(body, headers=headers)


#: The media type of a certificate chain (RFC 8555 §9.1).
PEM_CHAIN = "application/pem-certificate-chain"


def certificate_reply(app: "AcmeApp", ex: Exchange, cert: Certificate, chain: int = 0
                      ) -> Reply:
    """Chain ``chain`` of a certificate (0: the default one, its own URL; n: alternate
    chain n) as PEM, linking each of the others with ``rel="alternate"``
    (RFC 8555 §7.4.2)."""
    urls = [ex.urls.certificate(cert.id)] + [
        ex.urls.build("certificate_alternate", id=cert.id, n=str(n))
        for n in range(1, len(app.ca.chains))]
    links = [("Link", f'<{url}>;rel="alternate"') for n, url in enumerate(urls) if n != chain]
    pem = cert.chain_pem if chain == 0 else app.ca.chain_pem(cert.leaf, chain)
    return Reply(pem, headers=links, content_type=PEM_CHAIN)
