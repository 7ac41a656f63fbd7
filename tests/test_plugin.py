"""Tests of the pytest plugin (pytest_acme/plugin.py), run through ``pytester``.

Each test writes a small test module (and sometimes an ini file or a
conftest.py) and runs pytest on it, in-process with ``runpytest`` where that is
enough, in a subprocess where isolation matters (xdist, crashing workers).

Generated modules cannot import ``tests/helpers.py``; what they need of a real
ACME client (certbot's ``acme`` library) is in :data:`CLIENT` below, pasted at
the top of the generated source.
"""

from __future__ import annotations

import re
import textwrap
import threading
import urllib.error
import urllib.request
from typing import List

# Imported here, once, for the generated modules: in-process ``runpytest`` drops the
# modules each run imported, and requests/acme re-imported by a later run in the same
# process break (``ValueError: You can only merge into CookieJar``).
import acme.client  # noqa: F401
import pytest
import requests  # noqa: F401

from pytest_acme import AcmeServer, AcmeServerError
from pytest_acme.web import endpoints

#: Pasted into generated test modules: a client of certbot's ``acme`` library.
CLIENT = '''
import datetime as dt
import os
from pathlib import Path

import josepy
import pytest
import requests
from acme import client, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def acme_client(directory_url, ca_bundle, key=None):
    """A ClientV2 (not yet registered) with an EC P-256 account key."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    net = client.ClientNetwork(josepy.JWKEC(key=key), alg=josepy.ES256, user_agent="t",
                               verify_ssl=ca_bundle or True)
    directory = client.ClientV2.get_directory(directory_url, net)
    return client.ClientV2(directory, net)


def register(acme):
    return acme.new_account(messages.NewRegistration(terms_of_service_agreed=True))


def make_csr(name):
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([x509.DNSName(name)])
    csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
           .add_extension(san, critical=False).sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM)


def answer_http01(acme, order):
    for authz in order.authorizations:
        challb = next(c for c in authz.body.challenges if c.chall.typ == "http-01")
        acme.answer_challenge(challb, challb.chall.response(acme.net.key))
'''


def module(body: str) -> str:
    """A generated test module: :data:`CLIENT` followed by ``body``."""
    return CLIENT + "\n" + textwrap.dedent(body)


def header_lines(lines: List[str]) -> List[str]:
    return [line for line in lines if line.startswith("pytest-acme:")]


# -- fixtures -------------------------------------------------------------------


def test_fixtures_serve_the_directory_over_https(pytester: pytest.Pytester) -> None:
    """``acme_server``, ``acme_directory_url`` and ``acme_ca_bundle`` exist and agree:
    the directory is served over HTTPS and the CA bundle verifies it."""
    pytester.makepyfile(module('''
        def test_directory(acme_server, acme_directory_url, acme_ca_bundle):
            assert acme_directory_url.startswith("https://127.0.0.1:")
            assert acme_directory_url == acme_server.directory_url
            assert acme_ca_bundle == acme_server.ca_bundle
            assert os.path.isfile(acme_ca_bundle)
            assert b"BEGIN CERTIFICATE" in Path(acme_ca_bundle).read_bytes()

            response = requests.get(acme_directory_url, verify=acme_ca_bundle, timeout=10)
            assert response.status_code == 200
            directory = response.json()
            for name in ("newNonce", "newAccount", "newOrder"):
                assert directory[name].startswith(acme_server.url + "/")

        def test_https_needs_the_bundle(acme_directory_url):
            """The server's HTTPS certificate is not trusted by default."""
            with pytest.raises(requests.exceptions.SSLError):
                requests.get(acme_directory_url, timeout=10)
    '''))
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)


