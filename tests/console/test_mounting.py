"""Where the console is served: ``AcmeServer.console_url`` in process, and
``/console/`` on the management port of ``pytest-acme serve``, named in its
banner; both over real sockets, on loopback."""

from __future__ import annotations

import ipaddress
import re
import threading
from typing import List
from urllib.parse import urlsplit

import pytest
import requests

from helpers import BannerCapture, account_client, banner_field, make_csr
from pytest_acme import AcmeServer
from pytest_acme.cli import main
from pytest_acme.console.app import CSP


def token_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_console_url_serves_the_console_on_loopback_until_the_server_stops():
    with AcmeServer(validation="always_valid") as server:
        url = server.console_url
        parts = urlsplit(url)
        assert parts.scheme == "http" and parts.path == "/console/"
        assert ipaddress.ip_address(parts.hostname).is_loopback
        assert server.console_url == url  # started once

        acme = account_client(server)
        acme.new_order(make_csr(["inprocess.example.test"]))
        with requests.Session() as browser:
            page = browser.get(url + "orders", timeout=5)
            assert page.status_code == 200
            assert page.headers["Content-Security-Policy"] == CSP
            assert "inprocess.example.test" in page.text
            moved = browser.post(url + "clock/advance", data={
                "csrf": token_of(browser.get(url, timeout=5).text), "amount": "3", "unit": "days",
                "next": "/console/orders"}, timeout=5)
            assert moved.url == url + "orders"
            assert "invalid" in moved.text
            assert browser.get(url.rsplit("/console/", 1)[0] + "/directory",
                               timeout=5).status_code == 404  # the console only
        server.stop()
        with pytest.raises(requests.ConnectionError):
            requests.get(url, timeout=5)


def test_console_url_of_a_server_not_started():
    server = AcmeServer()
    try:
        with pytest.raises(RuntimeError, match="not started"):
            server.console_url
    finally:
        server.close()


def test_serve_prints_the_console_and_serves_it_on_the_management_port(capsys):
    out, stop = BannerCapture(), threading.Event()
    result: List[int] = []
    thread = threading.Thread(target=lambda: result.append(main(
        ["serve", "--port", "0", "--management-port", "0", "--challtestsrv-port", "-1",
         "--dns-port", "0", "--validation", "always_valid"], stop=stop, out=out, env={})))
    thread.start()
    try:
        assert out.ready.wait(15), out.getvalue() + capsys.readouterr().err
        banner = out.getvalue()
        console = banner_field(banner, "console:")
        management = banner_field(banner, "management:").rsplit("/roots/0", 1)[0]
        assert console == management + "/console/"
        bundle = banner_field(banner, "CA bundle:")
        page = requests.get(console, verify=bundle, timeout=5)
        assert page.status_code == 200 and "<h1>Overview</h1>" in page.text
        assert banner_field(banner, "directory:") in page.text
        assert page.headers["Content-Security-Policy"] == CSP
        # the management API is still there, beside it
        assert requests.get(management + "/pytest-acme/clock", verify=bundle,
                            timeout=5).json()["offset_seconds"] == 0
        advanced = requests.post(console + "clock/advance", verify=bundle, timeout=5, data={
            "csrf": token_of(page.text), "amount": "2", "unit": "minutes"})
        assert advanced.status_code == 200
        assert requests.get(management + "/pytest-acme/clock", verify=bundle,
                            timeout=5).json()["offset_seconds"] == 120
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]


def test_without_a_management_port_serve_names_no_console(capsys):
    out, stop = BannerCapture(), threading.Event()
    result: List[int] = []
    thread = threading.Thread(target=lambda: result.append(main(
        ["serve", "--port", "0", "--management-port", "-1", "--challtestsrv-port", "-1",
         "--dns-port", "0"],
        stop=stop, out=out, env={})))
    thread.start()
    try:
        assert out.ready.wait(15), out.getvalue() + capsys.readouterr().err
        assert "console:" not in out.getvalue()
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]


def test_the_pebble_command_has_no_console_as_pebble_has_none(tmp_path, capsys):
    """Debian's pebble answers 404 at /console/ on its management port; so does
    ``pytest-acme pebble`` (and its banner names no console)."""
    import json

    config = tmp_path / "pebble-config.json"
    config.write_text(json.dumps({"pebble": {"listenAddress": "127.0.0.1:0",
                                             "managementListenAddress": "127.0.0.1:0"}}))
    out, stop = BannerCapture(), threading.Event()
    result: List[int] = []
    thread = threading.Thread(target=lambda: result.append(main(
        ["pebble", "-config", str(config), "-dnsserver", "127.0.0.1:1"], stop=stop, out=out,
        env={})))
    thread.start()
    try:
        assert out.ready.wait(15), out.getvalue() + capsys.readouterr().err
        banner = out.getvalue()
        assert "console:" not in banner
        management = banner_field(banner, "management:").rsplit("/roots/0", 1)[0]
        bundle = banner_field(banner, "CA bundle:")
        assert requests.get(management + "/roots/0", verify=bundle, timeout=5).status_code == 200
        assert requests.get(management + "/console/", verify=bundle,
                            timeout=5).status_code == 404
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]
