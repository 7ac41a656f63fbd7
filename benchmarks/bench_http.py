"""What pytest-acme's HTTP server costs per request, next to a bare socket loop.

    python benchmarks/bench_http.py                 # 5 rounds of 5000 requests each
    python benchmarks/bench_http.py --rounds 3 --requests 2000

Each round starts two server processes in turn, both serving a fixed 650-byte
JSON reply over TLS on loopback with keep-alive:

  * ``httpd``: :class:`pytest_acme.httpd.WsgiThread` with a trivial WSGI app
    (what every ACME request pays before the application runs);
  * ``bare``: a thread per connection that reads a request with ``recv()``,
    finds the end of its head and its ``Content-Length``, and answers with one
    ``sendall()``; no parsing, no environ, no limits: the floor for Python.

One client (``http.client``, one kept-alive connection) POSTs a 700-byte body
to each, and the server's CPU time (user + system, from ``/proc``) is divided
by the number of requests.  Medians over the rounds are printed; the rounds
alternate between the servers, so a change in the machine's load touches both.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Dict, List, Tuple

import trustme

_TICK = os.sysconf("SC_CLK_TCK")
_BODY = b'{"status": "valid", "padding": "' + b"a" * 600 + b'"}'
_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(_BODY))),
            ("Replay-Nonce", "A" * 20), ("Link", '<https://127.0.0.1/dir>;rel="index"'),
            ("Cache-Control", "no-store")]


def _tls(cafile: str) -> ssl.SSLContext:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with open(cafile, "wb") as f:
        f.write(ca.cert_pem.bytes())
    return context


def _app(environ: Dict[str, Any], start_response: Any) -> List[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", _HEADERS)
    return [_BODY]


def _bare_connection(sock: socket.socket, context: ssl.SSLContext) -> None:
    reply = ("HTTP/1.1 200 OK\r\n" + "".join(f"{k}: {v}\r\n" for k, v in _HEADERS)
             + "\r\n").encode() + _BODY
    conn = context.wrap_socket(sock, server_side=True)
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
        head, _, rest = buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        while len(rest) < length:
            rest += conn.recv(65536)
        buf = rest[length:]
        conn.sendall(reply)


def serve(kind: str, cafile: str) -> None:
    """The server process: print the port, serve until stdin closes."""
    context = _tls(cafile)
    if kind == "httpd":
        from pytest_acme.httpd import WsgiThread

        server = WsgiThread(_app, "127.0.0.1", 0, context).start()
        print(server.port, flush=True)
    else:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        print(listener.getsockname()[1], flush=True)

        def accept() -> None:
            while True:
                sock, _ = listener.accept()
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                threading.Thread(target=_bare_connection, args=(sock, context),
                                 daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def measure(kind: str, requests: int) -> Tuple[float, float]:
    """(server CPU seconds per request, requests per second) for one fresh server."""
    with tempfile.TemporaryDirectory() as tmp:
        cafile = os.path.join(tmp, "ca.pem")
        proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, cafile],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            assert proc.stdout is not None
            port = int(proc.stdout.readline())
            conn = http.client.HTTPSConnection(
                "127.0.0.1", port, timeout=10,
                context=ssl.create_default_context(cafile=cafile))
            body = b"x" * 700
            headers = {"Content-Type": "application/jose+json"}
            for _ in range(200):  # warm-up: handshake, caches
                conn.request("POST", "/acme/order/x", body, headers)
                conn.getresponse().read()
            cpu, started = _cpu(proc.pid), time.perf_counter()
            for _ in range(requests):
                conn.request("POST", "/acme/order/x", body, headers)
                conn.getresponse().read()
            elapsed = time.perf_counter() - started
            used = _cpu(proc.pid) - cpu
            conn.close()
        finally:
            proc.kill()
            proc.wait()
    return used / requests, requests / elapsed


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--serve", nargs=2, metavar=("KIND", "CAFILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(*args.serve)
        return 0
    results: Dict[str, List[Tuple[float, float]]] = {"httpd": [], "bare": []}
    for _ in range(args.rounds):
        for kind in results:
            results[kind].append(measure(kind, args.requests))
    for kind, runs in results.items():
        cpu = statistics.median(r[0] for r in runs)
        rate = statistics.median(r[1] for r in runs)
        print(f"{kind:6s} server CPU per request: {cpu * 1e6:5.0f} µs "
              f"(runs: {', '.join(f'{r[0] * 1e6:.0f}' for r in runs)}); {rate:.0f} requests/s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
