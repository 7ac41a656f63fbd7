"""pebble-challtestsrv's HTTP-01 responder, for ``pytest-acme challtestsrv``.

The responder of :mod:`pytest_acme.responders` is made for tests: an unknown
token is a ``404`` and only challenge paths can redirect.  Setups written for
pebble-challtestsrv expect its own answers, which this WSGI application gives,
on every ``-http01`` and ``-https01`` listener at once (they share one state):

* a known token's path: ``200``, ``text/plain; charset=utf-8``, the content;
* any other path, a known token or not: ``200`` with an empty body and no
  ``Content-Type`` (the validator then reports the wrong key authorization);
* a path given to ``/add-redirect`` (any path, not only challenge paths):
  ``302 Found`` to the target, over plain HTTP only, so that a redirect from
  HTTP to the same path over HTTPS (``-https01``) does not loop;
* every request, whatever its path, is added to the request history that
  ``/http-request-history`` reads, with the ``Host`` header as sent
  (``/http-request-history`` compares it without its port).  Unlike
  challtestsrv's, the history is bounded: the newest ``history_size`` requests,
  each with at most :data:`~pytest_acme.responders.HISTORY_TEXT_LIMIT` characters
  of URL and ``Host``; ``events.dropped`` counts the others.

Example::

    http = ChallengeHttp()
    http.publish("token", "token.thumbprint")
    WsgiThread(http, "127.0.0.1", 5002).start()
"""

from __future__ import annotations

import html
import threading
from typing import Any, Callable, Dict, Iterable, List

from ..protocol.challenges import HTTP01_PATH
from ..responders.logs import HISTORY_SIZE, clip
from ..store import BoundedList

#: What an HTTP request adds to the history (field names as challtestsrv's JSON).
HttpEvent = Dict[str, Any]


class ChallengeHttp:
    """The tokens, redirects and request history of challtestsrv's HTTP-01 servers.

    Every method may be called from any thread; one lock guards the state.

    Attributes:
        events: the requests received, oldest first, as ``{"URL", "Host",
            "HTTPS", "ServerName"}`` (``ServerName`` stays empty: the HTTP
            server does not pass the TLS SNI name to the application): the
            newest ``history_size``, with ``events.dropped`` counting the others.
    """

    def __init__(self, history_size: int = HISTORY_SIZE) -> None:
        self._lock = threading.Lock()
        self._tokens: Dict[str, str] = {}
        self._redirects: Dict[str, str] = {}
        self.events: BoundedList[HttpEvent] = BoundedList(history_size)

    # -- what it answers (the management API calls these)

    def publish(self, token: str, content: str) -> None:
        """Answer ``/.well-known/acme-challenge/<token>`` with ``content``."""
        with self._lock:
            self._tokens[token] = content

    def remove(self, token: str) -> None:
        """Forget a token (a no-op for an unknown one)."""
        with self._lock:
            self._tokens.pop(token, None)

    def add_redirect(self, path: str, target: str) -> None:
        """Answer plain-HTTP requests for ``path`` with ``302`` to ``target``."""
        with self._lock:
            self._redirects[path] = target

    def remove_redirect(self, path: str) -> None:
        """Forget the redirect of ``path`` (a no-op if there is none)."""
        with self._lock:
            self._redirects.pop(path, None)

    def history(self, matches: Callable[[str], bool]) -> List[HttpEvent]:
        """The events whose ``Host`` header ``matches``, oldest first."""
        with self._lock:
            return [dict(event) for event in self.events if matches(event["Host"])]

    def clear_history(self, matches: Callable[[str], bool]) -> None:
        """Forget the events whose ``Host`` header ``matches``."""
        with self._lock:
            self.events[:] = [event for event in self.events if not matches(event["Host"])]

    # -- WSGI (on the servers' threads)

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        https = environ.get("wsgi.url_scheme") == "https"
        url = environ.get("REQUEST_URI") or path
        with self._lock:
            self.events.append({"URL": clip(url), "Host": clip(environ.get("HTTP_HOST", "")),
                                "HTTPS": https, "ServerName": ""})
            target = None if https else self._redirects.get(path)
            token = path[len(HTTP01_PATH):] if path.startswith(HTTP01_PATH) else None
            content = self._tokens.get(token) if token is not None else None
        if target is not None:
            # Go's http.Redirect: a short HTML body (printed with a newline of its
            # own) for GET and HEAD, none otherwise.
            headers = [("Location", target)]
            body = b""
            if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
                headers.append(("Content-Type", "text/html; charset=utf-8"))
                body = f'<a href="{html.escape(target)}">Found</a>.\n\n'.encode()
            start_response("302 Found", headers + [("Content-Length", str(len(body)))])
            return [body]
        if content is None:
            start_response("200 OK", [("Content-Length", "0")])
            return [b""]
        data = content.encode("utf-8")
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                                  ("Content-Length", str(len(data)))])
        return [data]
