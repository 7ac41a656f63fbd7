"""The ``pytest-acme`` command: in-process through ``main(argv)`` and as a process."""

from __future__ import annotations

import signal
import threading

import pytest
import requests

from helpers import BannerCapture, ServeProcess, banner_field
from pytest_acme.cli import main


def test_serve_in_process_prints_what_clients_need_and_stops_on_request():
    out, stop, result = BannerCapture(), threading.Event(), []
    argv = ["serve", "--port", "0", "--dns-port", "0", "--management-port", "0",
            "--challtestsrv-port", "0", "--order-expiry", "90"]
    thread = threading.Thread(target=lambda: result.append(main(argv, stop=stop, out=out)))
    thread.start()
    try:
        assert out.ready.wait(10), out.getvalue()
        banner = out.getvalue()
        directory_url = banner_field(banner, "directory:")
        bundle = banner_field(banner, "CA bundle:")
        assert f"export REQUESTS_CA_BUNDLE={bundle}" in banner
        assert f"export LEGO_CA_CERTIFICATES={bundle}" in banner
        directory = requests.get(directory_url, verify=bundle, timeout=5).json()
        assert directory["newOrder"].startswith(directory_url.rsplit("/", 1)[0])
        assert "DNS:          127.0.0.1:" in banner
        assert "validation:   real (http-01 port 5002, tls-alpn-01 port 5001)" in banner
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]
    assert "stopped" in out.getvalue()


def test_serve_as_a_process_exits_cleanly_on_sigterm():
    serve = ServeProcess(["--port", "0", "--dns-port", "0", "--management-port", "0",
                          "--challtestsrv-port", "0", "--http"])
    try:
        url = banner_field(serve.banner, "directory:")
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(url, timeout=5).json()["newNonce"]
        serve.proc.send_signal(signal.SIGTERM)
        assert serve.proc.wait(timeout=10) == 0
    finally:
        serve.close()


def test_busy_port_is_a_clear_error(capsys):
    import socket
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    try:
        code = main(["serve", "--port", str(blocker.getsockname()[1]), "--dns-port", "0",
                     "--management-port", "0", "--challtestsrv-port", "0"],
                    stop=threading.Event())
    finally:
        blocker.close()
    assert code == 1
    assert "cannot listen" in capsys.readouterr().err


def test_bad_option_values_are_usage_errors(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--order-expiry", "-5"])
    assert exc.value.code == 2
    assert "order_expiry must be a positive number" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "serve" in capsys.readouterr().out


def test_help_reads_well(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = capsys.readouterr().out
    for option in ("--port", "--order-expiry", "--finalize", "--seed", "--http"):
        assert option in text


#: Run in a fresh interpreter: start serve, wait for its banner, and print which of
#: the modules its first ACME request does not need were imported by then; then
#: ask the management port once (made on that first request) and print again.
_WHAT_SERVE_LOADS = r"""
import io, json, ssl, sys, threading, urllib.request
from pytest_acme.cli import main

class Banner(io.StringIO):
    ready = threading.Event()
    def write(self, text):
        n = super().write(text)
        if "management:" in self.getvalue():
            self.ready.set()
        return n

def loaded():
    return sorted(m for m in ("dns", "pytest_acme.checkclient", "pytest_acme.console",
                              "pytest_acme.standalone.management") if m in sys.modules)

out, stop = Banner(), threading.Event()
argv = ["serve", "-q", "--port", "0", "--dns-port", "0", "--management-port", "0",
        "--challtestsrv-port", "-1"]
thread = threading.Thread(target=main, args=(argv,), kwargs={"stop": stop, "out": out},
                          daemon=True)
thread.start()
try:
    assert out.ready.wait(10), out.getvalue()
    before = loaded()
    fields = {l.split(":", 1)[0].strip(): l.split(":", 1)[1].split()[0]
              for l in out.getvalue().splitlines() if ":" in l}
    base = fields["management"].rsplit("/roots/", 1)[0]
    context = ssl.create_default_context(cafile=fields["CA bundle"])
    status = urllib.request.urlopen(base + "/pytest-acme/", context=context, timeout=10).status
finally:
    stop.set()
    thread.join(10)
print(json.dumps({"before": before, "after": loaded(), "status": status}))
"""


def test_serve_starts_without_what_its_first_acme_request_does_not_need():
    """dnspython (for DNS UPDATE), the console, the management API and
    check-client's scenarios load when first used, not before serve is ready."""
    import json
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _WHAT_SERVE_LOADS], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["before"] == []
    assert seen["status"] == 200
    assert seen["after"] == ["pytest_acme.console", "pytest_acme.standalone.management"]
