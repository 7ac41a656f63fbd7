"""Ports for processes that bind them later: :func:`spare_port`."""

from __future__ import annotations

import socket

import pytest

from pytest_acme import listeners
from pytest_acme.listeners import ephemeral_range, spare_port


def bindable(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def test_a_spare_port_is_below_the_ephemeral_range_and_free_for_tcp_and_udp():
    low, _ = ephemeral_range()
    ports = {spare_port() for _ in range(20)}
    assert all(listeners.SPARE_PORTS_FROM <= p < low for p in ports)
    assert all(bindable(p) for p in ports)
    assert len(ports) > 1  # picked at random, so two callers rarely meet


def test_a_bind_to_port_0_never_lands_in_the_spare_ports():
    low, high = ephemeral_range()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        assert low <= sock.getsockname()[1] <= high


def test_the_range_comes_from_the_kernel_file_or_a_default(tmp_path):
    path = tmp_path / "range"
    path.write_text("40000\t50000\n")
    assert ephemeral_range(str(path)) == (40000, 50000)
    path.write_text("nonsense")
    assert ephemeral_range(str(path)) == (32768, 60999)
    assert ephemeral_range(str(tmp_path / "missing")) == (32768, 60999)


def test_with_no_room_below_the_range_the_port_comes_from_a_bind_to_port_0(
        tmp_path, monkeypatch):
    path = tmp_path / "range"
    path.write_text(f"{listeners.SPARE_PORTS_FROM + 10} 60999")
    monkeypatch.setattr(listeners, "EPHEMERAL_RANGE_FILE", str(path))
    real_low, real_high = ephemeral_range("/proc/sys/net/ipv4/ip_local_port_range")
    port = spare_port()
    assert real_low <= port <= real_high and bindable(port)


def test_a_spare_port_on_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError as e:
        pytest.skip(f"no IPv6 loopback here: {e}")
    port = spare_port("::1")
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", port))
