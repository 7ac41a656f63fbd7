"""Helpers of the console tests: the console behind Werkzeug's test client."""

from __future__ import annotations

import re
from typing import Any

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


def text_of(html: str) -> str:
    """The page's text, tags removed and entities left as they are."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
