"""Running a client command against one scenario's fresh server.

:func:`run_scenario` starts a server on free loopback ports (the ACME API, its
DNS server, a pebble-challtestsrv API on the same zone and the management API
for the roots), arms the scenario's faults, runs the command with the shared
harness's environment, and observes what the server saw.  Every scenario gets
its own server, so runs never see each other's orders, and ``jobs > 1`` can run
scenarios side by side.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from cryptography import x509
from werkzeug.exceptions import HTTPException

from ..config import AcmeConfig
from ..httpd import HttpLimits, WsgiThread
from ..listeners import spare_port
from ..server import AcmeServer, AcmeServerError
from ..web.routes import RULES
from .judge import FaultFiring, Observation, OrderSeen, Request, Verdict, judge
from .scenarios import Scenario

#: Seconds a command may run before it is killed and the scenario fails.
DEFAULT_TIMEOUT = 120.0
#: Lines of the command's output kept in the reports.
OUTPUT_TAIL = 40
#: Seconds a killed command's process group has between SIGTERM and SIGKILL.
KILL_GRACE = 5.0


@dataclass(frozen=True)
class Result:
    """One scenario's run: the verdict, and what it is based on."""

    scenario: Scenario
    verdict: Verdict
    observation: Observation
    output: str

    @property
    def passed(self) -> bool:
        return self.verdict.passed


@contextmanager
def world(settings: Mapping[str, Any], environ: Mapping[str, str]
          ) -> Iterator[Tuple[AcmeServer, Dict[str, str]]]:
    """A running server for one scenario and the environment a client needs.

    The environment is the shared harness's: ``ACME_DIRECTORY``,
    ``ACME_CA_BUNDLE`` (also ``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``,
    ``LEGO_CA_CERTIFICATES``), ``ACME_HTTP01_PORT``, ``ACME_TLSALPN01_PORT``,
    ``ACME_DNS_MGMT``, ``ACME_DNS_RESOLVER`` and ``ACME_ROOT_URL``, on top of
    ``environ``.
    """
    from ..standalone.challtestsrv import make_challtestsrv_app
    from ..standalone.management import make_management_app

    config = AcmeConfig(**{"host": "127.0.0.1", "port": 0, "dns_port": 0,
                           "http01_port": spare_port(), "tlsalpn01_port": spare_port(),
                           **settings})
    with ExitStack() as stack:
        server = AcmeServer(config).start()
        stack.callback(server.close)
        limits = HttpLimits.of(server.config)
        api = WsgiThread(make_challtestsrv_app(server.dns), "127.0.0.1", 0, None,
                         "challtestsrv API", limits=limits).start()
        stack.callback(api.stop)
        mgmt = WsgiThread(make_management_app(server), "127.0.0.1", 0, server.ssl_context,
                          "management API", limits=limits).start()
        stack.callback(mgmt.stop)
        env = dict(environ)
        env.update({
            "ACME_DIRECTORY": server.directory_url,
            "ACME_CA_BUNDLE": server.ca_bundle,
            "SSL_CERT_FILE": server.ca_bundle,
            "REQUESTS_CA_BUNDLE": server.ca_bundle,
            "LEGO_CA_CERTIFICATES": server.ca_bundle,
            "ACME_HTTP01_PORT": str(config.http01_port),
            "ACME_TLSALPN01_PORT": str(config.tlsalpn01_port),
            "ACME_DNS_MGMT": f"http://127.0.0.1:{api.port}",
            "ACME_DNS_RESOLVER": str(server.dns_address),
            "ACME_ROOT_URL": f"https://127.0.0.1:{mgmt.port}/roots/0",
        })
        yield server, env


