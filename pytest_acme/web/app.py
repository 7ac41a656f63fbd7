"""The WSGI application: routing, authentication, rendering, and the server's state.

Requests pass one pipeline: match the route, read a bounded body, verify the
JWS (:mod:`.jws`), call the handler (:mod:`.endpoints`), and render.  Every
problem a handler raises becomes ``application/problem+json`` here and only
here, with a fresh ``Replay-Nonce`` wherever Let's Encrypt sends one (every
reply but a GET's, and newNonce's: :func:`.nonces.sends_nonce`).  Any other
exception is a ``serverInternal`` for the client *and* is kept for
``AcmeServer.check()``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import re
import threading
import traceback
from json.encoder import encode_basestring_ascii
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

import josepy
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import MapAdapter
from werkzeug.sansio.utils import get_current_url
from werkzeug.wrappers import Request

from ..ca import CertificateAuthority, asks_must_staple
from ..clock import Clock
from ..config import PEBBLE_TERMS, AcmeConfig, TsigKey, tsig_keys_of
from ..crls import CrlCache
from ..faults import Fault, FaultPlan
from ..httpd import REFUSED, hosts
from ..protocol import lifecycle, problems
from ..protocol.csr import AcceptedCSR
from ..protocol.identifiers import Identifier
from ..protocol.resources import Certificate, rfc3339
from ..protocol.states import Event, Stateful, Status
from ..records import RequestRecord, ServerError, TimelineEvent, expiry_message
from ..store import BoundedLog, Store
from ..va import ValidationRequest, make_caa_policy, make_validator
from ..va.dnsupdate import ZoneUpdater
from ..va.zone import Zone
from ..workers import Workers
from . import certs, ocsp, plain_get
from .endpoints import ENDPOINTS
from .exchange import Exchange, Reply
from .jws import authenticate
from .nonces import NoncePool, sends_nonce
from .routes import FAST_ROUTES, RULES, Urls

# The records are defined in pytest_acme.records and stay importable from here,
# where they were defined before.
__all__ = ["AcmeApp", "RequestRecord", "ServerError", "TimelineEvent", "expiry_message"]

PROBLEM_JSON = "application/problem+json"
#: Status lines as Werkzeug's Response writes them ("201 CREATED").
_STATUS_LINES = {code: f"{code} {text.upper()}" for code, text in HTTP_STATUS_CODES.items()}
#: Paths and queries that a request URL holds as they are (no quoting to redo).
_PLAIN_URL_PART = re.compile(r"[A-Za-z0-9_.~/=&-]*")


def _request_url(environ: Dict[str, Any], base: str) -> Optional[str]:
    """The request URL (what Werkzeug's ``request.url`` says) when it needs no
    quoting; None otherwise, and the caller asks Werkzeug."""
    path, query = environ.get("PATH_INFO") or "", environ.get("QUERY_STRING") or ""
    if not _PLAIN_URL_PART.fullmatch(path) or not _PLAIN_URL_PART.fullmatch(query):
        return None
    url = base + path.lstrip("/")
    return f"{url}?{query}" if query else url


def _pretty_json(value: Any, newline: str = "\n") -> str:
    """``json.dumps(value, indent=2)``, the same text at twice the speed: the
    standard encoder leaves its C accelerator out whenever it indents."""
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is dict and value and all(type(k) is str for k in value):
        inner = newline + "  "
        return "{" + ",".join([inner + encode_basestring_ascii(k) + ": "
                               + _pretty_json(v, inner) for k, v in value.items()]) \
            + newline + "}"
    if (kind is list or kind is tuple) and value:
        inner = newline + "  "
        return "[" + ",".join([inner + _pretty_json(v, inner) for v in value]) + newline + "]"
    return json.dumps(value, indent=2).replace("\n", newline)


def _claimed_account(body: bytes, urls: Urls) -> Optional[str]:
    """The account id in the protected ``kid`` of a JWS body, unverified (None if
    the body does not say one): only to attribute a fault that fired before the
    signature was checked."""
    try:
        jws = json.loads(body)
        protected = json.loads(josepy.b64.b64decode(jws["protected"]))
        kid = protected["kid"]
    except Exception:  # noqa: BLE001 - anything unreadable names no account
        return None
    return urls.account_id_from_kid(kid) if isinstance(kid, str) else None


class AcmeApp:
    """An ACME server as a WSGI application, with all of its state.

    Args:
        config: the server's configuration.
        clock: the time source every expiry reads.
    """

    def __init__(self, config: AcmeConfig, clock: Optional[Clock] = None) -> None:
        self.config = config
        self.clock = clock or Clock()
        self.seed = config.seed if config.seed is not None else random.SystemRandom().getrandbits(32)
        self.rng = random.Random(self.seed)
        self.store = Store(self.rng)
        self.nonces = NoncePool(config.nonce_pool_size, self.clock.now,
                                lambda: self.config.nonce_lifetime)
        self.ca = CertificateAuthority(config.effective("ca_key_type"), self.rng,
                                       self.clock.now(),
                                       config.chain_length, config.alternate_roots,
                                       names=config.effective("ca_names"))
        self.crls = CrlCache(self.ca, self.store)
        self.zone = Zone()
        self.validator = make_validator(config, self.zone)
        self.caa = make_caa_policy(config, self.zone)
        #: The TSIG key made from the seed, used when ``tsig_keys`` is None.
        self.generated_tsig_key = TsigKey("pytest-acme", "hmac-sha256", base64.b64encode(
            random.Random(f"tsig:{self.seed}").getrandbits(256).to_bytes(32, "big")).decode())
        #: Applies DNS UPDATEs (RFC 2136) to the zone; the DNS server hands it them.
        self.dns_updates = ZoneUpdater(self.zone, listener=self._dns_update_event)
        self._use_tsig_keys(config)
        self.errors: List[ServerError] = []
        self._errors_lock = threading.Lock()
        self.workers = Workers(lambda e: self.report_error(e, "background worker"))
        self.faults = FaultPlan(self, self.seed)
        self.events: BoundedLog[TimelineEvent] = BoundedLog(config.event_log_size)
        self.requests: BoundedLog[RequestRecord] = BoundedLog(config.request_log_size)
        #: Called with every RequestRecord (``pytest-acme serve`` prints them).
        self.request_listeners: List[Callable[[RequestRecord], None]] = []
        self._hosts: Dict[tuple, Tuple[MapAdapter, Urls, str, Optional[str]]] = {}

    # -- state -----------------------------------------------------------------

    def reconfigure(self, config: AcmeConfig) -> None:
        """Use ``config`` from the next request on (settings read per request)."""
        self.validator = make_validator(config, self.zone)
        self.caa = make_caa_policy(config, self.zone)
        self._use_tsig_keys(config)
        with self.store.lock:
            if config.event_log_size != self.events.maxlen:
                self.events = self.events.resized(config.event_log_size)
            if config.request_log_size != self.requests.maxlen:
                self.requests = self.requests.resized(config.request_log_size)
        self.config = config

    def _use_tsig_keys(self, config: AcmeConfig) -> None:
        keys = (self.generated_tsig_key,) if config.tsig_keys is None else tsig_keys_of(config)
        self.dns_updates.set_keys(keys)
        self.zone.tsig_key = keys[0] if keys else None

    def _dns_update_event(self, reason: str, message: str) -> None:
        self.note("dns", "update", reason, message)

    def reset(self) -> None:
        """Forget every account, order, nonce, DNS record, event and request; keep
        CA and config."""
        self.clock.interrupt()  # delayed validations give up at once
        self.faults.clear()  # and injected latencies end
        self.faults.reseed(self.seed)
        self.workers.wait_idle(timeout=5)
        with self.store.lock:
            self.store.clear()
            self.nonces.clear()
            self.events.clear()
            self.requests.clear()
        self.zone.reset()
        self.clock.reset(self.config.start_time, self.config.clock_frozen)

    def report_error(self, exc: BaseException, where: str) -> None:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        with self._errors_lock:
            self.errors.append(ServerError(exc, where, text))

    def take_errors(self) -> List[ServerError]:
        with self._errors_lock:
            errors, self.errors = self.errors, []
        return errors

    def terms_url(self, urls: Urls) -> Optional[str]:
        terms = self.config.terms_of_service
        if terms is None:
            return PEBBLE_TERMS if self.config.pebble else urls.build("terms")
        return terms or None

    @staticmethod
    def thumbprint(jwk: josepy.JWK) -> str:
        return josepy.b64.b64encode(jwk.thumbprint()).decode("ascii")

    def record(self, obj: Stateful, reason: str, message: str,
               time: Optional[dt.datetime] = None) -> None:
        """Add an event to the timeline (caller holds the store lock); events of an
        authorization or a challenge carry its identifier (and challenge type)."""
        identifier = challenge_type = None
        if obj.kind == "order":
            order_ids: Iterable[str] = (obj.id,)
        elif obj.kind == "authorization":
            order_ids = obj.order_ids  # type: ignore[attr-defined]
            identifier = obj.identifier.value  # type: ignore[attr-defined]
        elif obj.kind == "challenge":
            authz = self.store.authzs.get(obj.authz_id)  # type: ignore[attr-defined]
            order_ids = authz.order_ids if authz else ()
            identifier = authz.identifier.value if authz else None
            challenge_type = obj.type  # type: ignore[attr-defined]
        else:
            order_ids = ()
        self.events.append(TimelineEvent(
            time or self.clock.now(), obj.kind, obj.id, reason, message, tuple(order_ids),
            identifier, challenge_type))

    def note(self, kind: str, id: str, reason: str, message: str,
             order_ids: Tuple[str, ...] = ()) -> None:
        """Add an event about something that is not a status change (an OCSP
        answer); takes no lock, since a deque append is atomic."""
        self.events.append(TimelineEvent(self.clock.now(), kind, id, reason, message, order_ids))

    def record_fault(self, fault: Fault, where: str, order_ids: Tuple[str, ...] = (),
                     account_id: Optional[str] = None) -> None:
        """A fault fired: into the timeline, against the orders and the account the
        request named (takes no lock; a deque append is atomic)."""
        self.events.append(TimelineEvent(
            self.clock.now(), "fault", fault.kind, "FaultFired",
            f"{fault.describe()} at {where}", tuple(order_ids), account_id=account_id))

    def target_of(self, endpoint: str, args: Mapping[str, Any], ex: Exchange,
                  body: Optional[bytes]) -> Tuple[Tuple[str, ...], Optional[str]]:
        """The orders and the account a request names, as far as its URL and its JWS
        tell before the signature is checked: the object its URL names (an order,
        finalize, authorization, challenge, certificate or account URL), else the
        account of the JWS ``kid``.  For attributing faults that fire on it."""
        store = self.store
        found = args.get("id")
        order_ids: Tuple[str, ...] = ()
        account_id = None
        with store.lock:
            if endpoint in ("order", "finalize") and found in store.orders:
                order_ids, account_id = (found,), store.orders[found].account_id
            elif endpoint == "authz" and found in store.authzs:
                authz = store.authzs[found]
                order_ids, account_id = tuple(authz.order_ids), authz.account_id
            elif endpoint == "challenge" and found in store.challenges:
                parent = store.authzs.get(store.challenges[found].authz_id)
                if parent is not None:
                    order_ids, account_id = tuple(parent.order_ids), parent.account_id
            elif endpoint in ("certificate", "certificate_alternate") and (
                    found in store.certificates):
                cert = store.certificates[found]
                order_ids, account_id = (cert.order_id,), cert.account_id
            elif endpoint in ("account", "account_orders") and found in store.accounts:
                account_id = found
        if account_id is None and ex.signed is not None and ex.signed.account is not None:
            account_id = ex.signed.account.id
        if account_id is None and body:
            account_id = _claimed_account(body, ex.urls)
            if account_id is not None and account_id not in store.accounts:
                account_id = None
        return order_ids, account_id

    def observe(self, obj: Stateful, old: Status, event: Event) -> None:
        """Every transition lands in the timeline, named after what happened: an
        expiry is ``OrderExpired`` / ``AuthorizationExpired`` whenever it is noticed
        (the same event a read derives, :func:`pytest_acme.inspect.with_expiry`)."""
        if event is Event.EXPIRE:
            expires = obj.expires  # type: ignore[attr-defined]
            self.record(obj, f"{obj.kind.title()}Expired",
                        expiry_message(obj, expires), time=expires)
            return
        error = getattr(obj, "error", None)
        detail = ""
        if error is not None and obj.status is Status.INVALID:
            named = (error.identifier or {}).get("value") if obj.kind == "order" else None
            detail = f": {named + ': ' if named else ''}{error.type}: {error.detail}"
        if obj.kind == "challenge":
            authz = self.store.authzs.get(obj.authz_id)  # type: ignore[attr-defined]
            name = authz.identifier.value if authz else "?"
            subject = f"{obj.type} challenge for {name}:"  # type: ignore[attr-defined]
        elif obj.kind == "authorization":
            subject = f"authorization for {obj.identifier.value}:"  # type: ignore[attr-defined]
        else:
            subject = obj.kind
        self.record(
            obj,
            f"{obj.kind.title()}{obj.status.value.title()}",
            f"{subject} {old.value} -> {obj.status.value} ({event.value}){detail}",
        )

    # -- background work -------------------------------------------------------

    def validate(self, challenge_id: str, account_url: str = "",
                 started: Optional[dt.datetime] = None) -> None:
        """Run one validation (on a worker thread) and record its result.

        ``account_url`` is the account's URL as its client knows it (dns-account-01,
        dns-persist-01 and CAA's ``accounturi`` compare against it).  ``started`` is
        when the client answered the challenge: ``validation_delay`` counts from
        then, not from when a worker picks the job up (a test may move the clock
        in between)."""
        store = self.store
        with store.lock:
            chall = store.challenges.get(challenge_id)
            if chall is None or chall.status is not Status.PROCESSING:
                return
            authz = store.authz(chall.authz_id)
            account = store.accounts[authz.account_id]
            order_ids = tuple(authz.order_ids)
            request = ValidationRequest(
                challenge_type=chall.type,
                identifier=Identifier(authz.identifier.type, authz.identifier.base),
                token=chall.token,
                key_authorization=f"{chall.token}.{account.thumbprint}",
                account_url=account_url,
                wildcard=authz.identifier.wildcard,
                issuer_domain_names=chall.issuer_domain_names or self.config.caa_identities,
                now=self.clock.now(),
            )
        delay = self.config.validation_delay
        if delay and not self.clock.wait_until((started or self.clock.now())
                                               + dt.timedelta(seconds=delay)):
            return  # reset while waiting
        problem = self.faults.challenge_problem(chall.type, authz.identifier.value, order_ids)
        if problem is None and authz.identifier.wildcard:
            problem = self.faults.challenge_problem(chall.type, authz.identifier.base, order_ids)
        if problem is None:
            problem = self.validator.validate(request)
        caa = self.caa
        if problem is None and caa is not None:
            # Like Let's Encrypt: CAA after the challenge, before the authorization is valid.
            problem = caa.check(authz.identifier, account_url, chall.type)
        with store.lock:
            if store.challenges.get(challenge_id) is chall:
                chall.validation_record = request.records
                lifecycle.finish_validation(store, chall, problem, self.clock.now(), self.observe)

    def recheck_caa(self, order_id: str, account_id: str, account_url: str) -> None:
        """Check CAA again before finalizing, for every authorization of the order
        validated more than ``caa_recheck_after`` seconds ago (the Baseline
        Requirements let a CA rely on a CAA check for 8 hours; Let's Encrypt
        rechecks after 7).  The lookups run outside the store lock.

        Raises:
            problems.CAA: CAA now forbids issuance for some identifier, or its
                lookup failed (one subproblem per identifier when several
                fail); the order is left as it was, so a client may fix its
                records and finalize again.
        """
        caa = self.caa
        if caa is None:
            return
        now = self.clock.now()
        limit = now - dt.timedelta(seconds=self.config.caa_recheck_after)
        stale = []
        with self.store.lock:
            order = self.store.orders.get(order_id)
            if (order is None or order.account_id != account_id
                    or order.status_at(now, self.store.authz) is not Status.READY):
                return  # the handler answers that
            for authz in self.store.authzs_of_order(order):
                done = next((c for c in authz.challenges if c.validated is not None), None)
                if done is not None and done.validated is not None and done.validated <= limit:
                    stale.append((authz.identifier, done.type, done.validated))
        failures = []
        for identifier, method, validated in stale:
            problem = caa.check(identifier, account_url, method)
            if problem is not None:
                # Let's Encrypt answers any recheck failure, a lookup one too, as caa.
                failures.append(problems.CAA(
                    f"rechecking CAA (last checked {rfc3339(validated)}): {problem.detail}",
                    identifier=identifier.to_json()))
        if not failures:
            return
        problem = failures[0] if len(failures) == 1 else problems.CAA(
            f"rechecking CAA for {len(failures)} identifiers failed; see subproblems",
            subproblems=failures)
        with self.store.lock:
            self.record(order, "CAARecheckFailed", f"finalize refused: {problem.detail}")
        raise problem

    def issue(self, order_id: str, csr: AcceptedCSR, urls: Optional[Urls] = None) -> None:
        """Sign the certificate of a processing order and make the order valid.
        ``csr`` is the accepted CSR (``protocol.csr.AcceptedCSR``: its key, already
        parsed and encoded); ``urls`` (of the finalize request) places the CRL URL
        (and the OCSP URL, with ``ocsp``) in the certificate."""
        store = self.store
        with store.lock:
            order = store.orders.get(order_id)
            if order is None or order.status is not Status.PROCESSING:
                return
            now = self.clock.now()
            profile = (self.config.profiles or {}).get(order.profile or "")
            lifetime = (profile.lifetime(self.config.certificate_validity) if profile
                        else self.config.certificate_validity)
            not_before = order.not_before or now
            not_after = order.not_after or not_before + dt.timedelta(seconds=lifetime)
            identifiers = list(order.identifiers)
            cert_id = store.new_id()
            failure = self.faults.issuance_problem(order_id)
            if failure is not None:
                lifecycle.fail_order(order, failure, self.observe)
                return
        leaf, chain = self.ca.issue(
            csr.public_key, identifiers, not_before, not_after,
            common_name=(profile.common_name if profile else True)
            and self.config.effective("leaf_common_name"),
            crl_url=certs.crl_url(urls) if urls is not None else None,
            ocsp_url=ocsp.leaf_ocsp_url(self.config, urls), must_staple=asks_must_staple(csr.csr))
        with store.lock:
            if store.orders.get(order_id) is not order:
                return
            store.add_certificate(
                Certificate(cert_id, order.account_id, order.id, leaf, chain, now)
            )
            self.record(order, "CertificateIssued", f"certificate serial {leaf.serial_number:x}")
            lifecycle.complete_issuance(order, cert_id, self.observe)

    # -- WSGI ------------------------------------------------------------------

    def __call__(self, environ: Dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO") or "/"
        adapter, urls, base, bad_host = self._bound(environ)
        ex = Exchange(environ, urls)
        endpoint = None
        target: Optional[_Target] = None
        try:
            refused = environ.get(REFUSED)
            if refused is not None:  # the HTTP layer would not read this body
                raise problems.Malformed(refused.detail, status=refused.status)
            if bad_host is not None:  # no URL of this server can be built on it
                raise problems.Malformed(bad_host)
            endpoint, args = FAST_ROUTES.match(path, method) or adapter.match(path, method)
            handler, auth = ENDPOINTS[endpoint]
            if method in ("GET", "HEAD") and auth is not None:
                handler, auth = plain_get.route(self, ex.request, endpoint)
            if self.faults.faults:  # a fault that fires is recorded against what it hit
                target = _Target(self, endpoint, args, ex, signed=auth is not None)
                target.resolve()  # now, before the fault plan takes its lock
            delay = self.faults.latency_for(endpoint, target)
            if delay:
                self.faults.sleep(delay)
            injected = self.faults.request_problem(endpoint, signed=auth is not None,
                                                   about=target)
            if injected is not None:
                raise injected
            if auth is not None:
                ex.signed = authenticate(
                    target.body() if target is not None else self._body(ex),
                    environ.get("CONTENT_TYPE", ""),
                    _request_url(environ, base) or ex.request.url,
                    key_mode=auth,
                    urls=urls,
                    nonces=self.nonces,
                    algorithms=self.config.algorithms,
                    find_account=self.store.accounts.get,
                    rsa_keys=self.config.effective("rsa_keys"),
                )
            reply = handler(self, ex, **args)
        except problems.Problem as p:
            reply = self._problem_reply(p)
        except HTTPException as e:
            reply = self._problem_reply(self._http_problem(ex.request, e))
        except Exception as e:  # noqa: BLE001 - reported to the test, answered as 500
            self.report_error(e, f"{method} {ex.request.path}")
            reply = self._problem_reply(
                problems.ServerInternal(f"the server failed: {type(e).__name__}: {e}")
            )
        nonce = sends_nonce(method, endpoint, self.config.pebble) and not (
            endpoint is not None and self.faults.should_omit_nonce(endpoint, target))
        status, headers, data = self._render(reply, urls, nonce=nonce)
        self._log(ex, method, reply, target)
        start_response(status, headers)
        return [] if method == "HEAD" else [data]

    def _bound(self, environ: Dict[str, Any]
               ) -> Tuple[MapAdapter, Urls, str, Optional[str]]:
        """The route table bound to the host the client asked for, with its Urls,
        the request URL's prefix, and why that host cannot be used (None when it
        can: see :func:`..httpd.hosts.url_problem`; then the rest is bound to the
        server's own address, for the reply's ``Link``).  Made once per host, not
        per request."""
        key = (environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"),
               environ.get("SERVER_NAME"), environ.get("SERVER_PORT"),
               environ.get("SCRIPT_NAME", ""))
        bound = self._hosts.get(key)
        if bound is None:
            host = environ.get("HTTP_HOST")
            problem = hosts.url_problem(host) if host is not None else None
            if problem is not None:
                environ = {k: v for k, v in environ.items() if k != "HTTP_HOST"}
            adapter = RULES.bind_to_environ(environ)
            request = Request(environ)
            base = get_current_url(request.scheme, request.host, request.root_path, "")
            bound = (adapter, Urls(adapter), base, problem)
            if len(self._hosts) >= 64:  # clients choose the Host header: stay bounded
                self._hosts.clear()
            self._hosts[key] = bound
        return bound

    def _body(self, ex: Exchange) -> bytes:
        """The body: exactly ``Content-Length`` bytes, read directly when that is known."""
        limit = self.config.max_body_bytes
        environ = ex.environ
        text = environ.get("CONTENT_LENGTH")
        if (text and len(text) <= 18 and text.isascii() and text.isdigit()
                and not environ.get("wsgi.input_terminated")):
            size = int(text)  # the common case, as Werkzeug would read it
            if size <= limit:
                return environ["wsgi.input"].read(size)
        too_large = problems.Malformed(f"the request body is larger than {limit} bytes",
                                       status=413)
        request = ex.request
        request.max_content_length = limit
        length = request.content_length
        if length is None and environ.get("wsgi.input_terminated"):
            # A chunked body has no length to check up front, and werkzeug's limited
            # stream would silently cut it at the limit: read one byte past it instead.
            data = environ["wsgi.input"].read(limit + 1)
            if len(data) > limit:
                raise too_large
            return data
        try:
            if length is not None and length > limit:
                raise RequestEntityTooLarge()
            if length is None or environ.get("wsgi.input_terminated"):
                return request.get_data(cache=False)  # Werkzeug's rules for these
        except RequestEntityTooLarge:
            raise too_large from None
        return environ["wsgi.input"].read(length) if length else b""

    @staticmethod
    def _http_problem(request: Request, e: HTTPException) -> problems.Problem:
        path = request.path if len(request.path) <= 200 else request.path[:200] + "..."
        if isinstance(e, MethodNotAllowed):
            allowed = ", ".join(sorted(set(e.valid_methods or []) - {"HEAD", "OPTIONS"}))
            hint = (
                "; ACME resources are read with POST-as-GET (RFC 8555 §6.3)"
                if request.method == "GET" else ""
            )
            return problems.Malformed(
                f"{request.method} is not allowed on {path} (allowed: {allowed}){hint}",
                status=405,
                headers={"Allow": ", ".join(sorted(set(e.valid_methods or [])))},
            )
        if isinstance(e, NotFound):
            return problems.Malformed(f"no resource at {path}", status=404)
        return problems.Malformed(f"{e.name}: {e.description}", status=e.code or 400)

    def _problem_reply(self, p: problems.Problem) -> Reply:
        # The one place problems are rendered; Pebble's wording where asked for.
        if p.pebble is not None and self.config.effective("problem_details") == "pebble":
            p = p.as_pebble()
        return Reply(
            p.to_json(), status=p.status, headers=list(p.headers.items()),
            content_type=PROBLEM_JSON,
        )

    def _render(self, reply: Reply, urls: Urls, nonce: bool = True
                ) -> Tuple[str, List[Tuple[str, str]], bytes]:
        """Status line, headers and body of a reply (the headers Werkzeug's Response
        would make, without building one per request)."""
        body = reply.body
        data = _pretty_json(body).encode() if isinstance(body, dict) else body or b""
        status = reply.status
        headers: List[Tuple[str, str]] = []
        if data:
            # RFC 9110 §8.3: the type describes content; an empty reply (newNonce,
            # a revocation) has none, and clients told "application/json" may try
            # to parse nothing.  A HEAD reply's data is its GET's, so it keeps the type.
            headers.append(("Content-Type", reply.content_type))
        if status not in (204, 304) and not 100 <= status < 200:
            headers.append(("Content-Length", str(len(data))))
        headers.extend(reply.headers)
        if nonce:
            headers.append(("Replay-Nonce", self.nonces.issue()))
        headers.append(("Link", f'<{urls.directory()}>;rel="index"'))
        headers.append(("Cache-Control", "no-store"))
        return _STATUS_LINES.get(status) or f"{status} UNKNOWN", headers, data

    def _log(self, ex: Exchange, method: str, reply: Reply,
             target: Optional["_Target"] = None) -> None:
        problem = detail = None
        if reply.content_type == PROBLEM_JSON and isinstance(reply.body, dict):
            problem = str(reply.body.get("type", "")).rsplit(":", 1)[-1]
            detail = reply.body.get("detail")
        signed = ex.signed
        account = signed.account.id if signed and signed.account else None
        if account is None and target is not None and target.fired:
            account = target()[1]  # answered by a fault before the signature was checked
        environ = ex.environ
        path, query = environ.get("PATH_INFO") or "", environ.get("QUERY_STRING") or ""
        if _PLAIN_URL_PART.fullmatch(path) and _PLAIN_URL_PART.fullmatch(query):
            full_path = "/" + path.lstrip("/") + (f"?{query}" if query else "")
        else:
            full_path = ex.request.full_path.rstrip("?")
        record = RequestRecord(self.clock.now(), method, full_path, reply.status, problem,
                               account, detail)
        self.requests.append(record)
        for listener in self.request_listeners:
            listener(record)


class _Target:
    """What one request names (:meth:`AcmeApp.target_of`), for the faults that may
    fire on it; it keeps the body it had to read, for the signature check that
    follows."""

    __slots__ = ("_app", "_endpoint", "_args", "_ex", "_signed", "_body", "_refused", "_answer",
                 "fired")

    def __init__(self, app: AcmeApp, endpoint: str, args: Mapping[str, Any], ex: Exchange,
                 signed: bool) -> None:
        self._app, self._endpoint, self._args, self._ex = app, endpoint, args, ex
        self._signed = signed
        self._body: Optional[bytes] = None
        self._refused: Optional[problems.Problem] = None
        self._answer: Tuple[Tuple[str, ...], Optional[str]] = ((), None)
        self.fired = False

    def body(self) -> bytes:
        """The request body, read once (a refusal to read it is raised every time)."""
        if self._refused is not None:
            raise self._refused
        if self._body is None:
            try:
                self._body = self._app._body(self._ex)
            except problems.Problem as p:
                self._refused = p
                raise
        return self._body

    def resolve(self) -> None:
        """Work out the orders and account (takes the store lock: call it before a
        fault hook, never inside one)."""
        body = None
        if self._signed:
            try:
                body = self.body()
            except problems.Problem:
                body = None  # too large to read: the URL has to do (authenticate says why)
        self._answer = self._app.target_of(self._endpoint, self._args, self._ex, body)

    def __call__(self) -> Tuple[Tuple[str, ...], Optional[str]]:
        """``(order ids, account id)``; a fault asking marks the request as faulted."""
        self.fired = True
        return self._answer