def test_server_is_reset_before_each_test_and_reused(pytester: pytest.Pytester) -> None:
    """Two tests register the same fixed account key: each gets a *new* account
    (201, one account in the store), so state was reset in between; both tests
    ran on the same server (same port)."""
    ports = pytester.path / "ports.txt"
    pytester.makepyfile(module(f'''
        # The same key in both tests: without a reset the second newAccount would
        # find the first account (200 and ConflictError from the acme library).
        KEY = ec.derive_private_key(0x5EED, ec.SECP256R1())

        def register_fixed_key(acme_server, acme_directory_url, acme_ca_bundle):
            acme = acme_client(acme_directory_url, acme_ca_bundle, KEY)
            regr = register(acme)
            new_account = [r for r in acme_server.requests if r.path == "/acme/new-account"]
            assert [r.status for r in new_account] == [201]
            assert list(acme_server.app.store.accounts) == [regr.uri.rsplit("/", 1)[-1]]
            with open({str(ports)!r}, "a") as f:
                f.write(f"{{acme_server.port}}\\n")

        def test_first(acme_server, acme_directory_url, acme_ca_bundle):
            register_fixed_key(acme_server, acme_directory_url, acme_ca_bundle)

        def test_second(acme_server, acme_directory_url, acme_ca_bundle):
            register_fixed_key(acme_server, acme_directory_url, acme_ca_bundle)
    '''))
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    first, second = ports.read_text().split()
    assert first == second


def test_reset_forgets_what_the_previous_test_left(pytester: pytest.Pytester) -> None:
    """Accounts, orders and the request log of one test are gone in the next, and a
    clock moved by one test is back to real time in the next."""
    pytester.makepyfile(module('''
        def test_leaves_state(acme_server, acme_directory_url, acme_ca_bundle):
            acme = acme_client(acme_directory_url, acme_ca_bundle)
            register(acme)
            acme.new_order(make_csr("leftover.example"))
            acme_server.clock.advance(3600)
            assert acme_server.app.store.orders

        def test_sees_nothing(acme_server):
            store = acme_server.app.store
            assert not store.accounts and not store.orders and not store.authzs
            assert acme_server.requests == []
            assert acme_server.events == []
            skew = acme_server.clock.now() - dt.datetime.now(dt.timezone.utc)
            assert abs(skew.total_seconds()) < 60
    '''))
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)


# -- the acme marker ------------------------------------------------------------


def test_marker_changes_settings_for_one_test(pytester: pytest.Pytester) -> None:
    """``@pytest.mark.acme(order_expiry=60)`` applies to its test (orders expire in
    60 s) and the next test is back on the default 86400."""
    pytester.makepyfile(module('''
        @pytest.mark.acme(order_expiry=60)
        def test_marked(acme_server, acme_directory_url, acme_ca_bundle):
            assert acme_server.config.order_expiry == 60
            acme = acme_client(acme_directory_url, acme_ca_bundle)
            register(acme)
            order = acme.new_order(make_csr("expiry.example"))
            lifetime = order.body.expires - acme_server.clock.now()
            assert 50 <= lifetime.total_seconds() <= 60

        def test_unmarked(acme_server, acme_server_config):
            assert acme_server.config.order_expiry == 86400
            assert acme_server.config == acme_server_config
    '''))
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)


def test_markers_on_class_and_function_combine(pytester: pytest.Pytester) -> None:
    """Markers on module, class and function merge; the closest one wins."""
    pytester.makepyfile(module('''
        pytestmark = pytest.mark.acme(orders_per_page=7, retry_after=5)

        @pytest.mark.acme(order_expiry=60, finalize="async")
        class TestMarked:
            @pytest.mark.acme(order_expiry=30)
            def test_method(self, acme_server):
                config = acme_server.config
                assert (config.order_expiry, config.finalize) == (30, "async")
                assert (config.orders_per_page, config.retry_after) == (7, 5)
    '''))
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_marker_with_restart_setting_gets_its_own_server(pytester: pytest.Pytester) -> None:
    """``@pytest.mark.acme(tls=False)`` gives that test a plain-HTTP server of its own,
    stopped after the test; the next test is back on the HTTPS session server."""
    pytester.makepyfile(module('''
        SEEN = {}

        def test_before(acme_server):
            SEEN["session"] = acme_server

        @pytest.mark.acme(tls=False)
        def test_plain_http(acme_server, acme_directory_url, acme_ca_bundle):
            assert acme_directory_url.startswith("http://127.0.0.1:")
            assert acme_ca_bundle == ""
            assert acme_server is not SEEN["session"]
            assert acme_server.port != SEEN["session"].port
            directory = requests.get(acme_directory_url, timeout=10).json()
            assert {"newNonce", "newAccount", "newOrder"} <= set(directory)
            register(acme_client(acme_directory_url, acme_ca_bundle))
            SEEN["plain"] = acme_server

        def test_after(acme_server, acme_directory_url):
            assert acme_server is SEEN["session"]
            assert acme_directory_url.startswith("https://")
            assert acme_server.config.tls is True
            assert not SEEN["plain"].running
    '''))
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)