def _stop_group(proc: "subprocess.Popen[bytes]") -> None:
    """End what is left of the command's process group: the command ran in a
    session of its own, so this reaches it and its children, and nothing else."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        proc.wait()
        return
    try:
        proc.wait(timeout=KILL_GRACE)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()


def run_command(cmd: Sequence[str], env: Mapping[str, str], timeout: float
                ) -> Tuple[Optional[int], bool, float, str]:
    """Run ``cmd`` to its end or ``timeout``; (exit code, timed out, seconds, output tail)."""
    with tempfile.TemporaryFile() as out:
        start = time.monotonic()
        try:
            proc = subprocess.Popen(list(cmd), env=dict(env), stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        except OSError as e:
            return 127, False, 0.0, f"cannot run {cmd[0]!r}: {e}"
        timed_out = False
        try:
            code: Optional[int] = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out, code = True, None
        seconds = time.monotonic() - start
        _stop_group(proc)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return code, timed_out, seconds, "\n".join(text.splitlines()[-OUTPUT_TAIL:])


def _endpoint(method: str, path: str) -> Optional[str]:
    try:
        endpoint, _ = RULES.bind("localhost").match(
            path.split("?", 1)[0], method="POST" if method == "POST" else "GET")
    except HTTPException:
        return None
    return str(endpoint)


def _names(cert: Optional[x509.Certificate]) -> Tuple[str, ...]:
    if cert is None:
        return ()
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(str(v) for v in san.get_values_for_type(x509.DNSName)) + tuple(
        str(v) for v in san.get_values_for_type(x509.IPAddress))


def observe(server: AcmeServer, started: Any, *, exit_code: Optional[int], timed_out: bool,
            seconds: float, timeout: float) -> Observation:
    """What ``server`` saw since ``started`` (its clock's time when the command began)."""
    def t(when: Any) -> float:
        return round((when - started).total_seconds(), 3)

    requests = tuple(Request(t(r.time), r.method, r.path, _endpoint(r.method, r.path),
                             r.status, r.problem) for r in server.requests)
    fired = tuple(FaultFiring(t(f.time), f.fault.kind, f.where)
                  for f in list(server.faults.fired))
    orders = tuple(OrderSeen(o.id, tuple(i.value for i in o.identifiers), o.status.value,
                             o.certificate_url.rsplit("/", 1)[-1] if o.certificate_url else None,
                             _names(o.certificate)) for o in server.orders())
    errors: Tuple[str, ...] = ()
    try:
        server.check()
    except AcmeServerError as e:
        errors = (str(e),)
    return Observation(exit_code, timed_out, round(seconds, 2), timeout, requests, fired,
                       orders, errors)


def run_scenario(scenario: Scenario, cmd: Sequence[str], environ: Mapping[str, str],
                 timeout: float = DEFAULT_TIMEOUT) -> Result:
    """Run ``cmd`` once against a fresh server with ``scenario``'s faults, and judge it."""
    with world(scenario.settings, environ) as (server, env):
        server.faults.add(*scenario.faults())
        started = server.clock.now()
        code, timed_out, seconds, output = run_command(cmd, env, timeout)
        try:
            server.wait_idle(timeout=5)
        except TimeoutError:
            pass  # judged as it stands
        seen = observe(server, started, exit_code=code, timed_out=timed_out, seconds=seconds,
                       timeout=timeout)
    return Result(scenario, judge(scenario, seen), seen, output)


def run_all(scenarios: Sequence[Scenario], cmd: Sequence[str], environ: Mapping[str, str], *,
            timeout: float = DEFAULT_TIMEOUT, jobs: int = 1,
            progress: Optional[Callable[[int, int, Result], None]] = None) -> List[Result]:
    """Run every scenario (``jobs`` at once), calling ``progress(done, total, result)``
    as each ends; the results come back in the order of ``scenarios``."""
    results: Dict[int, Result] = {}
    lock = threading.Lock()

    def one(index: int) -> None:
        result = run_scenario(scenarios[index], cmd, environ, timeout)
        with lock:
            results[index] = result
            if progress is not None:
                progress(len(results), len(scenarios), result)

    if jobs <= 1:
        for index in range(len(scenarios)):
            one(index)
    else:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="check-client") as pool:
            for future in [pool.submit(one, i) for i in range(len(scenarios))]:
                future.result()
    return [results[i] for i in range(len(scenarios))]
