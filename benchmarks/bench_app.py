"""The ACME application alone: its time per order and per endpoint, without HTTP.

    python benchmarks/bench_app.py                  # 3 rounds of 2000 orders
    python benchmarks/bench_app.py --orders 500 --profile   # and a cProfile listing

The lean client of :mod:`leanclient` runs whole orders (newOrder, authz,
challenge, poll, finalize, poll, certificate) against ``AcmeServer().app``,
called as a WSGI application in this thread: no sockets, no TLS, no HTTP
parsing.  What is timed is the application call itself (wall time, one thread,
so nothing else runs meanwhile except the validation worker), per order and per
endpoint; the medians over the rounds are printed.  ``bench_http.py`` measures
the HTTP server that sits in front of it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from collections import defaultdict
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


from leanclient import LeanClient  # noqa: E402

from pytest_acme import AcmeServer  # noqa: E402

_HOST = "acme.test"


class _Reply:
    def __init__(self, status: int, headers: List[Tuple[str, str]]) -> None:
        self.status = status
        self._headers = {k.lower(): v for k, v in headers}

    def getheader(self, name: str) -> Optional[str]:
        return self._headers.get(name.lower())


class WsgiClient(LeanClient):
    """The lean client, with a WSGI call where its HTTP connection was."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.app_seconds: Dict[str, float] = defaultdict(float)
        self._start(f"https://{_HOST}/dir", "bench.example.com")

    def close(self) -> None:
        pass

    def _send(self, method: str, url: str, body: Optional[bytes], headers: Dict[str, str],
              label: str) -> Tuple[int, Any, bytes]:
        parts = urlsplit(url)
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": parts.path, "QUERY_STRING": parts.query,
            "SERVER_NAME": _HOST, "SERVER_PORT": "443", "HTTP_HOST": _HOST,
            "SERVER_PROTOCOL": "HTTP/1.1", "SCRIPT_NAME": "", "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "https", "wsgi.input": io.BytesIO(body or b""),
            "wsgi.errors": sys.stderr, "CONTENT_LENGTH": str(len(body or b"")),
        }
        for name, value in headers.items():
            key = name.upper().replace("-", "_")
            environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
        started: List[Any] = []

        def start_response(status: str, response_headers: List[Tuple[str, str]],
                           exc_info: Any = None) -> None:
            started[:] = [status, response_headers]

        before = time.perf_counter()
        data = b"".join(self.app(environ, start_response))
        self.app_seconds[label] += time.perf_counter() - before
        reply = _Reply(int(started[0][:3]), started[1])
        nonce = reply.getheader("Replay-Nonce")
        if nonce:
            self.nonce = nonce
        self.requests += 1
        return reply.status, reply, data


def one_round(orders: int, profile: bool) -> Tuple[float, Dict[str, float]]:
    """Application seconds per order, and per endpoint per order."""
    server = AcmeServer(validation="always_valid", dns_port=None)
    try:
        client = WsgiClient(server.app)
        client.register()
        for _ in range(50):  # warm-up
            client.order()
        client.app_seconds.clear()
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        for _ in range(orders):
            client.order()
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        server.wait_idle()
        per_endpoint = {k: v / orders for k, v in client.app_seconds.items()}
        return sum(per_endpoint.values()), per_endpoint
    finally:
        server.close()


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--profile", action="store_true",
                        help="one round under cProfile (slower), with its listing")
    args = parser.parse_args(argv)
    rounds = [one_round(args.orders, args.profile) for _ in range(
        1 if args.profile else args.rounds)]
    print(f"application time per order: {statistics.median(r[0] for r in rounds) * 1e6:.0f} µs "
          f"(rounds: {', '.join(f'{r[0] * 1e6:.0f}' for r in rounds)})")
    for label in rounds[0][1]:
        value = statistics.median(r[1].get(label, 0.0) for r in rounds)
        print(f"  {label:12s} {value * 1e6:6.0f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
