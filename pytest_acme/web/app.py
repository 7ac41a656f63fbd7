"""The WSGI application: the server's state, and the pipeline every request passes.

A request is matched against the route table (:mod:`.routes`), meets the faults
armed for it (:mod:`.targets` says what it names), has its body read and its JWS
verified (:mod:`.jws`), goes to its handler (:mod:`.endpoints`) and is rendered
(:mod:`.render`).  Every problem a handler raises becomes
``application/problem+json`` there and only there, with a fresh ``Replay-Nonce``
wherever Let's Encrypt sends one (every reply but a GET's, and newNonce's:
:func:`.nonces.sends_nonce`).  Any other exception is a ``serverInternal`` for
the client *and* is kept for ``AcmeServer.check()``.  Every request ends in the
request log, every change of state in the timeline (:mod:`pytest_acme.records`).
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import threading
import traceback
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import josepy
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter
from werkzeug.sansio.utils import get_current_url
from werkzeug.wrappers import Request

from ..ca import CertificateAuthority
from ..clock import Clock
from ..config import PEBBLE_TERMS, AcmeConfig, TsigKey, tsig_keys_of
from ..crls import CrlCache
from ..faults import Fault, FaultPlan
from ..httpd import REFUSED, hosts
from ..protocol import lifecycle, problems
from ..protocol.csr import AcceptedCSR
from ..protocol.states import Event, Stateful, Status
from ..records import RequestRecord, ServerError, TimelineEvent, expiry_message
from ..store import BoundedLog, Store
from ..va import make_caa_policy, make_validator
from ..va.dnsupdate import ZoneUpdater
from ..va.zone import Zone
from ..workers import Workers
from . import authority, plain_get
from .endpoints import ENDPOINTS
from .exchange import Exchange, Reply, refused
from .jws import authenticate
from .nonces import NoncePool, sends_nonce
from .render import PROBLEM_JSON, http_problem, problem_reply, render
from .routes import FAST_ROUTES, RULES, Urls
from .targets import FaultTarget

# The records are defined in pytest_acme.records and stay importable from here,
# where they were defined before.
__all__ = ["AcmeApp", "RequestRecord", "ServerError", "TimelineEvent", "expiry_message"]


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
        self.faults = FaultPlan(self.clock, random.Random(self.seed), self.record_fault,
                                lambda order, now: lifecycle.expire_now(self.store, order, now,
                                                                        self.observe))
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

    def observe(self, obj: Stateful, old: Status, event: Event) -> None:
        """Every transition lands in the timeline, named after what happened: an
        expiry is ``OrderExpired`` / ``AuthorizationExpired`` whenever it is noticed
        (the same event a read derives in :mod:`pytest_acme.inspection`)."""
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

    # -- the work a request sets off (:mod:`.authority`) ------------------------

    def validate(self, challenge_id: str, account_url: str = "",
                 started: Optional[dt.datetime] = None) -> None:
        """Run one validation (on a worker thread) and record its result:
        :func:`.authority.validate`."""
        authority.validate(self, challenge_id, account_url, started)

    def recheck_caa(self, order_id: str, account_id: str, account_url: str) -> None:
        """Check CAA again before finalizing: :func:`.authority.recheck_caa`."""
        authority.recheck_caa(self, order_id, account_id, account_url)

    def issue(self, order_id: str, csr: AcceptedCSR, urls: Optional[Urls] = None) -> None:
        """Sign the certificate of a processing order and make the order valid:
        :func:`.authority.issue`."""
        authority.issue(self, order_id, csr, urls)

    # -- WSGI ------------------------------------------------------------------

    def __call__(self, environ: Dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO") or "/"
        adapter, urls, base, bad_host = self._bound(environ)
        ex = Exchange(environ, urls)
        endpoint = None
        target: Optional[FaultTarget] = None
        try:
            refusal = environ.get(REFUSED)
            if refusal is not None:  # the HTTP layer would not read this body
                raise refused(refusal)
            if bad_host is not None:  # no URL of this server can be built on it
                raise problems.Malformed(bad_host)
            endpoint, args = FAST_ROUTES.match(path, method) or adapter.match(path, method)
            handler, auth = ENDPOINTS[endpoint]
            if method in ("GET", "HEAD") and auth is not None:
                handler, auth = plain_get.route(self, endpoint)
            if self.faults.faults:  # a fault that fires is recorded against what it hit
                target = FaultTarget(self, endpoint, args, ex, signed=auth is not None)
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
                    target.body() if target is not None
                    else ex.read_body(self.config.max_body_bytes),
                    environ.get("CONTENT_TYPE", ""),
                    ex.url(base),
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
            reply = self._problem_reply(http_problem(ex.request, e))
        except Exception as e:  # noqa: BLE001 - reported to the test, answered as 500
            self.report_error(e, f"{method} {ex.request.path}")
            reply = self._problem_reply(
                problems.ServerInternal(f"the server failed: {type(e).__name__}: {e}")
            )
        nonce = sends_nonce(method, endpoint, self.config.pebble) and not (
            endpoint is not None and self.faults.should_omit_nonce(endpoint, target))
        status, headers, data = render(reply, urls, self.nonces.issue() if nonce else None)
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

    def _problem_reply(self, p: problems.Problem) -> Reply:
        """A problem's reply, in Pebble's wording where the config asks for it."""
        return problem_reply(p, self.config.effective("problem_details") == "pebble")

    def _log(self, ex: Exchange, method: str, reply: Reply,
             target: Optional[FaultTarget] = None) -> None:
        problem = detail = None
        if reply.content_type == PROBLEM_JSON and isinstance(reply.body, dict):
            problem = str(reply.body.get("type", "")).rsplit(":", 1)[-1]
            detail = reply.body.get("detail")
        signed = ex.signed
        account = signed.account.id if signed and signed.account else None
        if account is None and target is not None and target.fired:
            account = target()[1]  # answered by a fault before the signature was checked
        record = RequestRecord(self.clock.now(), method, ex.full_path, reply.status, problem,
                               account, detail)
        self.requests.append(record)
        for listener in self.request_listeners:
            listener(record)

