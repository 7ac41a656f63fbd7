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


def test_readme_pytest_example_passes(pytester):
    example = blocks("python")[0]
    assert "def test_" in example
    pytester.makepyfile(test_readme=example)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_readme_server_example_runs():
    snippet = blocks("python")[1]
    assert "AcmeServer" in snippet
    exec(compile(snippet, "README.md", "exec"), {})


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
