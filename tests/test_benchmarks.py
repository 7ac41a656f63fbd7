"""The hand-run benchmarks still run: each once, with the smallest settings.

These check that every benchmark completes and reports what it promises
(every measure, every endpoint, both servers side by side when Pebble is
installed); they assert no speed.  Figures come from running them by hand.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"
ENDPOINTS = ("newOrder", "authz", "challenge", "poll authz", "finalize", "poll order",
             "certificate")


def run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *args],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stdout
    return done.stdout


def test_bench_vs_pebble_reports_every_measure_side_by_side():
    pebble = shutil.which("pebble")
    if pebble is None and os.environ.get("CI"):
        pytest.fail("CI installs Debian's pebble so that the side-by-side run is tested")
    out = run("bench_vs_pebble.py", "--quick", "--runs", "1", "--seconds", "0.3",
              "--memory-orders", "8", "--threads", "1,2",
              *(["--no-pebble"] if pebble is None else []))
    # Every pytest-acme load run completed its orders, at each thread count.
    for threads in (1, 2):
        line = re.search(rf"^load serve x{threads}: (\d+) orders.*$", out, re.M)
        assert line and int(line.group(1)) > 0 and "STUCK" not in line.group(0), out
    assert re.search(r"^load in-process x1: \d+/s, cpu/order \d", out, re.M), out
    for row in ("start-up to first directory (in-process)", "start-up to first directory (serve)",
                "orders/s, 1 client thread(s)", "orders/s, 2 client thread(s)",
                "server CPU per order, 1 thread(s) (/proc)", "crypto floor per order",
                "reset(), empty / holding 100 orders", "RSS at start / after 8 orders (pytest-acme)"):
        assert f"| {row}" in out, row
    for endpoint in ENDPOINTS:
        assert re.search(rf"^\| {endpoint} \| \d+\.\d ms \|", out, re.M), endpoint
    # Seven requests, and a poll again when a validation outlasted poll_wait (how
    # often depends on the machine's load, so only the least is asserted).
    per_order = re.search(r"^\| requests per order \| (\d+\.\d+) \|", out, re.M)
    assert per_order and float(per_order.group(1)) >= 7.0, out
    # The Retry-After-honouring client, beside the immediate one, at each thread count.
    for threads in (1, 2):
        line = re.search(rf"^load serve retry-after x{threads}: (\d+) orders.*$", out, re.M)
        assert line and int(line.group(1)) > 0 and "STUCK" not in line.group(0), out
        assert f"| orders/s, {threads} client thread(s), retry-after pacing | " in out
    # Each target is judged, one line each.
    assert len(re.findall(r"^  \[(met|NOT met|n/a)\] ", out, re.M)) == 11, out
    if pebble is not None:
        assert re.search(r"^start-up pebble: \d", out, re.M), out
        assert re.search(r"^load pebble x1: (\d+) orders", out, re.M), out
        assert "| server CPU per order / crypto floor (1 thread) | " in out
        assert re.search(r"^\| RSS at start / after 8 orders \(Pebble\) \| \d", out, re.M), out
    else:
        assert "# Pebble: not measured" in out


def test_bench_app_times_every_endpoint():
    out = run("bench_app.py", "--rounds", "1", "--orders", "5")
    assert re.search(r"^application time per order: \d+ µs", out, re.M), out
    for endpoint in ENDPOINTS:
        assert re.search(rf"^  {endpoint} +\d+ µs$", out, re.M), endpoint


def test_bench_app_profile_lists_the_application():
    out = run("bench_app.py", "--orders", "3", "--profile")
    assert "Ordered by: internal time" in out
    assert "pytest_acme" in out


def test_bench_http_measures_each_server():
    out = run("bench_http.py", "--rounds", "1", "--requests", "50")
    kinds = ("httpd", "h11", "bare", "jws") if importlib.util.find_spec("h11") else (
        "httpd", "bare", "jws")
    for kind in kinds:
        assert re.search(rf"^{kind} +server CPU per request: +\d+ µs .* requests/s$", out,
                         re.M), out
    assert re.search(r"^jws x 7: \d+\.\d\d ms per order", out, re.M), out
    assert re.search(r"^load average after: [\d.]+ [\d.]+ [\d.]+$", out, re.M), out


def test_bench_http_measures_whole_orders_with_each_parser():
    pytest.importorskip("h11")
    out = run("bench_http.py", "--rounds", "1", "--orders", "3")
    for kind in ("httpd", "h11"):
        assert re.search(rf"^{kind} +server CPU per order: +\d+\.\d\d ms", out, re.M), out
    assert re.search(r"^h11 costs [+-]\d+\.\d% of server CPU per order$", out, re.M), out


def test_bench_core_times_a_real_client():
    out = run("bench_core.py", "--rounds", "1")
    assert re.search(r"^one full order over HTTPS \(acme library\): +median +\d", out, re.M), out
    assert re.search(r"^  requests per order: \d+$", out, re.M), out
    assert re.search(r"the same with real http-01 validation: +median +\d", out), out


def test_bench_clients_times_a_real_client_against_each_server():
    pebble = shutil.which("pebble") and shutil.which("pebble-challtestsrv")
    out = run("bench_clients.py", "--rounds", "1", "--clients", "acme",
              "--scenarios", "http-01,dns-01 x3", *([] if pebble else ["--no-pebble"]))
    for scenario in ("http-01", "dns-01 x3"):
        row = re.search(rf"^\| acme \| {scenario} \| (\d+\.\d\d) s \| (.*?) \| (.*?) \|$",
                        out, re.M)
        assert row, out
        if pebble:
            assert re.fullmatch(r"\d+\.\d\d s", row.group(2)), out
            assert re.fullmatch(r"\d+\.\d\dx", row.group(3)), out
    assert "# FAILED" not in out
    assert re.search(r"^# load average [\d.]+ [\d.]+ [\d.]+ at the end$", out, re.M), out
