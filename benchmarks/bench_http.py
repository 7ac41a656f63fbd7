"""What pytest-acme's HTTP server costs per request, next to bare socket loops.

    python benchmarks/bench_http.py                 # 5 rounds of 5000 requests each
    python benchmarks/bench_http.py --rounds 3 --requests 2000
    python benchmarks/bench_http.py --orders 300    # whole orders, hand parser vs h11

Each round starts four server processes in turn, all answering over TLS on
loopback with keep-alive:

  * ``httpd``: :class:`pytest_acme.httpd.WsgiThread` with a trivial WSGI app
    that sends a fixed 650-byte JSON reply (what every ACME request pays
    before the application runs);
  * ``h11``: the same, with the connection handler of :mod:`h11_connection`
    (h11 parses the request and frames the response); left out when h11 is
    not installed (``pip install h11``);
  * ``bare``: a thread per connection that reads a request with ``recv()``,
    finds the end of its head and its ``Content-Length``, and answers with the
    same reply in one ``sendall()``; no parsing, no environ, no limits: the
    floor for moving a request through Python;
  * ``jws``: the bare loop plus what any ACME server must do with every
    request's body: parse the flattened JWS, decode its parts, check the ES256
    signature with ``cryptography`` and render a JSON reply with ``json``.
    Seven of these, one CSR check and one leaf signature are the least a
    Python ACME server can spend on an order, before HTTP parsing, routing,
    nonces, state or logs.

One client (``http.client``, one kept-alive connection) POSTs the same
750-byte JWS to each, and the server's CPU time (user + system, from ``/proc``)
is divided by the number of requests.  Medians over the rounds are printed; the
rounds alternate between the servers, so a change in the machine's load
touches all four.

With ``--orders N``, each round instead starts ``AcmeServer`` (always-valid
validation) in a process of its own, once with each parser, and one lean
client (:mod:`leanclient`, one kept-alive connection) runs N whole orders
against it: the server process's CPU per order is what the choice of parser
changes, in proportion to the whole.  The load average is printed before and
after.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

import josepy
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from josepy import jwa

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import leanclient  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")
_BODY = b'{"status": "valid", "padding": "' + b"a" * 600 + b'"}'
_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(_BODY))),
            ("Replay-Nonce", "A" * 20), ("Link", '<https://127.0.0.1/dir>;rel="index"'),
            ("Cache-Control", "no-store")]


def _jws(key: ec.EllipticCurvePrivateKey) -> bytes:
    """A flattened ES256 JWS the size of a newOrder request."""
    protected = {"alg": "ES256", "kid": "https://127.0.0.1:14000/my-account/Ys3yKp0lXq1w",
                 "nonce": "A" * 20, "url": "https://127.0.0.1:14000/order-plz"}
    return leanclient.sign_jws(key, protected, {"identifiers": [
        {"type": "dns", "value": "t0.bench.example.com"},
        {"type": "dns", "value": "www.t0.bench.example.com"}]})


def _check_jws(body: bytes, key: ec.EllipticCurvePublicKey) -> bytes:
    """What every ACME request costs at least: parse, decode, verify, render."""
    jws = json.loads(body)
    header = json.loads(josepy.b64.b64decode(jws["protected"]))
    payload = json.loads(josepy.b64.b64decode(jws["payload"]))
    signature = josepy.b64.b64decode(jws["signature"])
    message = f"{jws['protected']}.{jws['payload']}".encode()
    if jwa.ES256.verify(key, message, signature) is not True:
        raise ValueError("the JWS signature does not verify")
    reply = {"status": "pending", "expires": "2026-01-01T00:00:00Z", "url": header["url"],
             "identifiers": payload["identifiers"], "padding": "a" * 420}
    return json.dumps(reply).encode()


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


def _bare_connection(sock: socket.socket, context: ssl.SSLContext,
                     key: Optional[ec.EllipticCurvePublicKey]) -> None:
    """Serve one connection; with ``key``, check each body as a JWS and render the reply."""
    reply_head = ("HTTP/1.1 200 OK\r\n" + "".join(f"{k}: {v}\r\n" for k, v in _HEADERS[2:])
                  + "Content-Type: application/json\r\n").encode()
    fixed = reply_head + f"Content-Length: {len(_BODY)}\r\n\r\n".encode() + _BODY
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
        if key is None:
            conn.sendall(fixed)
        else:
            body = _check_jws(rest[:length], key)
            conn.sendall(reply_head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


def serve(kind: str, cafile: str, keyfile: str) -> None:
    """The server process: print the port, serve until stdin closes."""
    context = _tls(cafile)
    key = None
    if kind == "jws":
        with open(keyfile, "rb") as f:
            key = serialization.load_pem_public_key(f.read())
    if kind in ("httpd", "h11"):
        from pytest_acme.httpd import WsgiThread

        _use_parser(kind)
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
                threading.Thread(target=_bare_connection, args=(sock, context, key),
                                 daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()


def _use_parser(kind: str) -> None:
    """Serve the connections of servers started from now on with ``kind``'s handler."""
    if kind == "h11":
        import h11_connection

        from pytest_acme.httpd import server

        server.Connection = h11_connection.H11Connection  # type: ignore[misc]


