"""Floods against ``pytest-acme serve`` on loopback, and what they cost it.

    python benchmarks/flood.py heads      # 200 TLS connections sending unfinished heads
    python benchmarks/flood.py dns-drip   # 30 DNS-over-TCP clients, one byte every 3 s
    python benchmarks/flood.py orders     # 2400 pending orders of 100 identifiers
    python benchmarks/flood.py http01-log # 3000 requests with 60 KB paths to --http01-responder

``heads``: each connection sends a request line, then up to ``--lines`` header
lines of ``--line-bytes`` bytes, and never the empty line that ends the head.
``dns-drip``: each client sends a length of 64, then one byte of the message every ``--interval``
seconds and never finishes it.
``orders``: ``--accounts`` accounts share ``--orders`` newOrders of ``--identifiers``
names each, never answering a challenge, so every order stays pending; then the
management API lists the orders (``GET /pytest-acme/orders``, as a reader would).
The normal request is a whole order by another account (newOrder to certificate,
challenges always valid), or its refusal.
``http01-log``: ``--requests`` GETs of ``--path-bytes`` paths to ``serve
--http01-responder``, whose log keeps them; the normal request is a GET of a
challenge path on a new connection.

Measured for the server process, before, during (after ``--hold`` seconds) and
after the flood: resident memory (``/proc``), and the median latency of a normal
request (a directory GET on a new HTTPS connection; a UDP DNS query).  For
``dns-drip``, also the seconds from SIGTERM to the process's exit while the
clients still drip.  Every loop is bounded in count and time; all traffic goes
to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import ssl
import statistics
import sys
import threading
import time
from typing import Callable, List, Optional
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dns.message  # noqa: E402
import dns.query  # noqa: E402
from leanclient import LeanClient, ServerStuck  # noqa: E402
from targets import Serve, banner_field, get_directory  # noqa: E402

from pytest_acme.listeners import spare_port  # noqa: E402


def median_ms(probe: Callable[[], None], times: int = 5) -> str:
    took: List[float] = []
    for _ in range(times):
        started = time.perf_counter()
        try:
            probe()
        except OSError as e:
            return f"failed ({type(e).__name__})"
        took.append(time.perf_counter() - started)
    return f"{statistics.median(took) * 1000:.1f} ms"


def mb(value: Optional[int]) -> str:
    return f"{(value or 0) / 2**20:.0f} MB"


def heads(args: argparse.Namespace, server: Serve) -> None:
    url = urlsplit(server.directory_url)
    context = ssl.create_default_context(cafile=server.cafile)
    probe = lambda: get_directory(server.directory_url, server.cafile, timeout=60)  # noqa: E731
    print(f"before: RSS {mb(server.rss_bytes())}, directory {median_ms(probe)}")
    stop = threading.Event()
    line = b"X-Flood: " + b"a" * (args.line_bytes - 11) + b"\r\n"
    refused = []

    def flood() -> None:
        try:
            with socket.create_connection((url.hostname, url.port), timeout=10) as raw:
                with context.wrap_socket(raw, server_hostname=url.hostname) as tls:
                    tls.sendall(b"POST /acme/new-order HTTP/1.1\r\nHost: x\r\n")
                    for _ in range(args.lines):
                        if stop.is_set():
                            return
                        tls.sendall(line)
                    stop.wait(args.hold + 30)
        except OSError:
            refused.append(1)  # the server closed or refused the connection

    threads = [threading.Thread(target=flood, daemon=True) for _ in range(args.connections)]
    for t in threads:
        t.start()
    stop.wait(args.hold)
    print(f"during: RSS {mb(server.rss_bytes())}, directory {median_ms(probe)}, "
          f"{len(refused)} of {args.connections} flood connections closed by the server")
    stop.set()
    for t in threads:
        t.join(timeout=10)
    print(f"after:  RSS {mb(server.rss_bytes())}, directory {median_ms(probe)}")


def dns_drip(args: argparse.Namespace, server: Serve) -> None:
    port = int(banner_field("".join(server.output), "DNS:").rsplit(":", 1)[1])
    query = dns.message.make_query("drip.test.", "A")
    probe = lambda: dns.query.udp(query, "127.0.0.1", port=port, timeout=60)  # noqa: E731
    print(f"before: RSS {mb(server.rss_bytes())}, UDP query {median_ms(probe)}")
    sockets = []
    for _ in range(args.clients):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.send(b"\x00\x40")  # a 64-byte message follows, one byte at a time
        sockets.append(s)
    stop = threading.Event()

    def drip() -> None:
        sent = 0
        while not stop.is_set() and sent < 1000:
            for s in sockets:
                try:
                    s.send(b"\x00")
                except OSError:
                    pass
            sent += 1
            stop.wait(args.interval)

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    stop.wait(args.hold)
    print(f"during: RSS {mb(server.rss_bytes())}, UDP query {median_ms(probe)}")
    assert server.proc is not None
    started = time.perf_counter()
    os.kill(server.proc.pid, signal.SIGTERM)
    try:
        server.proc.wait(timeout=120)
        print(f"SIGTERM to exit while dripping: {time.perf_counter() - started:.2f} s")
    except Exception:  # noqa: BLE001
        print("SIGTERM to exit while dripping: more than 120 s")
    stop.set()
    for s in sockets:
        s.close()


def pending_orders(args: argparse.Namespace, server: Serve) -> None:
    def probe() -> str:
        """A normal client arriving: a new account and three whole orders."""
        normal = LeanClient(server.directory_url, server.cafile, name="normal.example.test")
        try:
            normal.register()
            took = median_ms(normal.order, times=3)
        except ServerStuck as e:
            return f"failed ({e})"
        except RuntimeError as e:  # an answer other than the one expected
            kind = "rateLimited" if "rateLimited" in str(e) else str(e)[:80]
            started = time.perf_counter()
            normal.post(normal.directory["newOrder"], {"identifiers": [
                {"type": "dns", "value": "refused.normal.example.test"}]}, "newOrder")
            return f"refused ({kind}) in {(time.perf_counter() - started) * 1000:.1f} ms"
        finally:
            normal.close()
        return f"whole order {took}"

    print(f"before: RSS {mb(server.rss_bytes())}, {probe()}")
    outcomes: List[int] = []
    lock = threading.Lock()
    share = -(-args.orders // args.accounts)

    def flood(n: int) -> None:
        client = LeanClient(server.directory_url, server.cafile, timeout=120)
        client.register()
        for i in range(share):
            identifiers = [{"type": "dns", "value": f"{j}.{i}.{n}.flood.example.test"}
                           for j in range(args.identifiers)]
            try:
                status, _, _ = client.post(client.directory["newOrder"],
                                           {"identifiers": identifiers}, "newOrder")
            except ServerStuck:
                status = 0
            with lock:
                outcomes.append(status)
        client.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=flood, args=(n,), daemon=True)
               for n in range(args.accounts)]
    for t in threads:
        t.start()
    for t in threads:  # the flood goes on; sample it once, after --hold seconds
        t.join(timeout=max(0.0, started + args.hold - time.perf_counter()))
    with lock:
        sent = len(outcomes)
    print(f"during ({sent} newOrders after {time.perf_counter() - started:.0f} s): RSS "
          f"{mb(server.rss_bytes())}, {probe()}")
    for t in threads:
        t.join(timeout=3600)
    counts = {status: outcomes.count(status) for status in sorted(set(outcomes))}
    print(f"flood done in {time.perf_counter() - started:.0f} s: newOrder answers {counts}")
    print(f"after:  RSS {mb(server.rss_bytes())}, {probe()}")
    if not args.listing:
        return
    management = banner_field("".join(server.output), "management:").rsplit("/roots/", 1)[0]
    url = urlsplit(f"{management}/pytest-acme/orders")
    context = ssl.create_default_context(cafile=server.cafile)
    conn = http.client.HTTPSConnection(url.hostname, url.port, context=context, timeout=600)
    started = time.perf_counter()
    conn.request("GET", url.path)
    response = conn.getresponse()
    size = len(response.read())
    conn.close()
    print(f"GET /pytest-acme/orders: {size / 2**20:.1f} MB in "
          f"{time.perf_counter() - started:.1f} s (total {response.getheader('Pytest-Acme-Total')}, "
          f"next {response.getheader('Link')}); RSS then {mb(server.rss_bytes())}, "
          f"peak {mb(peak_rss_bytes(server))}")


def peak_rss_bytes(server: Serve) -> Optional[int]:
    """The server process's peak resident memory so far (``VmHWM``)."""
    with open(f"/proc/{server.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def http01_log(args: argparse.Namespace, server: Serve) -> None:
    port = args.http01_port

    def get(path: str) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("GET", path, headers={"Host": "flood.example.test"})
            conn.getresponse().read()
        finally:
            conn.close()

    probe = lambda: get("/.well-known/acme-challenge/normal")  # noqa: E731
    print(f"before: RSS {mb(server.rss_bytes())}, challenge GET {median_ms(probe)}")
    long_path = "/.well-known/acme-challenge/" + "a" * args.path_bytes
    started = time.perf_counter()
    for i in range(args.requests):
        get(f"{long_path}{i}")
        if i == args.requests // 2:
            print(f"during ({i} requests): RSS {mb(server.rss_bytes())}, challenge GET "
                  f"{median_ms(probe)}")
    print(f"after {args.requests} requests in {time.perf_counter() - started:.0f} s: RSS "
          f"{mb(server.rss_bytes())}, challenge GET {median_ms(probe)}, peak "
          f"{mb(peak_rss_bytes(server))}")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["heads", "dns-drip", "orders", "http01-log"])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--path-bytes", type=int, default=60 * 1024)
    parser.add_argument("--orders", type=int, default=2400)
    parser.add_argument("--identifiers", type=int, default=100)
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--no-listing", dest="listing", action="store_false",
                        help="orders: skip GET /pytest-acme/orders (an unpaged server "
                        "answers every order at once: gigabytes)")
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--lines", type=int, default=98)
    parser.add_argument("--line-bytes", type=int, default=64 * 1024 - 2)
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--interval", type=float, default=3.0)
    parser.add_argument("--hold", type=float, default=10.0,
                        help="seconds the flood runs before 'during' is measured")
    args = parser.parse_args(argv)
    server = Serve()
    extra: List[str] = []
    if args.kind == "http01-log":
        args.http01_port = spare_port()
        extra = ["--http01-responder", "--http01-port", str(args.http01_port)]
    server.start(extra)
    try:
        {"heads": heads, "dns-drip": dns_drip, "orders": pending_orders,
         "http01-log": http01_log}[args.kind](args, server)
    finally:
        server.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
