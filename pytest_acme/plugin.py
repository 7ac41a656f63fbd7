"""The pytest plugin: fixtures, the ``acme`` marker, ini options, report header.

Shape (as pytest-httpserver): one server per session (per xdist worker),
reset before each test; small fixtures a project can override.

* ``acme_server``: the server, reset for this test (function scope).
* ``acme_directory_url`` / ``acme_ca_bundle``: what a client needs.
* ``acme_server_config``: the session's :class:`AcmeConfig` (override it).
* ``@pytest.mark.acme(order_expiry=60, finalize="async")``: settings for one test.
* ``acme_http01_responder`` / ``acme_tlsalpn01_responder`` / ``acme_dns``: where a
  client under test publishes its challenge responses so the validator finds them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, Generator, Iterator, List, TypeVar

import pytest

from .config import RESTART_SETTINGS, AcmeConfig, check_names
from .responders import Http01Responder, TlsAlpn01Responder
from .server import AcmeServer
from .va.zone import Zone

if TYPE_CHECKING:
    from pluggy import Result

INI_CONFIG = "acme_config"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("acme", "pytest-acme ACME test server")
    group.addoption(
        "--acme-seed", type=int, default=None, dest="acme_seed",
        help="seed for the ACME server's random choices (replays a failing run)",
    )
    parser.addini(
        INI_CONFIG,
        type="linelist",
        default=[],
        help="pytest-acme session settings, one 'name = value' per line "
        "(e.g. 'order_expiry = 60'); values are JSON, or plain strings",
    )


def pytest_configure(config: pytest.Config) -> None:
    _session_config(config)  # a bad ini setting is a usage error at once, in every mode
    config.addinivalue_line(
        "markers",
        "acme(**settings): pytest-acme server settings for this test, "
        "e.g. @pytest.mark.acme(order_expiry=60, finalize='async')",
    )


def parse_ini_settings(lines: List[str]) -> Dict[str, Any]:
    """``["order_expiry = 60", "finalize = async"]`` -> ``{"order_expiry": 60, ...}``."""
    settings: Dict[str, Any] = {}
    for line in lines:
        if not line.strip() or line.strip().startswith("#"):
            continue
        name, sep, raw = line.partition("=")
        if not sep:
            raise pytest.UsageError(f"{INI_CONFIG}: expected 'name = value', got {line!r}")
        raw = raw.strip()
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        settings[name.strip()] = value
    try:
        check_names(settings)
    except TypeError as e:
        raise pytest.UsageError(f"{INI_CONFIG}: {e}") from None
    return settings


def _session_config(pytestconfig: pytest.Config) -> AcmeConfig:
    settings = parse_ini_settings(pytestconfig.getini(INI_CONFIG))
    seed = pytestconfig.getoption("acme_seed")
    if seed is not None:
        settings["seed"] = seed
    try:
        return AcmeConfig(**settings)
    except (TypeError, ValueError) as e:
        raise pytest.UsageError(f"{INI_CONFIG}: {e}") from None


_SERVER = pytest.StashKey[AcmeServer]()


def _shared_server(config: pytest.Config, acme_config: AcmeConfig) -> AcmeServer:
    """The session's server, started once (and stopped in ``pytest_unconfigure``)."""
    server = config.stash.get(_SERVER, None)
    if server is not None and not _needs_restart(server.config, acme_config):
        server.reconfigure(acme_config)
        return server
    if server is not None:
        server.close()
    server = AcmeServer(acme_config).start()
    config.stash[_SERVER] = server
    return server


def _needs_restart(old: AcmeConfig, new: AcmeConfig) -> bool:
    return any(getattr(old, name) != getattr(new, name) for name in RESTART_SETTINGS)


def _is_xdist_controller(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def pytest_report_header(config: pytest.Config) -> List[str]:
    if _is_xdist_controller(config):
        return ["pytest-acme: each xdist worker runs its own ACME server on its own port"]
    server = _shared_server(config, _session_config(config))
    return [f"pytest-acme: ACME server {_describe(server)}"]


def _describe(server: AcmeServer) -> str:
    return (f"{server.directory_url} (seed {server.seed}, "
            f"CA bundle {server.ca_bundle or 'none: plain HTTP'})")


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_SERVER, None)
    if server is not None:
        server.close()
        del config.stash[_SERVER]


@pytest.fixture(scope="session")
def acme_server_config(pytestconfig: pytest.Config) -> AcmeConfig:
    """The session server's configuration: ``acme_config`` ini lines and ``--acme-seed``.

    Override it in a ``conftest.py`` to configure the server in code::

        @pytest.fixture(scope="session")
        def acme_server_config():
            return AcmeConfig(order_expiry=300, finalize="async")
    """
    return _session_config(pytestconfig)


def _with_seed_option(pytestconfig: pytest.Config, config: AcmeConfig) -> AcmeConfig:
    """``--acme-seed`` wins over the seed of an overridden ``acme_server_config``."""
    seed = pytestconfig.getoption("acme_seed")
    return config if seed is None else config.replace(seed=seed)


@pytest.fixture(scope="session")
def acme_session_server(
    pytestconfig: pytest.Config, acme_server_config: AcmeConfig
) -> AcmeServer:
    """One running server for the whole session (or xdist worker)."""
    before = pytestconfig.stash.get(_SERVER, None)
    server = _shared_server(pytestconfig, _with_seed_option(pytestconfig, acme_server_config))
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if before is not None and server is not before and reporter is not None:
        # The header named the ini-configured server; say which one the tests use.
        reporter.write_line(f"pytest-acme: acme_server_config needs its own server: "
                            f"{_describe(server)}")
    return server


