"""The management API of ``pytest-acme challtestsrv``, answering as the
pebble-challtestsrv binary does where the embedded API differs."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .challtestsrv import HISTORY_TYPES, ChalltestsrvApp
from .challtestsrv_body import Body, Failure, history_key, strip_port

#: The DNS endpoints: pebble-challtestsrv serves them only with a ``-dns01`` listener.
DNS_PATHS = ("/set-default-ipv4", "/set-default-ipv6", "/add-a", "/clear-a", "/add-aaaa",
             "/clear-aaaa", "/set-txt", "/clear-txt", "/add-caa", "/clear-caa", "/set-cname",
             "/clear-cname", "/set-servfail", "/clear-servfail")


class StandaloneChalltestsrvApp(ChalltestsrvApp):
    """The management API of ``pytest-acme challtestsrv``, which stands in for the
    pebble-challtestsrv binary and so answers as it does where the embedded API
    (:class:`ChalltestsrvApp`) is made for pytest-acme's own responders:

    * the HTTP-01 endpoints drive a :class:`~.challenge_http.ChallengeHttp`, so
      ``/add-redirect`` takes any path, and the history lists every request
      to the ``-http01`` and ``-https01`` listeners, with ``HTTPS`` set on the latter;
    * an endpoint whose listener is off (an empty ``-http01`` and ``-https01``,
      ``-dns01`` or ``-tlsalpn01``) is ``404``, since pebble-challtestsrv does
      not register it, rather than ``503``.

    Args:
        zone: the zone of the ``-dns01`` servers.
        http01: the state every HTTP-01 listener serves, or ``None``.
        tlsalpn01: the TLS-ALPN-01 responder, or ``None``.
        dns: whether any ``-dns01`` server listens.
    """

    def __init__(self, zone: Any, http01: Any = None, tlsalpn01: Any = None,
                 dns: bool = True) -> None:
        super().__init__(zone, http01=http01, tlsalpn01=tlsalpn01)
        self.dns = dns
        self._needs.update({path: "dns" for path in DNS_PATHS})
        for path in ("/http-request-history", "/tlsalpn01-request-history"):
            del self._needs[path]  # always served: an empty list when the listener is off

    def _require(self, which: Optional[str], path: str) -> None:
        on = {"http01": self.http01 is not None, "tlsalpn01": self.tlsalpn01 is not None,
              "dns": self.dns}
        if which is not None and not on[which]:
            raise Failure(404, f"{path}: 404 page not found (its listener is off: "
                           f"pass a non-empty -{which if which != 'dns' else 'dns01'} address)")

    def _add_redirect(self, body: Body) -> None:
        # pebble-challtestsrv redirects any path, always with 302 Found.
        self.http01.add_redirect(body.text("path"), body.text("targetURL"))

    def _del_redirect(self, body: Body) -> None:
        self.http01.remove_redirect(body.text("path"))

    def _http_events(self, host: str) -> List[Dict[str, Any]]:
        if self.http01 is None:
            return []
        return self.http01.history(lambda header: history_key(strip_port(header)) == host)

    def _tlsalpn_events(self, host: str) -> List[Dict[str, Any]]:
        return [] if self.tlsalpn01 is None else super()._tlsalpn_events(host)

    def _clear_history(self, body: Body) -> None:
        kind = body.text("type", allow_empty=True)
        if kind == "http" and self.http01 is not None:
            host = history_key(body.host())
            self.http01.clear_history(lambda header: history_key(strip_port(header)) == host)
        elif kind in HISTORY_TYPES and {"http": self.http01, "tlsalpn": self.tlsalpn01}.get(
                kind, self.zone) is None:
            body.host()  # nothing was recorded, but the body is checked as usual
        else:
            super()._clear_history(body)
