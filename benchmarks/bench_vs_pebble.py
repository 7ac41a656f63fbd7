"""pytest-acme and Pebble side by side: one run, one machine, one lean client.

    python benchmarks/bench_vs_pebble.py            # the full run (about 6 minutes)
    python benchmarks/bench_vs_pebble.py --quick    # a short run (about 1 minute)

Pebble is measured when the ``pebble`` command is installed (``--pebble PATH``
for another one), with PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1
PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0, on free loopback ports, with a
generated config and a trustme-made HTTPS certificate.  pytest-acme runs with
``validation="always_valid"`` (the same variables turn it on for ``serve``).

The client (:mod:`leanclient`) keeps one HTTP/1.1 connection per thread and
signs with an EC P-256 key; an order is its whole lifecycle: newOrder, authz,
challenge, poll, finalize, poll, certificate.  Each load is run twice: polling
again at once (the server alone), and honouring ``Retry-After`` as a client
does (``--pacing``, :data:`leanclient.PACINGS`).

Measured:
  * start-up to the first good directory response: ``AcmeServer().start()`` in
    this process, ``pytest-acme serve`` and ``pebble`` as subprocesses (wall and CPU);
  * orders/s and p50/p95 order latency at 1, 4 and 16 client threads, each
    against a fresh ``serve`` / ``pebble`` process (and in-process at 1 thread),
    for the client that polls at once and for the one that honours Retry-After.
    A request unanswered for ``--timeout`` seconds marks the run as stuck
    (Pebble deadlocks); it is reported, and the next run starts a new server;
  * server CPU per order: from /proc for the subprocesses; in-process, the
    process's CPU minus the client threads' own CPU (``time.thread_time``);
  * ``reset()`` of an in-process server holding 0 and 100 orders;
  * resident memory of each subprocess every 1000 orders up to 10,000 (1 thread),
    and for pytest-acme again after ``POST /pytest-acme/reset``;
  * per-request latency by endpoint (1 thread, medians);
  * the crypto floor: one certificate signed by a P-256 issuer, one CSR
    signature check and six ES256 verifications, with python ``cryptography``.

The machine's load (``/proc/loadavg``) is printed before and after: on a
shared machine the figures are noisy, the ratios less so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import ssl
import statistics
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import leanclient  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from josepy import jwa  # noqa: E402
from leanclient import LeanClient, ServerStuck  # noqa: E402
from targets import InProcess, Pebble, Serve, Target  # noqa: E402

from pytest_acme import AcmeServer  # noqa: E402


def _load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _ms(seconds: Optional[float]) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.1f} ms"


# -- the crypto floor ------------------------------------------------------------


def crypto_floor(rounds: int) -> float:
    """Median seconds of what a server must compute per order, at least."""
    issuer = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    account = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "floor")])
    csr_der = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName("a.example.com")]),
                              critical=False)
               .sign(leaf_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    message = b"e" * 300
    signature = jwa.ES256.sign(account, message)
    public = account.public_key()
    now = dt.datetime.now(dt.timezone.utc)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        csr = x509.load_der_x509_csr(csr_der)
        assert csr.is_signature_valid
        (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(name)
         .public_key(csr.public_key()).serial_number(1).not_valid_before(now)
         .not_valid_after(now + dt.timedelta(days=90))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName("a.example.com")]),
                        critical=False)
         .sign(issuer, hashes.SHA256()))
        for _ in range(6):
            assert jwa.ES256.verify(public, message, signature)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# -- start-up --------------------------------------------------------------------


@dataclass
class Startup:
    wall: float
    cpu: Optional[float]


def startups(makers: Dict[str, Callable[[], Target]], rounds: int) -> Dict[str, Startup]:
    """Medians of ``rounds`` start-ups of each target, taken in turn (so a change
    in the machine's load falls on all of them alike)."""
    walls: Dict[str, List[float]] = {name: [] for name in makers}
    cpus: Dict[str, List[float]] = {name: [] for name in makers}
    for _ in range(rounds):
        for name, make in makers.items():
            target = make()
            cpu0 = time.process_time()
            try:
                walls[name].append(target.start())
                cpu = target.cpu_seconds()
                cpus[name].append(cpu if cpu is not None else time.process_time() - cpu0)
            finally:
                target.stop()
                getattr(target, "cleanup", lambda: None)()
    return {name: Startup(statistics.median(walls[name]), statistics.median(cpus[name]))
            for name in makers}


# -- load ------------------------------------------------------------------------


@dataclass
class Load:
    threads: int
    orders: int = 0
    seconds: float = 0.0
    latencies: List[float] = field(default_factory=list)
    server_cpu: Optional[float] = None
    stuck: Optional[str] = None
    slept: float = 0.0
    requests_per_order: float = 0.0
    endpoints: Dict[str, List[float]] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_order(self) -> Optional[float]:
        if self.server_cpu is None or not self.orders:
            return None
        return self.server_cpu / self.orders


def load(make: Callable[[], Target], threads: int, seconds: float,
         pacing: str = "none") -> Load:
    """Orders from ``threads`` clients for ``seconds``, against a fresh server;
    ``pacing`` says how the clients wait between polls."""
    target = make()
    target.start()
    result = Load(threads)
    try:
        clients = []
        for i in range(threads):
            client = LeanClient(target.directory_url, target.cafile,
                                name=f"t{i}.bench.example.com", pacing=pacing)
            client.register()
            client.order()  # warm-up
            client.timings.clear()
            client.slept = 0.0
            clients.append(client)
        start, stop = threading.Barrier(threads + 1), threading.Event()
        finished: List[List[Tuple[float, float]]] = [[] for _ in clients]
        client_cpu = [0.0] * threads
        errors: List[str] = []

        def work(i: int) -> None:
            start.wait()
            cpu0 = time.thread_time()
            try:
                while not stop.is_set():
                    began = time.perf_counter()
                    clients[i].order()
                    ended = time.perf_counter()
                    finished[i].append((ended, ended - began))
            except ServerStuck as e:
                errors.append(str(e))
            except Exception as e:  # noqa: BLE001 - shown in the report
                errors.append(f"{type(e).__name__}: {e}")
            finally:
                client_cpu[i] = time.thread_time() - cpu0

        workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
        for w in workers:
            w.start()
        start.wait()
        cpu0, proc0, t0 = target.cpu_seconds(), time.process_time(), time.perf_counter()
        stop.wait(seconds)
        stop.set()
        t1, cpu1, proc1 = time.perf_counter(), target.cpu_seconds(), time.process_time()
        for w in workers:
            w.join(leanclient.REQUEST_TIMEOUT + 5)
        done = [lat for per in finished for end, lat in per if end <= t1]
        result.orders, result.seconds, result.latencies = len(done), t1 - t0, done
        if pacing != "none":
            # A paced order may take longer than the run: each thread's orders,
            # the one in flight at the end included, over the time they took.
            result.latencies = [lat for per in finished for _, lat in per]
            per_thread = [len(per) / (per[-1][0] - t0) for per in finished if per]
            result.orders = sum(len(per) for per in finished)
            result.seconds = result.orders / sum(per_thread) if per_thread else 0.0
        if cpu0 is not None and cpu1 is not None:
            result.server_cpu = cpu1 - cpu0
        else:  # in-process: the process minus what the client threads used
            result.server_cpu = max(0.0, (proc1 - proc0) - sum(client_cpu))
        if errors:
            result.stuck = errors[0]
        total_requests = sum(sum(len(v) for v in c.timings.values()) for c in clients)
        all_orders = sum(len(per) for per in finished)
        result.requests_per_order = total_requests / all_orders if all_orders else 0.0
        result.slept = sum(c.slept for c in clients)
        for c in clients:
            for label, values in c.timings.items():
                result.endpoints.setdefault(label, []).extend(values)
            c.close()
    finally:
        target.stop()
        getattr(target, "cleanup", lambda: None)()
    return result


def best_of(make: Callable[[], Target], threads: int, seconds: float, runs: int,
            pacing: str = "none") -> List[Load]:
    return [load(make, threads, seconds, pacing) for _ in range(runs)]


def median_run(runs: List[Load]) -> Optional[Load]:
    complete = sorted((r for r in runs if not r.stuck), key=lambda r: r.rate)
    return complete[len(complete) // 2] if complete else None


# -- reset and memory -------------------------------------------------------------


def reset_times(orders: int, rounds: int) -> float:
    with AcmeServer(validation="always_valid", dns_port=None) as server:
        times = []
        for _ in range(rounds):
            client = LeanClient(server.directory_url, server.ca_bundle)
            client.register()
            for _ in range(orders):
                client.order()
            client.close()
            server.wait_idle()
            started = time.perf_counter()
            server.reset()
            times.append(time.perf_counter() - started)
        return statistics.median(times)


def memory(make: Callable[[], Target], orders: int, every: int) -> Tuple[List[Tuple[int, int]],
                                                                         List[Tuple[int, int]]]:
    """RSS every ``every`` orders; for ``serve``, also after its reset API and as many
    orders again (``every`` x 2)."""
    target = make()
    target.start()
    samples, after_reset = [(0, target.rss_bytes() or 0)], []
    try:
        client = LeanClient(target.directory_url, target.cafile)
        client.register()
        for n in range(1, orders + 1):
            client.order()
            if n % every == 0:
                samples.append((n, target.rss_bytes() or 0))
        client.close()
        reset = getattr(target, "reset_url", None)
        if reset:
            context = ssl.create_default_context(cafile=target.cafile)
            urllib.request.urlopen(urllib.request.Request(reset, method="POST", data=b""),
                                   context=context, timeout=30).read()
            after_reset.append((0, target.rss_bytes() or 0))
            client = LeanClient(target.directory_url, target.cafile)
            client.register()
            for n in range(1, 2 * every + 1):
                client.order()
                if n % every == 0:
                    after_reset.append((n, target.rss_bytes() or 0))
            client.close()
    except ServerStuck as e:
        samples.append((-1, 0))
        print(f"  {target.name}: stuck during the memory run: {e}", file=sys.stderr)
    finally:
        target.stop()
        getattr(target, "cleanup", lambda: None)()
    return samples, after_reset


def growth(samples: List[Tuple[int, int]]) -> Optional[float]:
    """Bytes per order over the second half of the samples (after warm-up)."""
    good = [s for s in samples if s[0] >= 0]
    if len(good) < 3:
        return None
    half = good[len(good) // 2:]
    (n0, r0), (n1, r1) = half[0], half[-1]
    return (r1 - r0) / (n1 - n0) if n1 > n0 else None


# -- the report ---------------------------------------------------------------------


def _ratio(ours: Optional[float], theirs: Optional[float], higher_is_better: bool) -> str:
    if not ours or not theirs:
        return "–"
    ratio = ours / theirs
    return f"{ratio:.2f}x" + (" (higher is better)" if higher_is_better else "")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="short runs: 1 run per thread count, 2 s each, 2000 orders for memory")
    parser.add_argument("--runs", type=int, help="runs per thread count (default 3)")
    parser.add_argument("--seconds", type=float, help="seconds per load run (default 5)")
    parser.add_argument("--memory-orders", type=int, help="orders for the memory run (10000)")
    parser.add_argument("--threads", default="1,4,16", help="client thread counts")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="seconds without an answer that mark a server as stuck")
    parser.add_argument("--pebble", default="pebble", help="the Pebble command")
    parser.add_argument("--no-pebble", action="store_true", help="measure pytest-acme only")
    parser.add_argument("--startup-rounds", type=int,
                        help="start-ups of each server, taken in turn (default 3, --quick 3)")
    parser.add_argument("--startup-only", action="store_true",
                        help="measure the start-ups and stop")
    parser.add_argument("--serve-python", default=sys.executable,
                        help="the Python that runs `pytest-acme serve` (another checkout's "
                        "virtualenv, to compare two versions); default: this one")
    parser.add_argument("--pacing", default="retry-after", choices=leanclient.PACINGS[1:],
                        help="how the second client waits between polls (default %(default)s)")
    args = parser.parse_args(argv)
    quick = args.quick
    runs = args.runs or (1 if quick else 3)
    seconds = args.seconds or (2.0 if quick else 5.0)
    memory_orders = args.memory_orders or (2000 if quick else 10000)
    thread_counts = [int(t) for t in args.threads.split(",")]
    leanclient.REQUEST_TIMEOUT = args.timeout
    with_pebble = not args.no_pebble and Pebble.available(args.pebble)

    print(f"# bench_vs_pebble {'--quick ' if quick else ''}on {platform.node()}: "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {_load()} at the start, {dt.datetime.now():%Y-%m-%d %H:%M}")
    if not with_pebble:
        print("# Pebble: not measured (no 'pebble' command)")
    sys.stdout.flush()

    def pebble() -> Target:
        return Pebble(args.pebble)

    floor = crypto_floor(200 if quick else 1000)
    print(f"crypto floor per order: {_ms(floor)}", flush=True)

    # Start-up.
    AcmeServer(dns_port=None).start().close()  # imports and first-use costs, once
    rounds = args.startup_rounds or (3 if quick else 5)
    Serve.python = args.serve_python
    makers: Dict[str, Callable[[], Target]] = {"in-process": InProcess, "serve": Serve}
    if with_pebble:
        makers["pebble"] = pebble
    up = startups(makers, rounds)
    for name, s in up.items():
        print(f"start-up {name}: {_ms(s.wall)} wall, {_ms(s.cpu)} CPU", flush=True)
    if args.startup_only:
        return 0

    # Load.
    loads: Dict[Tuple[str, int], List[Load]] = {}
    kinds: List[Tuple[str, Callable[[], Target]]] = [("serve", Serve)]
    if with_pebble:
        kinds.append(("pebble", pebble))
    for threads in thread_counts:
        for name, make in kinds:
            loads[(name, threads)] = best_of(make, threads, seconds, runs)
            for r in loads[(name, threads)]:
                print(f"load {name} x{threads}: {r.orders} orders in {r.seconds:.1f} s = "
                      f"{r.rate:.0f}/s, cpu/order {_ms(r.cpu_per_order)}"
                      + (f", STUCK: {r.stuck}" if r.stuck else ""), flush=True)
    for threads in thread_counts:
        for name, make in kinds:
            paced = best_of(make, threads, seconds, runs, args.pacing)
            loads[(f"{name} {args.pacing}", threads)] = paced
            for r in paced:
                print(f"load {name} {args.pacing} x{threads}: {r.orders} orders in "
                      f"{r.seconds:.1f} s = {r.rate:.1f}/s, slept {r.slept:.1f} s"
                      + (f", STUCK: {r.stuck}" if r.stuck else ""), flush=True)
    loads[("in-process", 1)] = best_of(InProcess, 1, seconds, runs)
    for r in loads[("in-process", 1)]:
        print(f"load in-process x1: {r.rate:.0f}/s, cpu/order {_ms(r.cpu_per_order)}", flush=True)

    # reset() and memory.
    reset0 = reset_times(0, 5)
    reset100 = reset_times(100, 3 if quick else 5)
    print(f"reset(): {_ms(reset0)} empty, {_ms(reset100)} with 100 orders", flush=True)
    every = 1000 if memory_orders >= 2000 else max(1, memory_orders // 4)
    mem = {"serve": memory(Serve, memory_orders, every)}
    if with_pebble:
        mem["pebble"] = memory(pebble, memory_orders, every)
    for name, (samples, after) in mem.items():
        print(f"memory {name}: " + ", ".join(f"{n}: {r / 1e6:.1f} MB" for n, r in samples)
              + (" | after reset: " + ", ".join(f"{n}: {r / 1e6:.1f} MB" for n, r in after)
                 if after else ""), flush=True)

    report(up, loads, thread_counts, floor, reset0, reset100, mem, with_pebble, runs, seconds,
           memory_orders, args.pacing)
    print(f"# load average {_load()} at the end")
    return 0


def report(up: Dict[str, Startup], loads: Dict[Tuple[str, int], List[Load]],
           thread_counts: List[int], floor: float, reset0: float, reset100: float,
           mem: Dict[str, Tuple[List[Tuple[int, int]], List[Tuple[int, int]]]],
           with_pebble: bool, runs: int, seconds: float, memory_orders: int,
           pacing: str) -> None:
    print()
    print("| measure | pytest-acme | Pebble | pytest-acme / Pebble |")
    print("| --- | --- | --- | --- |")
    peb = up.get("pebble")
    for name in ("in-process", "serve"):
        s = up[name]
        print(f"| start-up to first directory ({name}) | {_ms(s.wall)} ({_ms(s.cpu)} CPU) | "
              f"{_ms(peb.wall) + f' ({_ms(peb.cpu)} CPU)' if peb else '–'} | "
              f"{_ratio(s.wall, peb.wall if peb else None, False)} |")
    for threads in thread_counts:
        ours = median_run(loads[("serve", threads)])
        theirs_runs = loads.get(("pebble", threads), [])
        theirs = median_run(theirs_runs)
        stuck = sum(1 for r in theirs_runs if r.stuck)
        ours_stuck = sum(1 for r in loads[("serve", threads)] if r.stuck)

        def cell(r: Optional[Load], stuck_count: int, total: int) -> str:
            if r is None:
                return f"stuck in {stuck_count} of {total} runs" if total else "–"
            text = (f"{r.rate:.0f}/s, p50 {_ms(statistics.median(r.latencies))}, "
                    f"p95 {_ms(_pct(r.latencies, 0.95))}")
            return text + (f"; stuck in {stuck_count} of {total} runs" if stuck_count else "")

        print(f"| orders/s, {threads} client thread(s) | "
              f"{cell(ours, ours_stuck, len(loads[('serve', threads)]))} | "
              f"{cell(theirs, stuck, len(theirs_runs)) if with_pebble else '–'} | "
              f"{_ratio(ours.rate if ours else None, theirs.rate if theirs else None, True)} |")
    for threads in thread_counts:
        ours_runs = loads[(f"serve {pacing}", threads)]
        theirs_runs = loads.get((f"pebble {pacing}", threads), [])
        ours, theirs = median_run(ours_runs), median_run(theirs_runs)

        def paced(r: Optional[Load], runs_: List[Load]) -> str:
            if r is None:
                return f"stuck in {len(runs_)} of {len(runs_)} runs" if runs_ else "–"
            return (f"{r.rate:.1f}/s, p50 {_ms(statistics.median(r.latencies)) if r.latencies else '–'}"
                    f", slept {r.slept / max(1, r.orders) * 1000:.0f} ms/order")

        print(f"| orders/s, {threads} client thread(s), {pacing} pacing | {paced(ours, ours_runs)} | "
              f"{paced(theirs, theirs_runs) if with_pebble else '–'} | "
              f"{_ratio(ours.rate if ours else None, theirs.rate if theirs else None, True)} |")
    for threads in thread_counts:
        ours = median_run(loads[("serve", threads)])
        theirs = median_run(loads.get(("pebble", threads), []))
        print(f"| server CPU per order, {threads} thread(s) (/proc) | "
              f"{_ms(ours.cpu_per_order if ours else None)} | "
              f"{_ms(theirs.cpu_per_order if theirs else None)} | "
              f"{_ratio(ours.cpu_per_order if ours else None, theirs.cpu_per_order if theirs else None, False)} |")
    inproc = median_run(loads[("in-process", 1)])
    if inproc:
        print(f"| in-process, 1 thread: orders/s; server CPU per order (process - client) | "
              f"{inproc.rate:.0f}/s, p50 {_ms(statistics.median(inproc.latencies))}; "
              f"{_ms(inproc.cpu_per_order)} | | |")
    print(f"| crypto floor per order (P-256 cert signature + CSR check + 6 ES256 verifications) "
          f"| {_ms(floor)} | | |")
    ours1 = median_run(loads[("serve", 1)])
    if ours1 and ours1.cpu_per_order:
        print(f"| server CPU per order / crypto floor (1 thread) | "
              f"{ours1.cpu_per_order / floor:.1f}x | "
              + (f"{median_run(loads[('pebble', 1)]).cpu_per_order / floor:.1f}x"  # type: ignore
                 if with_pebble and median_run(loads[("pebble", 1)]) else "–") + " | |")
    print(f"| reset(), empty / holding 100 orders | {_ms(reset0)} / {_ms(reset100)} | no reset | |")
    for name, label in (("serve", "pytest-acme"), ("pebble", "Pebble")):
        if name not in mem:
            continue
        samples, after = mem[name]
        last = [s for s in samples if s[0] >= 0][-1]
        g = growth(samples)
        print(f"| RSS at start / after {last[0]} orders ({label}) | "
              f"{samples[0][1] / 1e6:.1f} / {last[1] / 1e6:.1f} MB, "
              f"{'+%.1f KB per order' % (g / 1e3) if g else 'flat'} after warm-up"
              + (f"; after reset and {after[-1][0]} more orders: {after[-1][1] / 1e6:.1f} MB"
                 if after else "") + " | | |")
    print()
    pebble1 = median_run(loads.get(("pebble", 1), []))
    endpoint_rows = ("newOrder", "authz", "challenge", "poll authz", "finalize", "poll order",
                     "certificate")
    if ours1:
        print("| endpoint (1 thread, p50) | pytest-acme | Pebble |")
        print("| --- | --- | --- |")
        for label in endpoint_rows:
            a = ours1.endpoints.get(label)
            b = pebble1.endpoints.get(label) if pebble1 else None
            print(f"| {label} | {_ms(statistics.median(a)) if a else '–'} | "
                  f"{_ms(statistics.median(b)) if b else '–'} |")
        print(f"| requests per order | {ours1.requests_per_order:.2f} | "
              f"{pebble1.requests_per_order:.2f} |" if pebble1 else
              f"| requests per order | {ours1.requests_per_order:.2f} | – |")
    print()
    print(f"({runs} run(s) of {seconds:g} s per thread count, medians; memory over "
          f"{memory_orders} orders at 1 thread)")
    targets(up, loads, thread_counts, floor, reset0, mem, with_pebble, pacing)


def targets(up: Dict[str, Startup], loads: Dict[Tuple[str, int], List[Load]],
            thread_counts: List[int], floor: float, reset0: float,
            mem: Dict[str, Tuple[List[Tuple[int, int]], List[Tuple[int, int]]]],
            with_pebble: bool, pacing: str = "retry-after") -> None:
    def line(ok: Optional[bool], text: str) -> None:
        mark = {True: "met", False: "NOT met", None: "n/a"}[ok]
        print(f"  [{mark}] {text}")

    print("targets:")
    peb = up.get("pebble")
    line(None if not peb else up["in-process"].wall <= peb.wall / 5,
         f"start-up in-process <= 1/5 of Pebble's ({_ms(up['in-process'].wall)} vs "
         f"{_ms(peb.wall) if peb else '–'})")
    line(None if not peb else up["serve"].wall <= peb.wall,
         f"start-up of serve <= Pebble's ({_ms(up['serve'].wall)} vs "
         f"{_ms(peb.wall) if peb else '–'})")
    for threads in thread_counts:
        ours = median_run(loads[("serve", threads)])
        theirs = median_run(loads.get(("pebble", threads), []))
        if threads in (1, 4):
            ok = None if not (ours and theirs) else ours.rate >= theirs.rate
            line(ok, f"orders/s at {threads} thread(s) >= Pebble's "
                     f"({ours.rate if ours else 0:.0f} vs "
                     f"{theirs.rate if theirs else 0:.0f}{'' if theirs else ', Pebble stuck'})")
        else:
            stuck = [r for r in loads[("serve", threads)] if r.stuck]
            line(not stuck, f"every order completes at {threads} threads "
                            f"({len(stuck)} stuck run(s) of {len(loads[('serve', threads)])})")
    for threads in thread_counts:
        ours = median_run(loads[(f"serve {pacing}", threads)])
        theirs = median_run(loads.get((f"pebble {pacing}", threads), []))
        if threads in (1, 4):
            ok = None if not (ours and theirs) else ours.rate >= theirs.rate
            line(ok, f"{pacing} orders/s at {threads} thread(s) >= Pebble's "
                     f"({ours.rate if ours else 0:.1f} vs "
                     f"{theirs.rate if theirs else 0:.1f}{'' if theirs else ', Pebble stuck'})")
        else:
            stuck = [r for r in loads[(f"serve {pacing}", threads)] if r.stuck]
            line(not stuck, f"every {pacing} order completes at {threads} threads "
                            f"({len(stuck)} stuck run(s))")
    for threads in thread_counts:
        ours = median_run(loads[("serve", threads)])
        theirs = median_run(loads.get(("pebble", threads), []))
        ok = None
        if ours and theirs and ours.cpu_per_order and theirs.cpu_per_order:
            ok = ours.cpu_per_order <= 0.6 * theirs.cpu_per_order
        line(ok, f"server CPU per order at {threads} thread(s) <= 0.6x Pebble's "
                 f"({_ms(ours.cpu_per_order if ours else None)} vs "
                 f"{_ms(theirs.cpu_per_order if theirs else None)})")
    ours1 = median_run(loads[("serve", 1)])
    if ours1 and ours1.cpu_per_order:
        line(ours1.cpu_per_order <= 3 * floor,
             f"server CPU per order <= 3x the crypto floor ({_ms(ours1.cpu_per_order)} vs "
             f"3 x {_ms(floor)})")
    line(reset0 < 0.001, f"reset() under 1 ms ({_ms(reset0)})")
    samples, after = mem["serve"]
    g = growth(samples)
    line(g is not None and g < 200, "memory flat after warm-up over the run "
         f"({'+%.1f KB per order' % (g / 1e3) if g else 'flat'}"
         + (f"; after reset: {after[-1][1] / 1e6:.1f} MB vs {samples[-1][1] / 1e6:.1f} MB "
            "before it" if after else "") + ")")


if __name__ == "__main__":
    sys.exit(main())