def test_unknown_marker_setting_is_an_error_naming_it(pytester: pytest.Pytester) -> None:
    """A misspelt marker setting errors that test (naming the key); others run."""
    pytester.makepyfile(module('''
        @pytest.mark.acme(order_expiri=60)
        def test_typo(acme_server):
            pass

        @pytest.mark.acme(60)
        def test_positional(acme_server):
            pass

        def test_neighbour(acme_server):
            assert acme_server.config.order_expiry == 86400
    '''))
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines([
        "*ERROR at setup of test_typo*",
        "*unknown pytest-acme setting(s) order_expiri*",
    ])
    result.stdout.fnmatch_lines(["*ERROR at setup of test_positional*", "*keyword settings only*"])


# -- the acme_config ini option ---------------------------------------------------


def test_ini_option_sets_session_defaults(pytester: pytest.Pytester) -> None:
    """``acme_config`` lines set the session's settings: JSON values (numbers,
    objects) and plain strings; a marker still overrides them for one test."""
    pytester.makeini('''
        [pytest]
        acme_config =
            order_expiry = 120
            finalize = async
            # a comment line is ignored
            terms_of_service = https://example.test/terms
            meta = {"website": "https://example.test"}
    ''')
    pytester.makepyfile(module('''
        def test_defaults(acme_server, acme_server_config, acme_directory_url, acme_ca_bundle):
            assert acme_server_config.order_expiry == 120
            assert acme_server_config.finalize == "async"
            assert acme_server.config == acme_server_config
            meta = requests.get(acme_directory_url, verify=acme_ca_bundle, timeout=10).json()["meta"]
            assert meta["termsOfService"] == "https://example.test/terms"
            assert meta["website"] == "https://example.test"

        @pytest.mark.acme(order_expiry=60)
        def test_marker_wins(acme_server):
            assert acme_server.config.order_expiry == 60
            assert acme_server.config.finalize == "async"

        def test_back_to_ini(acme_server):
            assert acme_server.config.order_expiry == 120
    '''))
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)


def test_ini_option_pins_the_clock(pytester: pytest.Pytester) -> None:
    """``clock_start`` and ``clock_frozen`` in ``acme_config`` start every test at
    that instant, frozen; a marker can let one test run on real time."""
    pytester.makeini('''
        [pytest]
        acme_config =
            clock_start = 2030-01-01T00:00:00Z
            clock_frozen = true
    ''')
    pytester.makepyfile(module('''
        START = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)

        def test_first(acme_server):
            assert acme_server.clock.now() == START and acme_server.clock.is_frozen
            acme_server.clock.advance(3600)

        def test_second_starts_there_again(acme_server):
            assert acme_server.clock.now() == START

        @pytest.mark.acme(clock_start=None, clock_frozen=False)
        def test_marker_wins(acme_server):
            assert not acme_server.clock.is_frozen
            assert acme_server.clock.now().year == dt.datetime.now().year
    '''))
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)


@pytest.mark.parametrize("args", [
    pytest.param([], id="default"),
    pytest.param(["-q"], id="quiet"),
    # (no worker restarts: if the error only crashed workers, that would loop)
    pytest.param(["-n", "2", "--max-worker-restart=0"], id="xdist"),
])
def test_unknown_ini_setting_is_a_usage_error(pytester: pytest.Pytester, args: List[str]) -> None:
    """An unknown ``acme_config`` name is a usage error naming it, however pytest runs
    (quiet, or with xdist workers)."""
    pytester.makeini('''
        [pytest]
        acme_config =
            order_expiry = 120
            bogus_name = 1
    ''')
    pytester.makepyfile('''
        def test_uses_server(acme_server):
            pass

        def test_plain():
            pass
    ''')
    result = pytester.runpytest_subprocess(*args, timeout=120)
    summary = (result.outlines or [""])[-1]
    assert result.ret == pytest.ExitCode.USAGE_ERROR, f"exit code {result.ret!r}: {summary}"
    assert "bogus_name" in result.stderr.str()


