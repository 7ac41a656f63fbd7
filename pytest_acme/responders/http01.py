"""The http-01 responder: a pytest-httpserver that answers
``GET /.well-known/acme-challenge/<token>`` with what a test published."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple, Union

from ..protocol.challenges import HTTP01_PATH
from ..store import BoundedList
from .logs import HISTORY_SIZE, clip

#: Requests pytest-httpserver's own log (``httpserver.log``, whole requests and
#: responses) keeps under an :class:`Http01Responder`.
HTTPSERVER_LOG_SIZE = 10

# A key authorization is ``token.thumbprint``; both are base64url, but tests
# may publish anything, so the pattern takes any single path segment.
_CHALLENGE_RE = re.compile(f"^{re.escape(HTTP01_PATH)}[^/]+$")


@dataclass(frozen=True)
class _HttpAnswer:
    """What :class:`Http01Responder` answers for one token."""

    status: int
    body: bytes
    content_type: str
    location: Optional[str] = None


class Http01Responder:
    """An HTTP server that answers HTTP-01 challenges (RFC 8555 §8.3).

    Built on pytest-httpserver's :class:`~pytest_httpserver.HTTPServer`
    (``.httpserver``), with one permanent handler for every challenge path and
    a catch-all one after it, so an unknown token or path is a plain ``404``
    and never a "no handler" assertion in ``httpserver.check_assertions()``.
    The answers live in a dict under a lock, so a test may publish and remove
    tokens while the server thread reads them.

    Attributes:
        httpserver: the underlying pytest-httpserver ``HTTPServer`` (its ``log``
            keeps the newest :data:`HTTPSERVER_LOG_SIZE` requests).
        requests: ``(method, path, host header)`` of the requests received, oldest
            first: the newest ``history_size``; ``requests.dropped`` counts the
            others, and path and header keep :data:`HISTORY_TEXT_LIMIT` characters.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 history_size: int = HISTORY_SIZE) -> None:
        from pytest_httpserver import HTTPServer  # an optional dependency: import it only when used
        from pytest_httpserver.httpserver import HandlerType

        self.httpserver = HTTPServer(host=host, port=port, threaded=True)
        self.requests: BoundedList[Tuple[str, str, Optional[str]]] = BoundedList(history_size)
        self._answers: Dict[str, _HttpAnswer] = {}
        self._lock = threading.Lock()
        self.httpserver.expect_request(
            _CHALLENGE_RE, handler_type=HandlerType.PERMANENT).respond_with_handler(self._answer)
        # Registered last, so it only sees what the challenge handler did not match.
        self.httpserver.expect_request(
            re.compile(r""), handler_type=HandlerType.PERMANENT).respond_with_handler(
                self._not_found)

    # -- lifecycle

    def start(self) -> "Http01Responder":
        """Start serving on a thread; returns ``self``."""
        self.httpserver.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (a no-op when not running)."""
        if self.httpserver.is_running():
            self.httpserver.stop()

    def __enter__(self) -> "Http01Responder":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port it listens on (the real one once started with ``port=0``)."""
        return int(self.httpserver.port)

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://{self.httpserver.host}:{self.port}"

    # -- what it answers

    def publish(self, token: str, key_authorization: str) -> None:
        """Answer ``GET /.well-known/acme-challenge/<token>`` with ``200`` and the key
        authorization."""
        self.respond(token, key_authorization)

    def respond(self, token: str, body: Union[str, bytes], status: int = 200,
                content_type: str = "text/plain") -> None:
        """Answer the token's path with any status and body (e.g. a wrong key authorization)."""
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        self._set(token, _HttpAnswer(status, data, content_type))

    def redirect(self, token: str, location: str, status: int = 302) -> None:
        """Answer the token's path with a redirect to ``location`` (RFC 8555 §8.3 lets
        validators follow it)."""
        self._set(token, _HttpAnswer(status, b"", "text/plain", location))

    def remove(self, token: str) -> None:
        """Forget one token: its path answers ``404`` again (a no-op for an unknown token)."""
        with self._lock:
            self._answers.pop(token, None)

    def clear(self) -> None:
        """Forget every token (the request log is kept)."""
        with self._lock:
            self._answers.clear()

    def reset(self) -> None:
        """Forget every token and the request log: a fresh responder for the next test."""
        with self._lock:
            self._answers.clear()
            self.requests.clear()

    def _set(self, token: str, answer: _HttpAnswer) -> None:
        if not token or "/" in token:
            raise ValueError(f"a token is one path segment, got {token!r}")
        with self._lock:
            self._answers[token] = answer

    # -- the handlers (on the server's threads)

    def _log(self, request: Any) -> None:
        with self._lock:
            self.requests.append((request.method, clip(request.path),
                                  clip(request.headers.get("Host"))))
            # pytest-httpserver logs every (request, response) too, each with its
            # whole environ (a 60 KB path is there several times over): keep only
            # its newest few.  It appends after this handler returns: leave a place.
            log = self.httpserver.log
            if len(log) >= HTTPSERVER_LOG_SIZE:
                del log[:len(log) - HTTPSERVER_LOG_SIZE + 1]

    def _answer(self, request: Any) -> Any:
        from werkzeug.wrappers import Response

        self._log(request)
        token = request.path[len(HTTP01_PATH):]
        with self._lock:
            answer = self._answers.get(token)
        if answer is None or request.method not in ("GET", "HEAD"):
            return Response("not found\n", status=404, content_type="text/plain")
        response = Response(answer.body, status=answer.status, content_type=answer.content_type)
        if answer.location is not None:
            response.headers["Location"] = answer.location
            response.autocorrect_location_header = False
        return response

    def _not_found(self, request: Any) -> Any:
        from werkzeug.wrappers import Response

        self._log(request)
        return Response("not found\n", status=404, content_type="text/plain")
