"""Fixtures of the console tests: the console as a WSGI test client, and a
headless Chromium (Debian's chromium and chromium-driver) driven by Selenium."""

from __future__ import annotations

import os
import re
import shutil
from typing import Any, Iterator

import pytest
from werkzeug.test import Client

from pytest_acme.console import make_console_app, mount


class ConsoleClient(Client):
    """Werkzeug's test client on a server's console, with the form token at hand."""

    def __init__(self, server: Any) -> None:
        self.console = make_console_app(server)
        super().__init__(mount(self.console))
        self.server = server

    def page(self, path: str = "", status: int = 200, **kwargs: Any) -> str:
        response = self.get(f"/console/{path}", **kwargs)
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_data(as_text=True)

    def act(self, path: str, expect: int = 303, token: Any = True, **form: Any) -> Any:
        """POST a form of the console; ``token=True`` sends the right CSRF token."""
        data = dict(form)
        if token is True:
            data["csrf"] = self.console.token
        elif token is not None:
            data["csrf"] = token
        response = self.post(f"/console/{path}", data=data)
        assert response.status_code == expect, response.get_data(as_text=True)
        return response


@pytest.fixture
def console(acme_server: Any) -> ConsoleClient:
    return ConsoleClient(acme_server)


def text_of(html: str) -> str:
    """The page's text, tags removed and entities left as they are."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


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