def test_ini_line_without_equals_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """An ``acme_config`` line that is not ``name = value`` is a usage error."""
    pytester.makeini('''
        [pytest]
        acme_config =
            order_expiry 120
    ''')
    pytester.makepyfile("def test_uses_server(acme_server): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*expected 'name = value'*order_expiry 120*"])


# -- overriding acme_server_config ---------------------------------------------------


CONFTEST_OVERRIDE = '''
    import pytest
    from pytest_acme import AcmeConfig

    @pytest.fixture(scope="session")
    def acme_server_config():
        return AcmeConfig(order_expiry=300, finalize="async", orders_per_page=5)
'''


def test_conftest_can_override_acme_server_config(pytester: pytest.Pytester) -> None:
    """A session-scoped ``acme_server_config`` in conftest.py configures the server
    (and markers still apply on top of it)."""
    pytester.makeconftest(CONFTEST_OVERRIDE)
    pytester.makepyfile(module('''
        def test_overridden(acme_server, acme_directory_url, acme_ca_bundle):
            config = acme_server.config
            assert (config.order_expiry, config.finalize, config.orders_per_page) == (300, "async", 5)
            acme = acme_client(acme_directory_url, acme_ca_bundle)
            register(acme)
            order = acme.new_order(make_csr("override.example"))
            lifetime = order.body.expires - acme_server.clock.now()
            assert 290 <= lifetime.total_seconds() <= 300

        @pytest.mark.acme(order_expiry=60)
        def test_marker_on_top(acme_server):
            assert acme_server.config.order_expiry == 60
            assert acme_server.config.finalize == "async"
    '''))
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("config, args", [
    pytest.param('order_expiry=300, finalize="async"', [], id="settings"),
    pytest.param("seed=7", [], id="restart-setting"),
    pytest.param("", ["--acme-seed", "1234"], id="seed-option"),
])
def test_report_header_names_the_server_used_with_overridden_config(
    pytester: pytest.Pytester, config: str, args: List[str]
) -> None:
    """With ``acme_server_config`` overridden in conftest.py the output names the
    directory URL, seed and CA bundle of the server the tests use, also when the
    override changes a setting that needs a new server (the seed), or does not
    carry the ``--acme-seed`` given (the command line wins)."""
    seen = pytester.path / "seen.txt"
    pytester.makeconftest(f'''
        import pytest
        from pytest_acme import AcmeConfig

        @pytest.fixture(scope="session")
        def acme_server_config():
            return AcmeConfig({config})
    ''')
    pytester.makepyfile(module(f'''
        def test_record(acme_server):
            Path({str(seen)!r}).write_text(
                f"{{acme_server.directory_url}} {{acme_server.seed}} {{acme_server.ca_bundle}}")
    '''))
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1)
    url, seed, bundle = seen.read_text().split()
    # The header names the ini-configured server; when the override needs another
    # server, a later "pytest-acme:" line names the one the tests use.
    header = header_lines(result.outlines)[-1]
    assert f"{url} (seed {seed}, CA bundle {bundle})" in header, (header, url, seed)


# -- --acme-seed and the report header -----------------------------------------------


def test_seed_option_and_report_header(pytester: pytest.Pytester) -> None:
    """``--acme-seed 1234`` seeds the server; the header names the directory URL the
    tests use and the seed; the same seed gives the same ids in a second run."""
    seen = pytester.path / "seen.txt"
    pytester.makepyfile(module(f'''
        def test_seeded(acme_server, acme_directory_url, acme_ca_bundle):
            assert acme_server.seed == 1234
            assert acme_server.config.seed == 1234
            regr = register(acme_client(acme_directory_url, acme_ca_bundle))
            with open({str(seen)!r}, "a") as f:
                f.write(acme_directory_url + " " + regr.uri.rsplit("/", 1)[-1] + "\\n")
    '''))
    first = pytester.runpytest("--acme-seed", "1234")
    first.assert_outcomes(passed=1)
    second = pytester.runpytest("--acme-seed", "1234")
    second.assert_outcomes(passed=1)

    (url1, account1), (url2, account2) = (line.split() for line in seen.read_text().splitlines())
    for result, url in ((first, url1), (second, url2)):
        (header,) = header_lines(result.outlines)
        assert url in header
        assert "seed 1234" in header
    assert account1 == account2


