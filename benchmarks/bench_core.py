"""Start-up, reset and full-order timings of pytest-acme, run by hand:

    python benchmarks/bench_core.py [--rounds 20]

Prints medians (and p95 where it matters) of:
  * start-up: AcmeServer().start() until the first good directory response (HTTPS);
  * reset(): on a server holding 50 orders;
  * one full two-name order over HTTPS with certbot's acme library: newOrder,
    answer the challenges, poll the authorizations, finalize (synchronous),
    download; once with validation="always_valid" and once with real http-01
    validation.  Nothing waits for the server's workers: the polls find the
    validations done or the client sleeps, as it would in a test suite.  The
    library's own 1 s sleep in poll_finalization is avoided by reading the
    finalize response, so this measures the server and the HTTPS transport;
  * the same with ``poll_and_finalize``, as clients call it: that 1 s included.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time

import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from helpers import account_client, answer_all, deadline, ec_key, make_csr  # noqa: E402
from pytest_acme import AcmeServer  # noqa: E402
from pytest_acme.responders import Http01Responder  # noqa: E402


def _ms(values):
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"median {statistics.median(values) * 1000:8.2f} ms   p95 {p95 * 1000:8.2f} ms"


def startup(rounds: int) -> list:
    times = []
    session = requests.Session()
    for _ in range(rounds):
        t0 = time.perf_counter()
        server = AcmeServer().start()
        session.get(server.directory_url, verify=server.ca_bundle, timeout=5).raise_for_status()
        times.append(time.perf_counter() - t0)
        server.close()
    return times


NAMES = ["bench.example.test", "www.bench.example.test"]


def full_order(server: AcmeServer, acme, responder=None, finalize: bool = False) -> None:
    """One two-name order; with ``responder`` its http-01 challenges are really
    validated; ``finalize``: with ``poll_and_finalize``."""
    key = ec_key()
    order = acme.new_order(make_csr(NAMES, key))
    if responder is None:
        answer_all(acme, order)
    else:
        for authz in order.authorizations:
            challb = next(c for c in authz.body.challenges if c.chall.typ == "http-01")
            response, key_authorization = challb.chall.response_and_validation(acme.net.key)
            responder.publish(challb.chall.encode("token"), key_authorization)
            acme.answer_challenge(challb, response)
    if finalize:
        order = acme.poll_and_finalize(order, deadline())
        assert order.fullchain_pem
        return
    order = acme.poll_authorizations(order, deadline())
    order = acme.begin_finalization(order)
    assert order.body.status.name == "valid", order.body.status
    acme.net.post(order.body.certificate, None).raise_for_status()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the responder's access log

    print(f"start-up (in-process, to first directory response): {_ms(startup(args.rounds))}")

    with AcmeServer(validation="always_valid") as server:
        acme = account_client(server)
        full_order(server, acme)  # warm-up
        orders = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            full_order(server, acme)
            orders.append(time.perf_counter() - t0)
        print(f"one full order over HTTPS (acme library):        {_ms(orders)}")
        print(f"  requests per order: {len(server.requests) // (args.rounds + 1)}")
        polled = []
        for _ in range(max(1, args.rounds // 4)):
            t0 = time.perf_counter()
            full_order(server, acme, finalize=True)
            polled.append(time.perf_counter() - t0)
        print(f"  with poll_and_finalize (its 1 s sleep included): {_ms(polled)}")

    with AcmeServer() as server, Http01Responder() as responder:
        server.reconfigure(http01_port=responder.port)
        acme = account_client(server)
        full_order(server, acme, responder)
        orders = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            full_order(server, acme, responder)
            orders.append(time.perf_counter() - t0)
        print(f"  the same with real http-01 validation:         {_ms(orders)}")
        polled = []
        for _ in range(max(1, args.rounds // 4)):
            t0 = time.perf_counter()
            full_order(server, acme, responder, finalize=True)
            polled.append(time.perf_counter() - t0)
        print(f"  with poll_and_finalize (its 1 s sleep included): {_ms(polled)}")

        resets = []
        for _ in range(args.rounds):
            for _ in range(50):
                acme.new_order(make_csr(["r.example.test"]))
            t0 = time.perf_counter()
            server.reset()
            resets.append(time.perf_counter() - t0)
            acme = account_client(server)
        print(f"reset() with 50 orders:                           {_ms(resets)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
