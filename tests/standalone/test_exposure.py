"""``serve --host 0.0.0.0`` opens the ACME port only: the management API (the
CA's private keys, reset, the clock) and the challtestsrv API stay on loopback
unless ``--management-host`` says otherwise, and binding them elsewhere prints
a warning naming what is exposed.  Started for real; where each listener is
bound is read from the kernel's socket table, so no packet leaves loopback."""

from __future__ import annotations

import json
import os
import threading
from typing import List, Set

import pytest

from helpers import BannerCapture, banner_field
from pytest_acme.cli import _parser, main, plan

FREE_PORTS = ["--port", "0", "--management-port", "0", "--challtestsrv-port", "0",
              "--dns-port", "0"]


def bound_addresses(port: int) -> Set[str]:
    """The local addresses listening on TCP ``port``, from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            pytest.skip("needs Linux's /proc/net/tcp")
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hexport = local.split(":")
                if state == "0A" and int(hexport, 16) == port:  # LISTEN
                    found.add(address)
    return found


LOOPBACK_V4 = "0100007F"
ANY_V4 = "00000000"


def port_of(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1].split("/")[0])


def test_host_0000_keeps_the_management_and_challtestsrv_apis_on_loopback(serve, capsys):
    banner = serve(["--host", "0.0.0.0", "--http", *FREE_PORTS])
    management = banner_field(banner, "management:").split("/roots/0")[0]
    challtestsrv = banner_field(banner, "challtestsrv:").split("/set-txt")[0]
    assert management.startswith("http://127.0.0.1:")
    assert challtestsrv.startswith("http://127.0.0.1:")
    assert bound_addresses(port_of(management)) == {LOOPBACK_V4}
    assert bound_addresses(port_of(challtestsrv)) == {LOOPBACK_V4}
    # The ACME port itself is where --host says.
    assert bound_addresses(port_of(banner_field(banner, "directory:"))) == {ANY_V4}
    assert "needs no authentication" not in capsys.readouterr().err


def test_management_host_opens_them_with_a_warning_naming_what_is_exposed(serve, capsys):
    banner = serve(["--management-host", "0.0.0.0", "--http", *FREE_PORTS])
    management = banner_field(banner, "management:").split("/roots/0")[0]
    challtestsrv = banner_field(banner, "challtestsrv:").split("/set-txt")[0]
    assert bound_addresses(port_of(management)) == {ANY_V4}
    assert bound_addresses(port_of(challtestsrv)) == {ANY_V4}
    err = capsys.readouterr().err
    assert f"warning: the management API listens on 0.0.0.0:{port_of(management)} " \
           "(every interface)" in err
    assert "private keys" in err and "reset and the server clock" in err
    assert f"warning: the challtestsrv API listens on 0.0.0.0:{port_of(challtestsrv)}" in err
    assert "DNS zone" in err
    # The ACME port stays on loopback, where --host (not given) puts it.
    assert bound_addresses(port_of(banner_field(banner, "directory:"))) == {LOOPBACK_V4}


@pytest.mark.parametrize("argv, expected", [
    (["--host", "0.0.0.0"], ("127.0.0.1", 15000)),
    (["--host", "::"], ("127.0.0.1", 15000)),
    (["--management-host", "::1", "--management-port", "9"], ("::1", 9)),
    (["--host", "0.0.0.0", "--management-host", "0.0.0.0"], ("0.0.0.0", 15000)),
])
def test_plan_puts_the_management_api_on_loopback_by_default(argv, expected):
    assert plan(_parser().parse_args(["serve", *argv]), {})["management"] == expected


def test_a_pebble_config_asking_for_every_interface_is_kept_on_loopback(tmp_path):
    config = tmp_path / "pebble-config.json"
    config.write_text(json.dumps({"pebble": {"listenAddress": "0.0.0.0:14000",
                                             "managementListenAddress": "0.0.0.0:15001"}}))
    planned = plan(_parser().parse_args(["serve", "-config", str(config)]), {})
    assert planned["management"] == ("127.0.0.1", 15001)
    warning = " ".join(planned["warnings"])
    assert "managementListenAddress 0.0.0.0:15001" in warning
    assert "--management-host 0.0.0.0" in warning
    opened = plan(_parser().parse_args(["serve", "-config", str(config),
                                        "--management-host", "0.0.0.0"]), {})
    assert opened["management"] == ("0.0.0.0", 15001)
    assert "managementListenAddress" not in " ".join(opened["warnings"])
    # A loopback address in the config is honoured as written.
    config.write_text(json.dumps({"pebble": {"managementListenAddress": "[::1]:15002"}}))
    assert plan(_parser().parse_args(["serve", "-config", str(config)]), {})[
        "management"] == ("::1", 15002)


def test_the_pebble_command_names_the_keys_when_its_management_api_is_exposed(
        tmp_path, capsys):
    config = tmp_path / "pebble-config.json"
    config.write_text(json.dumps({"pebble": {"listenAddress": "127.0.0.1:0",
                                             "managementListenAddress": "0.0.0.0:0"}}))
    out, stop = BannerCapture(), threading.Event()
    result: List[int] = []
    thread = threading.Thread(target=lambda: result.append(
        main(["pebble", "-config", str(config)], stop=stop, out=out, env={})))
    thread.start()
    try:
        assert out.ready.wait(15), out.getvalue() + capsys.readouterr().err
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]
    err = capsys.readouterr().err
    assert "the management API listens on 0.0.0.0:0 (every interface)" in err
    assert "private keys" in err and "managementListenAddress" in err
