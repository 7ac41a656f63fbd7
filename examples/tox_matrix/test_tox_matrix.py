"""Copy ``project/``: a client project whose ``tox.ini`` runs its pytest-acme
tests on Python 3.9 to 3.13 and once with the oldest versions it supports.

These tests check that ``tox.ini`` says what it should (without running tox,
which would build a virtualenv per Python) and run the project's tests the way
each tox environment does: ``pytest`` from the project's directory, so that
``tox.ini``'s ``[pytest]`` section, with its ``acme_config`` server settings,
is the one that applies.
"""

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from pytest_acme import AcmeConfig
from pytest_acme.plugin import parse_ini_settings

PROJECT = Path(__file__).parent / "project"


def tox_ini():
    parser = configparser.ConfigParser(interpolation=None)
    assert parser.read(PROJECT / "tox.ini")
    return parser


def run_pytest(directory, *args):
    """``pytest`` as a tox environment's ``commands`` runs it, in ``directory``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=directory, env=env, capture_output=True, text=True, timeout=300)


def test_tox_ini_lists_every_supported_python_and_a_lowest_env():
    ini = tox_ini()
    envs = [e.strip() for e in ini["tox"]["env_list"].split(",")]
    assert envs == ["py39", "py310", "py311", "py312", "py313", "lowest"]
    for env in envs:
        # Each env is a Python tox knows by name (pyXY) or names its interpreter.
        assert re.fullmatch(r"py3\d+", env) or ini.has_option(f"testenv:{env}", "base_python")
    assert "pytest-acme" in ini["testenv"]["deps"].split()
    assert ini["testenv"]["commands"].split() == ["pytest", "{posargs}"]
    # lowest pins what the project claims as its lower bounds, on the oldest Python.
    assert ini["testenv:lowest"]["base_python"] == "python3.9"
    pins = [line for line in ini["testenv:lowest"]["deps"].split() if "==" in line]
    assert {pin.split("==")[0] for pin in pins} >= {"acme", "josepy", "cryptography"}


def test_tox_ini_server_settings_are_valid_pytest_acme_settings():
    lines = tox_ini()["pytest"]["acme_config"].strip().splitlines()
    config = AcmeConfig(**parse_ini_settings(lines))
    assert (config.finalize, config.order_expiry) == ("async", 300)


def test_the_projects_tests_pass_when_run_from_its_directory():
    result = run_pytest(PROJECT, "-v")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"rootdir: {PROJECT}" in result.stdout
    assert "configfile: tox.ini" in result.stdout
    assert "3 passed" in result.stdout


def test_a_wrong_server_setting_in_tox_ini_stops_the_run(tmp_path):
    # The plugin refuses a setting it does not know at start-up, before any test.
    copy = tmp_path / "project"
    shutil.copytree(PROJECT, copy)
    ini = copy / "tox.ini"
    ini.write_text(ini.read_text().replace("order_expiry = 300", "order_expiry_seconds = 300"))
    result = run_pytest(copy)
    assert result.returncode == 4, result.stdout + result.stderr  # pytest's usage error
    assert "order_expiry_seconds" in result.stderr