def serve_acme(kind: str) -> None:
    """The whole-order server process: print the directory URL and CA file, serve
    until stdin closes."""
    from pytest_acme import AcmeServer

    _use_parser(kind)
    server = AcmeServer(validation="always_valid", dns_port=None).start()
    print(server.directory_url, server.ca_bundle, flush=True)
    sys.stdin.read()
    server.close()


def measure_orders(kind: str, orders: int) -> float:
    """Server CPU seconds per whole order, for one fresh server process."""
    proc = subprocess.Popen([sys.executable, __file__, "--serve-acme", kind],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        directory_url, cafile = proc.stdout.readline().decode().split()
        client = leanclient.LeanClient(directory_url, cafile)
        client.register()
        for _ in range(20):  # warm-up
            client.order()
        cpu = _cpu(proc.pid)
        for _ in range(orders):
            client.order()
        used = _cpu(proc.pid) - cpu
        client.close()
    finally:
        proc.kill()
        proc.wait()
    return used / orders


def _loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def measure(kind: str, requests: int, key: ec.EllipticCurvePrivateKey) -> Tuple[float, float]:
    """(server CPU seconds per request, requests per second) for one fresh server."""
    with tempfile.TemporaryDirectory() as tmp:
        cafile, keyfile = os.path.join(tmp, "ca.pem"), os.path.join(tmp, "key.pem")
        with open(keyfile, "wb") as f:
            f.write(key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, cafile, keyfile],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            assert proc.stdout is not None
            port = int(proc.stdout.readline())
            conn = http.client.HTTPSConnection(
                "127.0.0.1", port, timeout=10,
                context=ssl.create_default_context(cafile=cafile))
            body = _jws(key)
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
    parser.add_argument("--orders", type=int, default=0,
                        help="measure whole orders (this many per round) instead")
    parser.add_argument("--serve", nargs=3, metavar=("KIND", "CAFILE", "KEYFILE"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--serve-acme", metavar="KIND", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(*args.serve)
        return 0
    if args.serve_acme:
        serve_acme(args.serve_acme)
        return 0
    print(f"load average before: {_loadavg()}")
    with_h11 = importlib.util.find_spec("h11") is not None
    if not with_h11:
        print("h11 is not installed: its server is left out (pip install h11)")
    if args.orders:
        if not with_h11:
            return 1
        per_order: Dict[str, List[float]] = {"httpd": [], "h11": []}
        for _ in range(args.rounds):
            for kind in per_order:
                per_order[kind].append(measure_orders(kind, args.orders))
        for kind, runs in per_order.items():
            print(f"{kind:6s} server CPU per order: {statistics.median(runs) * 1e3:6.2f} ms "
                  f"(runs: {', '.join(f'{r * 1e3:.2f}' for r in runs)})")
        hand, h11 = (statistics.median(per_order[k]) for k in ("httpd", "h11"))
        print(f"h11 costs {(h11 - hand) / hand:+.1%} of server CPU per order")
        print(f"load average after: {_loadavg()}")
        return 0
    key = ec.generate_private_key(ec.SECP256R1())
    results: Dict[str, List[Tuple[float, float]]] = {"httpd": [], "h11": [], "bare": [],
                                                     "jws": []}
    if not with_h11:
        del results["h11"]
    for _ in range(args.rounds):
        for kind in results:
            results[kind].append(measure(kind, args.requests, key))
    for kind, runs in results.items():
        cpu = statistics.median(r[0] for r in runs)
        rate = statistics.median(r[1] for r in runs)
        print(f"{kind:6s} server CPU per request: {cpu * 1e6:5.0f} µs "
              f"(runs: {', '.join(f'{r[0] * 1e6:.0f}' for r in runs)}); {rate:.0f} requests/s")
    jws = statistics.median(r[0] for r in results["jws"])
    print(f"jws x 7: {jws * 7e3:.2f} ms per order, the least the seven requests of an order "
          "cost a Python ACME server (before its CSR check and leaf signature)")
    print(f"load average after: {_loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
