"""Fixtures of the standalone tests: the ``pytest-acme`` commands run in-process
(``main(argv)`` in a thread), and a server per module with its management API
through Werkzeug's test client."""

from __future__ import annotations

import threading
from typing import Dict, Iterator, List, Optional, Tuple

import pytest
from werkzeug.test import Client

from helpers import BannerCapture
from pytest_acme import AcmeServer
from pytest_acme.cli import main
from pytest_acme.standalone.management import make_management_app


class Commands:
    """Calling it runs ``main(prefix + argv)`` in a thread and returns the banner once
    it is complete; :attr:`out` is the whole output of the latest run.
    :meth:`stop_all` stops every run and checks that each one exited 0."""

    def __init__(self, capsys: pytest.CaptureFixture[str], prefix: List[str]) -> None:
        self.capsys = capsys
        self.prefix = prefix
        self.out = BannerCapture()
        self.runs: List[Tuple[threading.Event, threading.Thread, List[int]]] = []

    def __call__(self, argv: List[str], env: Optional[Dict[str, str]] = None) -> str:
        out, stop = BannerCapture(), threading.Event()
        result: List[int] = []
        thread = threading.Thread(target=lambda: result.append(
            main([*self.prefix, *argv], stop=stop, out=out, env=env or {})))
        thread.start()
        self.runs.append((stop, thread, result))
        assert out.ready.wait(15), out.getvalue() + self.capsys.readouterr().err
        self.out = out
        return out.getvalue()

    def stop_all(self) -> None:
        for stop, thread, result in self.runs:
            stop.set()
            thread.join(10)
            assert result == [0]


@pytest.fixture
def command(capsys: pytest.CaptureFixture[str]) -> Iterator[Commands]:
    """``command(argv, env=None)`` runs ``pytest-acme ARGV``; the banner."""
    commands = Commands(capsys, [])
    yield commands
    commands.stop_all()


@pytest.fixture
def serve(capsys: pytest.CaptureFixture[str]) -> Iterator[Commands]:
    """``serve(argv, env=None)`` runs ``pytest-acme serve ARGV``; the banner."""
    commands = Commands(capsys, ["serve"])
    yield commands
    commands.stop_all()


@pytest.fixture(scope="module")
def module_server() -> Iterator[AcmeServer]:
    with AcmeServer(validation="always_valid", dns_port=None) as server:
        yield server


@pytest.fixture
def server(module_server: AcmeServer) -> Iterator[AcmeServer]:
    """The module's server, reset before the test and checked after it."""
    module_server.reset()
    yield module_server
    module_server.check()


@pytest.fixture
def mgmt(server: AcmeServer) -> Client:
    """The management API of :func:`server`."""
    return Client(make_management_app(server))
