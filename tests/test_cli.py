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