@pytest.fixture
def acme_server(
    request: pytest.FixtureRequest, acme_server_config: AcmeConfig
) -> Iterator[AcmeServer]:
    """A running ACME server, reset for this test.

    Settings from ``@pytest.mark.acme(...)`` apply to this test only.  After the
    test, anything raised inside the server fails it (``AcmeServer.check()``).
    """
    settings: Dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("acme"))):
        if marker.args:
            raise TypeError("@pytest.mark.acme takes keyword settings only")
        settings.update(marker.kwargs)
    faults = settings.pop("faults", ())
    check_names(settings)
    acme_server_config = _with_seed_option(request.config, acme_server_config)
    config = acme_server_config.replace(**settings)
    if _needs_restart(acme_server_config, config):
        # Socket or CA settings: this test gets a server of its own.
        server = AcmeServer(config).start()
        request.node.stash[_ITEM_SERVER] = server
        _arm(server, request, faults)
        try:
            yield server
            server.wait_idle()
            server.check()
        finally:
            server.close()
        return
    server = request.getfixturevalue("acme_session_server")
    server.reconfigure(config)
    server.reset()
    request.node.stash[_ITEM_SERVER] = server
    _arm(server, request, faults)
    try:
        yield server
        server.wait_idle()
        server.check()
    finally:
        server.reconfigure(acme_server_config)


def _arm(server: AcmeServer, request: pytest.FixtureRequest, faults: Any) -> None:
    """Seed chance faults per test (same seed + same test = same draws, in any
    order or xdist worker) and arm the marker's ``faults=[...]``."""
    server.faults.reseed(f"{server.seed}:{request.node.nodeid}")
    if faults:
        server.faults.add(*faults)


#: The server a test's ``acme_server`` gave it, for the failure report section.
_ITEM_SERVER = pytest.StashKey[AcmeServer]()


def report_section(server: AcmeServer, last_requests: int = 20) -> str:
    """The "ACME server" section of a failed test's report: where the server is,
    ``describe()`` of each of its orders, and the last requests."""
    parts = [f"Directory:    {server.directory_url}\nSeed:         {server.seed} "
             f"(replay with --acme-seed={server.seed})"]
    if server.orders():
        parts.append(server.describe())
    else:
        parts.append("No orders on the server.")
    parts.append(server.describe_requests(last=last_requests))
    return "\n\n".join(parts)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any
                               ) -> Generator[None, Result[pytest.TestReport], None]:
    """A failed test that used ``acme_server`` gets an "ACME server" report section."""
    outcome = yield
    report = outcome.get_result()
    server = item.stash.get(_ITEM_SERVER, None)
    if server is None:
        return
    if report.when == "teardown":
        del item.stash[_ITEM_SERVER]  # do not keep a dedicated server's state alive
    if not report.failed:
        return
    try:
        text = report_section(server)
    except Exception as e:  # noqa: BLE001 - never break pytest's reporting
        text = f"pytest-acme could not describe the server: {type(e).__name__}: {e}"
    report.sections.append(("ACME server", text))


@pytest.fixture
def acme_directory_url(acme_server: AcmeServer) -> str:
    """The directory URL of this test's server."""
    return acme_server.directory_url


@pytest.fixture
def acme_ca_bundle(acme_server: AcmeServer) -> str:
    """Path of the PEM file to trust for the server's HTTPS."""
    return acme_server.ca_bundle


# -- challenge responders ------------------------------------------------------

R = TypeVar("R", Http01Responder, TlsAlpn01Responder)


def _wired(responder: R, server: AcmeServer, port_setting: str) -> Iterator[R]:
    """A session responder, emptied (answers and log), with the server's validator pointed at it."""
    responder.reset()
    server.reconfigure(None, **{port_setting: responder.port})
    yield responder
    responder.reset()



@pytest.fixture(scope="session")
def acme_http01_session_responder() -> Iterator[Http01Responder]:
    """The session's http-01 responder (pytest-httpserver on a free port)."""
    with Http01Responder() as responder:
        yield responder


@pytest.fixture
def acme_http01_responder(
    acme_server: AcmeServer, acme_http01_session_responder: Http01Responder
) -> Iterator[Http01Responder]:
    """An http-01 responder the server's validator reaches for every name.

    Hand ``publish`` to the client under test as its http-01 hook::

        acme_http01_responder.publish(token, key_authorization)
    """
    yield from _wired(acme_http01_session_responder, acme_server, "http01_port")


@pytest.fixture(scope="session")
def acme_tlsalpn01_session_responder() -> Iterator[TlsAlpn01Responder]:
    """The session's tls-alpn-01 responder on a free port."""
    with TlsAlpn01Responder() as responder:
        yield responder


@pytest.fixture
def acme_tlsalpn01_responder(
    acme_server: AcmeServer, acme_tlsalpn01_session_responder: TlsAlpn01Responder
) -> Iterator[TlsAlpn01Responder]:
    """A tls-alpn-01 responder (RFC 8737) the server's validator reaches.

    It answers for every name it is given::

        acme_tlsalpn01_responder.publish("example.test", key_authorization)
    """
    yield from _wired(acme_tlsalpn01_session_responder, acme_server, "tlsalpn01_port")


@pytest.fixture
def acme_dns(acme_server: AcmeServer) -> Zone:
    """The server's DNS zone: ``acme_dns.set_txt("_acme-challenge.example.test", value)``."""
    return acme_server.dns