def test_report_header_names_the_random_seed(pytester: pytest.Pytester) -> None:
    """Without ``--acme-seed`` the header names the seed the server picked."""
    seen = pytester.path / "seen.txt"
    pytester.makepyfile(f'''
        from pathlib import Path

        def test_record(acme_server):
            Path({str(seen)!r}).write_text(f"{{acme_server.directory_url}} {{acme_server.seed}}")
    ''')
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    url, seed = seen.read_text().split()
    (header,) = header_lines(result.outlines)
    assert re.search(rf"{re.escape(url)} \(seed {seed}\b", header), (header, url, seed)


# -- pytest-xdist -----------------------------------------------------------------------


def test_each_xdist_worker_has_its_own_server(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under ``-n 2`` each worker runs its own server on its own port, and every test
    on a worker uses that worker's server."""
    out = pytester.mkdir("seen")
    monkeypatch.setenv("ACME_PLUGIN_TEST_OUT", str(out))
    pytester.makepyfile(module('''
        @pytest.mark.parametrize("n", range(8))
        def test_worker(acme_server, acme_directory_url, acme_ca_bundle, n):
            register(acme_client(acme_directory_url, acme_ca_bundle))
            assert len(acme_server.app.store.accounts) == 1
            worker = os.environ["PYTEST_XDIST_WORKER"]
            out = Path(os.environ["ACME_PLUGIN_TEST_OUT"])
            (out / f"test-{n}").write_text(f"{worker} {acme_server.port}")
    '''))
    result = pytester.runpytest_subprocess("-n", "2", timeout=120)
    result.assert_outcomes(passed=8)
    seen = [tuple(p.read_text().split()) for p in out.iterdir()]
    assert len(seen) == 8
    port_of = dict(seen)
    assert sorted(port_of) == ["gw0", "gw1"]
    assert len(set(port_of.values())) == 2
    assert all(port_of[worker] == port for worker, port in seen)
    result.stdout.fnmatch_lines(["pytest-acme: each xdist worker runs its own ACME server*"])


# -- exceptions inside the server ---------------------------------------------------------


def test_exception_in_background_validation_fails_the_test(pytester: pytest.Pytester) -> None:
    """A validator raising on a worker thread fails the test that answered the
    challenge, with the exception's message; the tests around it pass."""
    pytester.makepyfile(module('''
        class Exploding:
            def validate(self, request):
                raise RuntimeError("validator exploded for " + request.identifier.value)

        def test_before(acme_server, acme_directory_url, acme_ca_bundle):
            register(acme_client(acme_directory_url, acme_ca_bundle))

        def test_boom(acme_server, acme_directory_url, acme_ca_bundle, monkeypatch):
            monkeypatch.setattr(acme_server.app, "validator", Exploding())
            acme = acme_client(acme_directory_url, acme_ca_bundle)
            register(acme)
            answer_http01(acme, acme.new_order(make_csr("boom.example")))

        @pytest.mark.acme(validation="always_valid")  # no http-01 responder here
        def test_after(acme_server, acme_directory_url, acme_ca_bundle):
            acme = acme_client(acme_directory_url, acme_ca_bundle)
            register(acme)
            answer_http01(acme, acme.new_order(make_csr("fine.example")))
            acme_server.wait_idle()
            (order,) = acme_server.app.store.orders.values()
            assert order.status.value == "ready"
    '''))
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=3, errors=1)  # test_boom passes its call, errors at teardown
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_boom*",
        "*AcmeServerError: 1 exception(s) inside the ACME server*",
        "*-- in background worker:*",
        "*RuntimeError: validator exploded for boom.example*",
    ])
    result.stdout.fnmatch_lines(["PASSED *::test_before", "PASSED *::test_after"])
    result.stdout.no_fnmatch_line("ERROR *::test_before*")
    result.stdout.no_fnmatch_line("ERROR *::test_after*")


