"""Fixtures of the console tests: the console as a WSGI test client, and a
headless Chromium (Debian's chromium and chromium-driver) driven by Selenium."""

from __future__ import annotations

import os
import shutil
from typing import Any, Iterator

import pytest

from .console_helpers import ConsoleClient


@pytest.fixture
def console(acme_server: Any) -> ConsoleClient:
    return ConsoleClient(acme_server)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium; skipped without chromium and chromium-driver, except in
    CI, which installs them (`.ci/run`)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:  # pragma: no cover
        if os.environ.get("CI"):
            pytest.fail("CI installs selenium (the test extra) for the browser tests")
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI"):
            pytest.fail("CI installs Debian's chromium and chromium-driver for the browser "
                        "tests")
        pytest.skip("the browser tests need Debian's chromium and chromium-driver "
                    "(apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1100,900", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
