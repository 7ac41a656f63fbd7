"""Every code example in README.md runs."""

from __future__ import annotations

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def blocks(language: str) -> list:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_the_two_setup_commands_first():
    first = blocks("sh")[0].strip().splitlines()
    assert len(first) == 2
    assert "pytest-acme serve" in first[0]
    assert "python -m pytest -n 2" in first[1]


PYTHON = blocks("python")


@pytest.mark.parametrize("index", [i for i, b in enumerate(PYTHON) if "def test_" in b])
def test_readme_pytest_examples_pass(pytester, index):
    pytester.makepyfile(test_readme=PYTHON[index])
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=PYTHON[index].count("def test_"))


@pytest.mark.parametrize("index", [i for i, b in enumerate(PYTHON) if "def test_" not in b])
def test_readme_snippets_run(index):
    exec(compile(PYTHON[index], "README.md", "exec"), {})


def test_readme_has_a_test_example_and_a_server_snippet():
    assert "def test_" in PYTHON[0]
    assert any("with AcmeServer" in b for b in PYTHON)


def test_readme_ini_example_configures_the_session(pytester):
    ini = blocks("ini")[0]
    pytester.makeini(ini)
    pytester.makepyfile(test_ini="""
        def test_settings(acme_server):
            assert acme_server.config.order_expiry == 300
            assert acme_server.config.finalize == "async"
    """)
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


@pytest.mark.parametrize("name", ["acme_server", "acme_directory_url", "acme_ca_bundle",
                                  "acme_server_config", "acme_session_server",
                                  "acme_http01_responder", "acme_tlsalpn01_responder",
                                  "acme_dns"])
def test_readme_fixture_table_matches_the_plugin(pytester, name):
    assert f"`{name}`" in README.read_text()
    pytester.makepyfile(test_f=f"def test_it({name}):\n    assert {name} is not None\n")
    pytester.runpytest().assert_outcomes(passed=1)


def test_readme_curl_example_describes_the_servers_orders(tmp_path):
    """The README's management-API example, against a server on the default ports."""
    import subprocess
    import threading

    from helpers import BannerCapture, banner_field
    from pytest_acme.cli import main

    (command,) = [b for b in blocks("sh") if "curl" in b and "describe" in b]

    out, stop, result = BannerCapture(), threading.Event(), []
    thread = threading.Thread(target=lambda: result.append(main(
        ["serve", "-q", "--dns-port", "0", "--challtestsrv-port", "0"], stop=stop, out=out)))
    thread.start()
    try:
        assert out.ready.wait(15), out.getvalue()
        bundle = banner_field(out.getvalue(), "CA bundle:")
        run = subprocess.run(["bash", "-c", command], env={"CA_BUNDLE": bundle, "PATH": "/usr/bin:/bin"},
                             capture_output=True, text=True, timeout=30)
    finally:
        stop.set()
        thread.join(10)
    assert run.returncode == 0, run.stderr
    assert "No orders" in run.stdout
    assert result == [0]