def test_exception_in_request_handler_fails_the_test(pytester: pytest.Pytester) -> None:
    """A handler raising inside a request: the client gets a 500 ``serverInternal``
    and the test that made the request fails with the exception's message."""
    pytester.makepyfile(module('''
        from pytest_acme.web import endpoints

        def exploding(app, ex):
            raise ValueError("handler exploded 7f3a")

        def test_boom(acme_server, acme_directory_url, acme_ca_bundle, monkeypatch):
            monkeypatch.setitem(endpoints.ENDPOINTS, "new_nonce", (exploding, None))
            directory = requests.get(acme_directory_url, verify=acme_ca_bundle, timeout=10).json()
            response = requests.head(directory["newNonce"], verify=acme_ca_bundle, timeout=10)
            assert response.status_code == 500

        def test_after(acme_server, acme_directory_url, acme_ca_bundle):
            register(acme_client(acme_directory_url, acme_ca_bundle))
    '''))
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_boom*",
        "*-- in HEAD /acme/new-nonce:*",
        "*in exploding*",
        "*ValueError: handler exploded 7f3a*",
    ])
    result.stdout.fnmatch_lines(["PASSED *::test_after"])


def test_background_exception_fails_a_test_with_its_own_server(pytester: pytest.Pytester) -> None:
    """With a restart marker (its own server), a validation that fails only after the
    test body returned still fails the test: the fixture waits for background work
    before ``check()``, as it does for the session server.

    The validator is held until the test body has returned (a fixture that depends
    on ``acme_server`` releases it in its teardown, which runs before
    ``acme_server``'s), as a slow validation would be.
    """
    pytester.makepyfile(module('''
        import threading

        class LateExploding:
            def __init__(self):
                self.release = threading.Event()

            def validate(self, request):
                assert self.release.wait(timeout=10)
                raise RuntimeError("late validation failure 91c2")

        @pytest.fixture
        def late_validator(acme_server):
            validator = LateExploding()
            acme_server.app.validator = validator
            yield validator
            validator.release.set()

        def boom(acme_server):
            acme = acme_client(acme_server.directory_url, acme_server.ca_bundle)
            register(acme)
            answer_http01(acme, acme.new_order(make_csr("late.example")))

        @pytest.mark.acme(tls=False)
        def test_own_server(acme_server, late_validator):
            boom(acme_server)

        def test_session_server(acme_server, late_validator):
            boom(acme_server)

        def test_after(acme_server):
            pass
    '''))
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=3, errors=2)  # the two boom tests pass their calls
    for name in ("test_own_server", "test_session_server"):
        result.stdout.fnmatch_lines([
            f"*ERROR at teardown of {name}*",
            "*AcmeServerError: 1 exception(s) inside the ACME server*",
            "*RuntimeError: late validation failure 91c2*",
        ])
    result.stdout.no_fnmatch_line("ERROR *::test_after*")


# -- AcmeServer.check() directly --------------------------------------------------------


def test_check_raises_with_the_server_side_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """``AcmeServer.check()`` re-raises what handlers raised as ``AcmeServerError``
    holding the server-side traceback, chained to the first exception, once."""

    def exploding_directory(app, ex):
        raise KeyError("kaboom-5150")

    monkeypatch.setitem(endpoints.ENDPOINTS, "directory", (exploding_directory, None))
    with AcmeServer(tls=False) as server:
        server.check()  # nothing yet
        for _ in range(2):
            with pytest.raises(urllib.error.HTTPError) as http:
                urllib.request.urlopen(server.directory_url, timeout=10)
            assert http.value.code == 500
            assert b"serverInternal" in http.value.read()

        with pytest.raises(AcmeServerError) as raised:
            server.check()
        text = str(raised.value)
        assert text.startswith("2 exception(s) inside the ACME server")
        assert text.count("-- in GET /directory:") == 2
        assert "Traceback (most recent call last)" in text
        assert "in exploding_directory" in text
        assert "KeyError: 'kaboom-5150'" in text
        assert isinstance(raised.value, AssertionError)
        assert isinstance(raised.value.__cause__, KeyError)

        server.check()  # the errors were taken: a second check passes


def test_check_reports_background_worker_errors() -> None:
    """An exception in a background job is kept for ``check()`` too, after
    ``wait_idle()`` returns."""
    started = threading.Event()

    def job() -> None:
        started.set()
        raise OSError("worker trouble 3e8")

    with AcmeServer(tls=False) as server:
        server.app.workers.submit(job)
        assert started.wait(timeout=10)
        server.wait_idle()
        with pytest.raises(AcmeServerError, match=r"(?s)-- in background worker:.*OSError: worker trouble 3e8"):
            server.check()
        server.check()
