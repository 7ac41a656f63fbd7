"""Every code example in README.md and in the documentation pages (docs/) runs.

Python blocks run (a block with tests through pytester, any other one as a
script); shell blocks that talk to a server run against ``pytest-acme serve``
on free ports; the other shell blocks are commands for the reader's machine,
and each must name a command, subcommand, tox environment and file that
exist.  Code the pages include from ``examples/`` is run by the suite itself;
every file there must be on the examples page.
"""

from __future__ import annotations

import configparser
import pathlib
import re
import shlex
import shutil
import subprocess
import threading
from typing import Dict, List, Tuple

import pytest

from pytest_acme.listeners import spare_port

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)]


def blocks(language: str, pages: List[pathlib.Path] = PAGES) -> List[Tuple[str, str]]:
    """``(where, code)`` of every fenced block in that language, in page order."""
    found = []
    for page in pages:
        for i, code in enumerate(re.findall(rf"```{language}\n(.*?)```", page.read_text(),
                                            flags=re.S)):
            found.append((f"{page.relative_to(ROOT)}#{i}", code))
    return found


def test_readme_has_the_two_setup_commands_first():
    first = blocks("sh", [README])[0][1].strip().splitlines()
    assert len(first) == 2
    assert "pytest-acme serve" in first[0]
    assert "python -m pytest -n 2" in first[1]


def test_readme_fits_on_a_few_screens():
    assert len(README.read_text().splitlines()) <= 300


PYTHON = blocks("python")


@pytest.mark.parametrize("where,code", [b for b in PYTHON if "def test_" in b[1]],
                         ids=[b[0] for b in PYTHON if "def test_" in b[1]])
def test_pytest_examples_pass(pytester, where, code):
    pytester.makepyfile(test_readme=code)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=code.count("def test_"))


@pytest.mark.parametrize("where,code", [b for b in PYTHON if "def test_" not in b[1]],
                         ids=[b[0] for b in PYTHON if "def test_" not in b[1]])
def test_snippets_run(where, code):
    exec(compile(code, where, "exec"), {})


def test_readme_has_a_test_example_and_the_docs_a_server_snippet():
    assert "def test_" in blocks("python", [README])[0][1]
    assert any("with AcmeServer" in code for _, code in PYTHON)


def test_ini_example_configures_the_session(pytester):
    (ini,) = [code for _, code in blocks("ini") if "acme_config" in code]
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
def test_fixture_table_matches_the_plugin(pytester, name):
    assert f"| `{name}` |" in (DOCS / "reference" / "fixtures.md").read_text()
    pytester.makepyfile(test_f=f"def test_it({name}):\n    assert {name} is not None\n")
    pytester.runpytest().assert_outcomes(passed=1)


def test_every_example_file_is_on_the_examples_page():
    """Adding an example is one line in docs/howto/examples.md; this says which."""
    page = (DOCS / "howto" / "examples.md").read_text()
    listed = set(re.search(r"```\{examples\}\n(.*?)```", page, flags=re.S).group(1).split())
    files = {str(p.relative_to(ROOT / "examples")) for p in (ROOT / "examples").rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert files - listed == set(), "add these lines to docs/howto/examples.md"
    assert listed - files == set(), "these are listed but are not in examples/"


# -- shell blocks -----------------------------------------------------------------------

SERVED = re.compile(r"127\.0\.0\.1:1[45]000|\$(ACME|MGMT)\b")
SHELL = blocks("sh")
RUN = [b for b in SHELL if SERVED.search(b[1])]
READER = [b for b in SHELL if not SERVED.search(b[1])]


@pytest.fixture(scope="module")
def serve():
    """``pytest-acme serve`` on free ports, with an alternate chain (for the CRL and
    roots examples); ``(banner, http-01 port)``."""
    from helpers import BannerCapture
    from pytest_acme.cli import main

    http01 = spare_port()
    out, stop, result = BannerCapture(), threading.Event(), []
    thread = threading.Thread(target=lambda: result.append(main(
        ["serve", "-q", "--port", "0", "--management-port", "0", "--dns-port", "0",
         "--challtestsrv-port", "0", "--http01-port", str(http01), "--chain-length", "2",
         "--alternate-roots", "1"], stop=stop, out=out)))
    thread.start()
    try:
        assert out.ready.wait(15), out.getvalue()
        yield out.getvalue(), http01
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]


@pytest.mark.parametrize("where,command", RUN, ids=[b[0] for b in RUN])
def test_shell_examples_run_against_serve(serve, tmp_path, where, command):
    """The pages' commands, against a server on free ports: the pages' fixed ports
    (Pebble's 14000 and 15000, http-01 on 5002) become the ones it got."""
    from helpers import banner_field

    banner, http01 = serve
    if re.search(r"^\s*lego ", command, flags=re.M) and not shutil.which("lego"):
        pytest.skip("lego is not installed")
    acme = banner_field(banner, "directory:").rsplit("/directory", 1)[0]
    management = banner_field(banner, "management:").rsplit("/roots/0", 1)[0]
    command = (command.replace("https://127.0.0.1:14000", acme)
               .replace("https://127.0.0.1:15000", management)
               .replace("127.0.0.1:5002", f"127.0.0.1:{http01}"))
    env = {"CA_BUNDLE": banner_field(banner, "CA bundle:"), "ACME": acme, "MGMT": management,
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", command], env=env,
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip()
    if "describe" in command:
        assert "No orders" in run.stdout or "State:" in run.stdout, run.stdout
    if "lego" in command:  # the tutorial's client got its certificate
        assert (tmp_path / "lego" / "certificates" / "example.test.crt").is_file()
        assert re.search(r"State:\s+valid", run.stdout), run.stdout


def _subcommands() -> Dict[str, object]:
    from pytest_acme.cli import _parser

    parser = _parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    return dict(sub.choices)


def _tox_envs() -> set:
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(ROOT / "tox.ini")
    names = {s.split(":", 1)[1] for s in ini.sections() if s.startswith("testenv:")}
    return names | {e.strip() for e in ini["tox"]["env_list"].split(",")}


COMMANDS = ("python", "pytest-acme", "tox", "ln", "sphinx-build", "curl", "export", "lego")


@pytest.mark.parametrize("where,command", READER, ids=[b[0] for b in READER])
def test_other_shell_examples_name_what_exists(where, command):
    """A command for the reader's machine (install, tox, a benchmark): each line's
    program is one the pages explain, and what it names exists."""
    for line in command.replace("\\\n", " ").splitlines():
        for part in re.split(r"&&|\|", line.split("#", 1)[0]):
            words = shlex.split(part)
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                words.pop(0)  # VAR=value before the command
            if not words:
                continue
            assert words[0] in COMMANDS, f"{where}: unknown command {words[0]!r}"
            if words[0] == "python" and words[1].endswith(".py"):
                assert (ROOT / words[1]).is_file(), f"{where}: no {words[1]}"
            if words[:3] == ["python", "-m", "pytest"]:
                for arg in words[3:]:
                    if not arg.startswith("-") and "/" in arg:
                        assert (ROOT / arg.split("::")[0]).exists(), f"{where}: no {arg}"
            if words[0] == "pytest-acme":
                assert words[1] in _subcommands(), f"{where}: no subcommand {words[1]}"
            if words[0] == "tox" and "-e" in words:
                envs = words[words.index("-e") + 1].split(",")
                assert set(envs) <= _tox_envs(), f"{where}: no tox env {envs}"
