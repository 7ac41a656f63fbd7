"""Request bodies are bounded (``max_body_bytes``): a larger body is a 413
problem document with a nonce, and a chunked one a 411, neither of them read."""

from __future__ import annotations

import io

from werkzeug.test import EnvironBuilder, run_wsgi_app

from jws_client import assert_problem
from wsgi_world import World


def test_the_limit_is_exact():
    w = World(max_body_bytes=1000)
    url = w.directory["newAccount"]
    assert_problem(w.post_raw(url, b" " * 1000), "malformed", 400, "not valid JSON")
    assert_problem(w.post_raw(url, b" " * 1001), "malformed", 413, "larger than 1000 bytes")
    assert w.app.take_errors() == []


class CountingStream(io.BytesIO):
    """A request body that records how much of it the server read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk

    read1 = read

    def readinto(self, buffer):
        n = super().readinto(buffer)
        self.consumed += n
        return n

    def readline(self, size=-1):
        line = super().readline(size)
        self.consumed += len(line)
        return line


def test_a_chunked_body_is_411_and_not_read():
    """The HTTP layer refuses a chunked body with 411 (docs: limits, hardening);
    the application, on another WSGI server, does the same and reads none of it."""
    w = World(max_body_bytes=1000)
    body = CountingStream(b"x" * 10_000_000)
    builder = EnvironBuilder(path="/acme/new-account", method="POST", input_stream=body,
                             headers={"Content-Type": "application/jose+json",
                                      "Transfer-Encoding": "chunked"})
    environ = builder.get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    app_iter, status, headers = run_wsgi_app(w.app, environ)
    assert b"Content-Length only" in b"".join(app_iter)
    assert status.startswith("411"), status
    assert dict(headers)["Replay-Nonce"]
    assert body.consumed == 0


def test_a_body_a_wsgi_server_dechunked_is_411_too():
    """``wsgi.input_terminated`` without a length: what a chunked body becomes."""
    w = World(max_body_bytes=1000)
    environ = EnvironBuilder(path="/acme/new-account", method="POST",
                             input_stream=io.BytesIO(b"[]" + b" " * 900),
                             headers={"Content-Type": "application/jose+json"}).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    app_iter, status, _ = run_wsgi_app(w.app, environ)
    assert status.startswith("411") and b"Content-Length only" in b"".join(app_iter)
