"""AcmeServer: the ACME application (a Werkzeug WSGI app) served over HTTPS by
:mod:`pytest_acme.httpd` on background threads, with its CA, validator and DNS server."""

from __future__ import annotations

import datetime as dt
import shutil
import ssl
import tempfile
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import josepy

from . import describe as _describe
from . import inspection, listeners
from .clock import Clock
from .config import RESTART_SETTINGS, AcmeConfig, TsigKey
from .faults import FaultPlan
from .httpd import HttpLimits, ServerStartError, WsgiThread
from .listeners import problem_refusal  # noqa: F401  (still importable from here)
from .protocol import ari, lifecycle, problems
from .va.dnsserver import DnsServer
from .va.zone import Zone
from .web.app import AcmeApp, RequestRecord, TimelineEvent
from .web.routes import Urls


class AcmeServerError(AssertionError):
    """Exceptions were raised inside the server; raised by :meth:`AcmeServer.check`."""


class AcmeServer:
    """An RFC 8555 ACME server running in a background thread.

    Args:
        config: an :class:`~pytest_acme.AcmeConfig`; keyword arguments override
            its fields, so ``AcmeServer(order_expiry=60, finalize="async")`` works.

    Example::

        with AcmeServer() as server:
            client = make_client(server.directory_url, verify=server.ca_bundle)
            ...
            server.check()  # re-raise anything that went wrong inside the server
    """

    def __init__(self, config: Optional[AcmeConfig] = None, **settings: Any) -> None:
        self.config = AcmeConfig.from_kwargs(config, **settings)
        self.clock = Clock()
        self.clock.reset(self.config.start_time, self.config.clock_frozen)
        self.app = AcmeApp(self.config, self.clock)
        self.app.faults.actions = self  # server.faults.expire_order(...) is expire_order(...)
        self._httpd: Optional[WsgiThread] = None
        self.ssl_context: Optional[ssl.SSLContext] = None
        self._tmpdir: Optional[Path] = None
        self._dns_server: Optional[DnsServer] = None
        self._console: Optional[WsgiThread] = None
        self._console_lock = threading.Lock()
        self.port: Optional[int] = None

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> "AcmeServer":
        """Bind, and serve in a daemon thread.  Returns self.

        Raises:
            ServerStartError: the address could not be bound.
        """
        if self._httpd is not None:
            raise RuntimeError("the server is already running")
        self._tmpdir = Path(tempfile.mkdtemp(prefix="pytest-acme-"))
        try:
            self._httpd, self.ssl_context = listeners.serve_acme(self.app, self.config,
                                                                 self._tmpdir)
        except ServerStartError:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
            raise
        self.port = self._httpd.port
        (self._tmpdir / "roots.pem").write_bytes(self.roots_pem)
        if self.config.dns_port is not None:
            try:
                self._dns_server = listeners.serve_dns(self.app, self.config.host,
                                                       self.config.dns_port)
            except ServerStartError:
                self.stop()
                raise
        return self

    def stop(self) -> None:
        """Stop serving (within about 50 ms), finish background work, remove temp files."""
        if self._dns_server is not None:
            self._dns_server.stop()
            self._dns_server = None
        with self._console_lock:
            if self._console is not None:
                self._console.stop()
                self._console = None
        self.app.clock.interrupt()
        self.app.faults.interrupt()
        if self._httpd is not None:
            self._httpd.stop()
            self._httpd = None
        self.app.workers.wait_idle(timeout=5)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def close(self) -> None:
        """Stop and release the worker threads; the server cannot be restarted."""
        self.stop()
        self.app.workers.shutdown()

    def __enter__(self) -> "AcmeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._httpd is not None

    # -- where it is -----------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. ``https://127.0.0.1:43127``."""
        if self.port is None:
            raise RuntimeError("the server is not started; call start() or use it as a context")
        host = self.config.host
        if ":" in host:
            host = f"[{host}]"
        scheme = "https" if self.config.tls else "http"
        return f"{scheme}://{host}:{self.port}"

    @property
    def urls(self) -> Urls:
        """The server's resource URLs (built from the route table) for its own host."""
        return Urls.for_base(self.url)

    @property
    def directory_url(self) -> str:
        """The ACME directory URL to give clients."""
        return self.urls.directory()

    @property
    def ocsp_url(self) -> str:
        """The OCSP responder (RFC 6960): POST a DER request to it, or GET
        ``<ocsp_url>/<url-encoded base64 of the request>``.  It always answers;
        leaves name it in their Authority Information Access with ``ocsp=True``."""
        return self.urls.build("ocsp")

    @property
    def console_url(self) -> str:
        """The web console of this server: open it in a browser to see its orders,
        accounts, certificates, requests and faults live, and to steer it (clock,
        faults, DNS, renewal windows, reset).  Made for a breakpoint in a test::

            breakpoint()  # then: print(acme_server.console_url)

        The first read starts the console on a free loopback port (plain HTTP);
        ``pytest-acme serve`` serves the same pages on its management port.
        """
        if self.port is None:
            raise RuntimeError("the server is not started; call start() or use it as a context")
        from .console import PREFIX, make_console_app, mount

        host = self.config.host if self.config.host in ("127.0.0.1", "::1") else "127.0.0.1"
        with self._console_lock:
            if self._console is None:
                self._console = WsgiThread(mount(make_console_app(self)), host, 0, None,
                                           "console", limits=HttpLimits.of(self.config)).start()
            port = self._console.port
        return f"http://{f'[{host}]' if ':' in host else host}:{port}{PREFIX}/"

    @property
    def ca_bundle(self) -> str:
        """Path of the PEM file clients must trust for the server's HTTPS.

        Pass it as ``verify=`` to requests, ``REQUESTS_CA_BUNDLE``,
        ``SSL_CERT_FILE`` or ``LEGO_CA_CERTIFICATES``.  Empty for plain HTTP.
        """
        if self._tmpdir is None or not self.config.tls or self.config.tls_certificate:
            return ""  # plain HTTP, or a certificate whose issuer the user knows
        return str(self._tmpdir / listeners.HTTPS_CA_FILE)

    @property
    def roots_pem(self) -> bytes:
        """The issuing root certificate(s) as PEM: what issued certificates chain to."""
        return self.app.ca.roots_pem

    @property
    def roots_file(self) -> str:
        """Path of a PEM file holding :attr:`roots_pem`."""
        if self._tmpdir is None:
            raise RuntimeError("the server is not started")
        return str(self._tmpdir / "roots.pem")

    @property
    def intermediates_pem(self) -> bytes:
        """The default chain's intermediates (what follows the leaf), nearest first."""
        return b"".join(i.cert_pem for i in self.app.ca.chain)

    @property
    def chain_roots_pem(self) -> List[bytes]:
        """The root of every chain: ``[0]`` is :attr:`roots_pem` (the default chain),
        ``[n]`` the root of alternate chain ``n`` (``alternate_roots``)."""
        return [c.root.cert_pem for c in self.app.ca.chains]

    def set_renewal_info(self, certificate: Any, start: Optional[dt.datetime] = None,
                         end: Optional[dt.datetime] = None,
                         explanation_url: Optional[str] = None, *,
                         allow_instant: bool = False) -> str:
        """Make renewalInfo (RFC 9773) suggest ``start``..``end`` for one certificate;
        without ``start`` and ``end``, go back to the default window.

        Args:
            certificate: an ``x509.Certificate``, its PEM, its certID, serial or URL.
            allow_instant: take ``end == start`` ("renew now"), as Pebble's
                ``/set-renewal-info/`` does.

        Returns:
            the certificate's certID (the last part of its renewalInfo URL).

        Raises:
            KeyError: this server did not issue that certificate.
            ValueError: the window is empty (``end`` not after ``start``).
        """
        window = None
        if start is not None or end is not None:
            if start is None or end is None:
                raise ValueError("give both start and end, or neither")
            window = ari.RenewalWindow(start, end, explanation_url)
            if not allow_instant:
                window.require_span()
        with self.app.store.lock:
            record = inspection.stored_certificate(self.app.store, certificate)
            record.renewal_window = window
            return ari.cert_id_of(record.leaf)

    def expire_order(self, order: Any) -> None:
        """Make ``order`` (its URL, id or snapshot) expire now, as if its time had
        come; recorded in ``faults.fired`` and the timeline as ``expire_order``.

        Raises:
            KeyError: no such order on this server.
        """
        with self.app.store.lock:
            found = inspection.stored_order(self.app.store, order)
            now = self.clock.now()
            self.faults.record_action("expire_order", found.id, found.account_id, now)
            lifecycle.expire_now(self.app.store, found, now, self.app.observe)

    def invalidate_order(self, order: Any, problem: Optional[problems.Problem] = None) -> None:
        """Make ``order`` invalid now (from pending, ready or processing), with
        ``problem`` (``serverInternal`` when None) as its error; recorded as
        ``invalidate_order``.

        Raises:
            KeyError: no such order on this server.
        """
        with self.app.store.lock:
            found = inspection.stored_order(self.app.store, order)
            self.faults.record_action("invalidate_order", found.id, found.account_id,
                                      self.clock.now())
            lifecycle.fail_order(found, problem or problems.ServerInternal(
                "the order was invalidated by an injected fault"), self.app.observe)

    @property
    def faults(self) -> FaultPlan:
        """Fault injection: ``server.faults.fail_challenge("a.example.test")``,
        ``server.faults.bad_nonce(times=2)``, ... (see :mod:`pytest_acme.faults`)."""
        return self.app.faults

    @property
    def dns(self) -> Zone:
        """The DNS zone the validator resolves names in (and the DNS server serves).

        Every name resolves to 127.0.0.1 unless a test says otherwise::

            server.dns.set_txt("_acme-challenge.example.test", dns01_txt(key_authorization))
            server.dns.add_a("www.example.test", "127.0.0.2")
            server.dns.set_servfail("broken.example.test")
        """
        return self.app.zone

    @property
    def dns_address(self) -> Optional[str]:
        """``host:port`` of the DNS server serving :attr:`dns` (UDP and TCP), if any."""
        if self._dns_server is None:
            return None
        return f"{self._dns_server.host}:{self._dns_server.port}"

    @property
    def tsig_key(self) -> Optional[TsigKey]:
        """The TSIG key (RFC 8945) that signs DNS UPDATEs (RFC 2136) to :attr:`dns`,
        sent to :attr:`dns_address`: the first of ``tsig_keys``, or one made from
        the seed when that is None; None when ``tsig_keys={}``.  Also
        ``acme_dns.tsig_key``::

            subprocess.run(["nsupdate", "-y", server.tsig_key.spec], input=...)
        """
        return self.app.zone.tsig_key

    @property
    def seed(self) -> int:
        """The seed of every random choice this server makes."""
        return self.app.seed

    # -- per test --------------------------------------------------------------

    def reset(self) -> None:
        """Forget accounts, orders, authorizations, nonces and logs; move the clock back
        to real time (or to ``clock_start``, frozen with ``clock_frozen``).  The CA, port
        and configuration stay.  Cheap: call it per test."""
        self.app.reset()

    def reconfigure(self, config: Optional[AcmeConfig] = None, **settings: Any) -> None:
        """Change settings on the running server: any setting except those in
        :data:`~pytest_acme.config.RESTART_SETTINGS` (ports, TLS, the CA, the seed, ...),
        which raise :class:`ValueError`."""
        new = AcmeConfig.from_kwargs(config or self.config, **settings)
        changed = {
            name for name in RESTART_SETTINGS if getattr(new, name) != getattr(self.config, name)
        }
        if changed:
            raise ValueError(
                f"{', '.join(sorted(changed))} cannot change on a running server; "
                "start a new AcmeServer"
            )
        self.config = new
        self.app.reconfigure(new)
        if self._httpd is not None:
            self._httpd.limits = HttpLimits.of(new)

    def add_eab_key(self, kid: str, mac_key: Optional[str] = None) -> str:
        """Accept external account bindings (RFC 8555 §7.3.4) under key id ``kid``.

        Args:
            kid: the key id a client names in its binding.
            mac_key: the MAC key in base64url; None makes a 256-bit one from the
                server's seeded generator.

        Returns:
            the base64url MAC key to give the client.  Like every setting, it lasts
            until the plugin's next test (or the next :meth:`reconfigure`).
        """
        if mac_key is None:
            with self.app.store.lock:  # the store draws its ids from the same generator
                raw = self.app.rng.getrandbits(256).to_bytes(32, "big")
            mac_key = josepy.b64.b64encode(raw).decode("ascii")
        self.reconfigure(eab_keys={**self.config.eab_keys, kid: mac_key})
        return mac_key

    def check(self) -> None:
        """Re-raise exceptions raised inside the server since the last call.

        Raises:
            AcmeServerError: with the server-side traceback(s), chained to the first.
        """
        errors = self.app.take_errors()
        if not errors:
            return
        text = "\n".join(f"-- in {e.where}:\n{e.traceback}" for e in errors)
        raise AcmeServerError(
            f"{len(errors)} exception(s) inside the ACME server:\n{text}"
        ) from errors[0].exception

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no validation or background issuance is queued or running.

        Raises:
            TimeoutError: if work is still going on after ``timeout`` seconds.
        """
        if not self.app.workers.wait_idle(timeout):
            raise TimeoutError(
                f"pytest-acme: {self.app.workers.busy} background job(s) still running "
                f"after {timeout} s"
            )

    # -- inspection ------------------------------------------------------------

    @property
    def events(self) -> List[TimelineEvent]:
        """The event timeline (creations, validations, transitions), oldest first."""
        with self.app.store.lock:
            return list(self.app.events)

    @property
    def requests(self) -> List[RequestRecord]:
        """The requests served since the last reset, oldest first."""
        with self.app.store.lock:
            return list(self.app.requests)

    def logs(self) -> Dict[str, Dict[str, int]]:
        """How full the bounded logs and the order store are, and what they dropped:
        ``{"events": {"kept": n, "limit": n, "dropped": n}, "requests": {...},
        "orders": {...}}`` (an order limit of 0 means none: ``max_orders=None``)."""
        with self.app.store.lock:
            store = self.app.store
            return {"events": self.app.events.status(), "requests": self.app.requests.status(),
                    "orders": {"kept": len(store.orders), "limit": self.app.config.max_orders or 0,
                               "dropped": store.orders_retired}}

    def orders(self) -> List["inspection.OrderInfo"]:
        """Snapshots of every order, in creation order, with effective statuses at
        the server clock (see :mod:`pytest_acme.inspection`)."""
        return inspection.orders(self.app, self.urls)

    def accounts(self) -> List["inspection.AccountInfo"]:
        """Snapshots of every account, in creation order."""
        return inspection.accounts(self.app, self.urls)

    def order(self, url_or_id: str) -> "inspection.OrderInfo":
        """The snapshot of one order, by its URL (or finalize URL) or id.

        Raises:
            KeyError: no such order on this server.
        """
        info = inspection.find(self.app, self.urls, url_or_id)
        if not isinstance(info, inspection.OrderInfo):
            raise KeyError(f"no order at {url_or_id!r} on this server "
                           f"({len(self.app.store.orders)} order(s))")
        return info

    def lookup(self, url: str) -> "inspection.Info":
        """The snapshot of the object at any order, authorization, challenge, account
        or certificate URL (or with that id).

        Raises:
            KeyError: nothing of this server is there.
        """
        info = inspection.find(self.app, self.urls, url)
        if info is None:
            raise KeyError(f"no object at {url!r} on this server")
        return info

    def describe(self, order: Union["inspection.Info", str, Sequence["inspection.OrderInfo"],
                                    None] = None) -> str:
        """``kubectl describe``-like text: State, URL, authorizations, challenges and
        an Events table.  Of one order (an OrderInfo, URL or id; also any snapshot or
        other object URL), of a list of OrderInfo, or of every order when ``order`` is
        None."""
        now = self.clock.now()
        events = self.logs()["events"]
        note = (f"Note: {events['dropped']} older event(s) were dropped from the timeline "
                f"(event_log_size={events['limit']}); Events tables may be incomplete.\n\n"
                if events["dropped"] else "")
        if order is None or (isinstance(order, Sequence) and not isinstance(order, str)):
            infos = self.orders() if order is None else order
            if not infos:
                return note + "No orders on this server."
            return note + "\n\n".join(_describe.describe(i, now) for i in infos)
        info = self.lookup(order) if isinstance(order, str) else order
        return note + _describe.describe(info, now)

    def describe_json(self, order: Union["inspection.Info", str, None] = None) -> Any:
        """What :meth:`describe` shows, as JSON-ready data (``json.dumps`` takes it):
        a dict for one object, a list of dicts for every order when ``order`` is
        None.  See :func:`pytest_acme.describe.describe_json`."""
        now = self.clock.now()
        if order is None:
            return [_describe.describe_json(i, now) for i in self.orders()]
        info = self.lookup(order) if isinstance(order, str) else order
        return _describe.describe_json(info, now)

    def describe_requests(self, last: int = 20) -> str:
        """A table of the last ``last`` requests: time, age, method, path, status,
        account and problem type (with its detail)."""
        with self.app.store.lock:
            records = list(self.app.requests)
            dropped = self.app.requests.dropped
        return _describe.describe_requests(records, self.clock.now(), last=last, dropped=dropped)

    def __repr__(self) -> str:
        where = self.directory_url if self.port else "not started"
        return f"<AcmeServer {where}>"
