"""Whole real-client runs, pytest-acme and Pebble side by side, run by hand:

    python benchmarks/bench_clients.py [--rounds 3] [--clients acme,lego,certbot,dehydrated]

What a test suite of an ACME client feels is the wall time of the client's
whole run: a new account, an order, its challenges, the polls, finalize and
the download.  This times exactly that, for each client and scenario, against
``pytest-acme serve`` (real validation) and Debian's ``pebble`` with
``pebble-challtestsrv`` (PEBBLE_VA_NOSLEEP=1, no nonce rejection, no
authorization reuse), alternating between them round by round so that both see
the same machine load:

* ``acme``: certbot's ``acme`` library in this process, ``poll_and_finalize``
  (which sleeps 1 s before its first read of a finalized order, whatever the
  server says: no server can go below that);
* ``lego``, ``certbot`` and ``dehydrated`` as processes, each on its own
  temporary directory, trusting the server's HTTPS through its environment;
* scenarios ``http-01`` and ``dns-01``, with one name and with three.

http-01 answers come from the client itself (``acme``: an
:class:`~pytest_acme.responders.Http01Responder` kept between runs, as a test
suite keeps it); dns-01 records go through the
challtestsrv API (``POST /set-txt``) that both servers offer.  Every name is
under ``example.test`` and every server on loopback.  Prints the median wall
time of each cell and the ratio, with the load average before and after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from targets import Pebble, Serve  # noqa: E402

from pytest_acme.listeners import spare_port  # noqa: E402

CLIENTS = ("acme", "lego", "certbot", "dehydrated")
SCENARIOS = ("http-01", "http-01 x3", "dns-01", "dns-01 x3")
#: What the servers are started with: real validation, no random sleeps or nonce
#: rejection, no authorization reuse (each run is a new account anyway).
SERVER_ENV = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0",
              "PEBBLE_AUTHZREUSE": "0", "PEBBLE_VA_ALWAYS_VALID": "0"}


def _load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Setup:
    """A running server with what the clients need: its directory, the PEM to
    trust, the ports its validator dials, and a challtestsrv API for TXT records."""

    name = ""
    directory_url = cafile = dns_api = ""
    http01_port = 0
    #: certbot's acme runs answer http-01 from this responder, kept between runs.
    responder: Any = None

    def stop_responder(self) -> None:
        """Free the http-01 port for the clients that serve it themselves."""
        if self.responder is not None:
            self.responder.stop()
            self.responder = None

    def set_txt(self, host: str, value: str) -> None:
        body = json.dumps({"host": host.rstrip(".") + ".", "value": value}).encode()
        urllib.request.urlopen(f"{self.dns_api}/set-txt", body, timeout=10).read()

    def clear_txt(self, host: str) -> None:
        body = json.dumps({"host": host.rstrip(".") + "."}).encode()
        urllib.request.urlopen(f"{self.dns_api}/clear-txt", body, timeout=10).read()

    def stop(self) -> None:
        raise NotImplementedError


class ServeSetup(Serve, Setup):
    """``pytest-acme serve``: ACME, DNS and the challtestsrv API in one process."""

    name = "pytest-acme"

    def start(self) -> float:  # type: ignore[override]
        self.http01_port = spare_port()
        api = spare_port()
        started = time.perf_counter()
        env = dict(os.environ, **SERVER_ENV)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pytest_acme", "serve", "-q", "--port", "0",
             "--management-port", "-1", "--challtestsrv-port", str(api), "--dns-port", "0",
             "--http01-port", str(self.http01_port), "--tlsalpn01-port", str(spare_port())],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=self._tmp)
        assert self.proc.stdout is not None
        self.pid = self.proc.pid
        for line in self.proc.stdout:
            self.output.append(line)
            if "Ctrl-C" in line:
                break
        banner = "".join(self.output)
        self.directory_url = banner_field(banner, "directory:")
        self.cafile = banner_field(banner, "CA bundle:")
        self.dns_api = f"http://127.0.0.1:{api}"
        return self._first_directory(started)


class PebbleSetup(Pebble, Setup):
    """Debian's ``pebble`` with ``pebble-challtestsrv`` as its DNS server."""

    name = "Pebble"

    def start(self) -> float:  # type: ignore[override]
        port, dns, api = spare_port(), spare_port(), spare_port()
        self.http01_port = spare_port()
        env = dict(os.environ, **SERVER_ENV)
        self.dns_proc = subprocess.Popen(
            ["pebble-challtestsrv", "-http01", "", "-https01", "", "-tlsalpn01", "",
             "-dns01", f"127.0.0.1:{dns}", "-management", f"127.0.0.1:{api}",
             "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self._tmp)
        config = {"pebble": {
            "listenAddress": f"127.0.0.1:{port}",
            "managementListenAddress": f"127.0.0.1:{spare_port()}",
            "certificate": str(self._tmp / "cert.pem"), "privateKey": str(self._tmp / "key.pem"),
            "httpPort": self.http01_port, "tlsPort": spare_port(),
            "ocspResponderURL": "", "externalAccountBindingRequired": False,
            "retryAfter": {"authz": 1, "order": 1},
        }}
        (self._tmp / "pebble.json").write_text(json.dumps(config))
        self.directory_url = f"https://127.0.0.1:{port}/dir"
        self.dns_api = f"http://127.0.0.1:{api}"
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            ["pebble", "-config", str(self._tmp / "pebble.json"),
             "-dnsserver", f"127.0.0.1:{dns}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=self._tmp)
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            if "Listening on" in line:
                break
        _wait_for_port(api)
        return self._first_directory(started)

    def stop(self) -> None:
        super().stop()
        if self.dns_proc.poll() is None:
            self.dns_proc.kill()
            self.dns_proc.wait()


def banner_field(banner: str, name: str) -> str:
    for line in banner.splitlines():
        if line.strip().startswith(name):
            return line.split(name, 1)[1].split()[0]
    raise RuntimeError(f"no {name!r} in:\n{banner}")


def _wait_for_port(port: int, seconds: float = 10.0) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)  # the process is starting


def _names(scenario: str) -> List[str]:
    base = f"b{uuid.uuid4().hex[:10]}.example.test"
    return [base, f"www.{base}", f"api.{base}"][:3 if scenario.endswith("x3") else 1]


# -- the clients -------------------------------------------------------------------------


def run_acme(setup: Setup, scenario: str, work: Path) -> None:
    """certbot's ``acme`` library: the usual new_order, answer, poll_and_finalize."""
    import josepy
    from acme import client, messages
    from cryptography.hazmat.primitives.asymmetric import ec

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
    from helpers import make_csr
    from pytest_acme.responders import Http01Responder

    names = _names(scenario)
    key = ec.generate_private_key(ec.SECP256R1())
    net = client.ClientNetwork(josepy.JWKEC(key=key), alg=josepy.ES256,
                               user_agent="bench-clients", verify_ssl=setup.cafile)
    acme = client.ClientV2(client.ClientV2.get_directory(setup.directory_url, net), net)
    acme.new_account(messages.NewRegistration(terms_of_service_agreed=True))
    order = acme.new_order(make_csr(names))
    kind = scenario.split()[0]
    if kind == "http-01" and setup.responder is None:
        # Started once: a test suite keeps its responder (stopping one takes 0.5 s).
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        setup.responder = Http01Responder(port=setup.http01_port).start()
    for authz in order.authorizations:
        challb = next(c for c in authz.body.challenges if c.chall.typ == kind)
        response, validation = challb.chall.response_and_validation(net.key)
        if kind == "http-01":
            setup.responder.publish(challb.chall.encode("token"), validation)
        else:
            setup.set_txt(challb.chall.validation_domain_name(authz.body.identifier.value),
                          validation)
        acme.answer_challenge(challb, response)
    finished = acme.poll_and_finalize(order)
    assert "BEGIN CERTIFICATE" in finished.fullchain_pem


class _Files:
    """Serve ``directory``'s files as ``/.well-known/acme-challenge/<name>`` on ``port``."""

    def __init__(self, directory: Path, port: int) -> None:
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path = directory / self.path.rsplit("/", 1)[-1]
                body = path.read_bytes() if path.is_file() else b""
                self.send_response(200 if body else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "_Files":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _hook(work: Path, setup: Setup) -> Path:
    """A DNS hook script: ``hook set NAME VALUE`` / ``hook clear NAME`` through the
    challtestsrv API."""
    hook = work / "dns-hook"
    hook.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, urllib.request\n"
        "cmd, name = sys.argv[1], sys.argv[2].rstrip('.')\n"
        "name = name[2:] if name.startswith('*.') else name\n"
        "name = name if name.startswith('_acme-challenge.') else '_acme-challenge.' + name\n"
        "body = {'host': name + '.'}\n"
        "if cmd == 'set': body['value'] = sys.argv[3]\n"
        f"urllib.request.urlopen({setup.dns_api!r} + ('/set-txt' if cmd == 'set' else "
        "'/clear-txt'), json.dumps(body).encode(), timeout=10).read()\n")
    hook.chmod(0o755)
    return hook


def _run(argv: List[str], env: Dict[str, str], work: Path) -> None:
    done = subprocess.run(argv, env=dict(os.environ, **env), cwd=work, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}):\n{done.stdout[-3000:]}")


def run_lego(setup: Setup, scenario: str, work: Path) -> None:
    names = _names(scenario)
    argv = ["lego", "--server", setup.directory_url, "--accept-tos", "--email",
            "bench@example.test", "--path", str(work / "lego"), "--key-type", "ec256"]
    env = {"LEGO_CA_CERTIFICATES": setup.cafile, "LEGO_DISABLE_CNAME_SUPPORT": "true"}
    for name in names:
        argv += ["--domains", name]
    if scenario.startswith("http-01"):
        argv += ["--http", "--http.port", f"127.0.0.1:{setup.http01_port}"]
    else:
        hook = _hook(work, setup)
        wrapper = work / "lego-exec"
        wrapper.write_text(f"#!/bin/sh\ncase \"$1\" in present) exec {hook} set \"$2\" \"$3\";; "
                           f"cleanup) exec {hook} clear \"$2\";; esac\n")
        wrapper.chmod(0o755)
        env.update(EXEC_PATH=str(wrapper), EXEC_PROPAGATION_TIMEOUT="30",
                   EXEC_POLLING_INTERVAL="1", EXEC_SEQUENCE_INTERVAL="1")
        argv += ["--dns", "exec", "--dns.disable-cp"]
    _run(argv + ["run"], env, work)


def run_certbot(setup: Setup, scenario: str, work: Path) -> None:
    certbot = shutil.which("certbot") or "certbot"
    argv = [certbot, "certonly", "--non-interactive", "--config-dir", str(work / "cfg"),
            "--work-dir", str(work / "work"), "--logs-dir", str(work / "logs"),
            "--server", setup.directory_url, "--agree-tos",
            "--register-unsafely-without-email", "--key-type", "ecdsa",
            "--no-random-sleep-on-renew", "--cert-name", "bench"]
    if scenario.startswith("http-01"):
        argv += ["--standalone", "--preferred-challenges", "http", "--http-01-port",
                 str(setup.http01_port), "--http-01-address", "127.0.0.1"]
    else:
        hook = _hook(work, setup)
        auth = work / "auth-hook"
        auth.write_text(f"#!/bin/sh\nexec {hook} set \"$CERTBOT_DOMAIN\" \"$CERTBOT_VALIDATION\"\n")
        auth.chmod(0o755)
        argv += ["--manual", "--preferred-challenges", "dns", "--manual-auth-hook", str(auth)]
    for name in _names(scenario):
        argv += ["-d", name]
    _run(argv, {"REQUESTS_CA_BUNDLE": setup.cafile}, work)


def run_dehydrated(setup: Setup, scenario: str, work: Path) -> None:
    """dehydrated with its ``hook``: http-01 answers are files in its WELLKNOWN
    directory, served on the http-01 port; dns-01 goes through the challtestsrv API."""
    hook = _hook(work, setup)
    kind = scenario.split()[0]
    wellknown = work / "wellknown"
    wellknown.mkdir()
    (work / "config").write_text(
        f"CA={setup.directory_url}\nCHALLENGETYPE={kind}\nBASEDIR={work}\n"
        f"WELLKNOWN={wellknown}\nHOOK={work / 'dehydrated-hook'}\nKEY_ALGO=prime256v1\n"
        "CONTACT_EMAIL=\nRENEW_DAYS=30\nAUTO_CLEANUP=no\n")
    (work / "dehydrated-hook").write_text(
        "#!/bin/sh\ncase \"$1\" in deploy_challenge) "
        + (f"exec {hook} set \"$2\" \"$4\";; " if kind == "dns-01" else
           f"printf %s \"$4\" > {wellknown}/\"$3\";; ")
        + "esac\nexit 0\n")
    (work / "dehydrated-hook").chmod(0o755)
    env = {"CURL_CA_BUNDLE": setup.cafile}
    base = ["dehydrated", "--config", str(work / "config")]
    _run(base + ["--register", "--accept-terms"], env, work)
    names = _names(scenario)
    with _Files(wellknown, setup.http01_port) if kind == "http-01" else _Nothing():
        argv = base + ["--cron", "--force"]
        for name in names:
            argv += ["--domain", name]
        _run(argv, env, work)


RUNNERS: Dict[str, Callable[[Setup, str, Path], None]] = {
    "acme": run_acme, "lego": run_lego, "certbot": run_certbot, "dehydrated": run_dehydrated}


def available(client: str) -> bool:
    if client == "acme":
        try:
            import acme  # noqa: F401
        except ImportError:
            return False
        return True
    return shutil.which(client) is not None


def timed(run: Callable[[Setup, str, Path], None], setup: Setup, scenario: str) -> float:
    work = Path(tempfile.mkdtemp(prefix="bench-client-"))
    try:
        t0 = time.perf_counter()
        run(setup, scenario, work)
        return time.perf_counter() - t0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs per cell (median)")
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--no-pebble", action="store_true", help="measure pytest-acme only")
    args = parser.parse_args(argv)
    clients = [c for c in args.clients.split(",") if c]
    scenarios = [s for s in args.scenarios.split(",") if s]
    with_pebble = not args.no_pebble and shutil.which("pebble") is not None \
        and shutil.which("pebble-challtestsrv") is not None
    print(f"# bench_clients on {platform.node()}: {os.cpu_count()} CPUs, "
          f"load average {_load()} at the start, {dt.datetime.now():%Y-%m-%d %H:%M}")
    setups: List[Setup] = [ServeSetup()]
    if with_pebble:
        setups.append(PebbleSetup())
    else:
        print("# Pebble: not measured")
    # A TERM stops the run as Ctrl-C does: the servers are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    times: Dict[Tuple[str, str, str], List[float]] = {}
    failures: Dict[Tuple[str, str, str], str] = {}
    try:
        for setup in setups:
            setup.start()
        for client in clients:
            if not available(client):
                print(f"# {client}: not installed, skipped")
                continue
            for setup in setups:
                if client != "acme":
                    setup.stop_responder()
            for scenario in scenarios:
                for _ in range(args.rounds):
                    for setup in setups:  # alternate: both see the same load
                        key = (client, scenario, setup.name)
                        try:
                            seconds = timed(RUNNERS[client], setup, scenario)
                        except Exception as e:  # noqa: BLE001 - shown in the report
                            failures[key] = f"{type(e).__name__}: {str(e)[-300:]}"
                            continue
                        times.setdefault(key, []).append(seconds)
                        print(f"{client} {scenario} {setup.name}: {seconds:.3f} s", flush=True)
    finally:
        for setup in setups:
            setup.stop_responder()
            setup.stop()
            getattr(setup, "cleanup", lambda: None)()
    print()
    print("| client | scenario | pytest-acme | Pebble | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for client in clients:
        for scenario in scenarios:
            ours = times.get((client, scenario, "pytest-acme"))
            theirs = times.get((client, scenario, "Pebble"))
            if not ours and not theirs and (client, scenario, "pytest-acme") not in failures:
                continue

            def cell(values: Optional[List[float]], name: str,
                     key: Tuple[str, str] = (client, scenario)) -> str:
                if values:
                    return f"{statistics.median(values):.2f} s"
                return "failed" if (*key, name) in failures else "–"

            ratio = (f"{statistics.median(ours) / statistics.median(theirs):.2f}x"
                     if ours and theirs else "–")
            print(f"| {client} | {scenario} | {cell(ours, 'pytest-acme')} | "
                  f"{cell(theirs, 'Pebble')} | {ratio} |")
    for (client, scenario, name), why in sorted(failures.items()):
        print(f"# FAILED {client} {scenario} against {name}: {why}")
    print(f"({args.rounds} round(s) per cell, medians of wall time)")
    print(f"# load average {_load()} at the end")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
