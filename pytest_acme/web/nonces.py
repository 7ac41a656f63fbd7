"""Replay nonces (RFC 8555 §6.5): cheap to make, each accepted once, expiring,
pool bounded."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import os
import threading
from collections import OrderedDict
from typing import Callable, Optional

#: What :meth:`NoncePool.take` found.
OK, UNKNOWN, EXPIRED = "ok", "unknown", "expired"


def sends_nonce(method: str, endpoint: Optional[str], pebble: bool = False) -> bool:
    """Whether a response to ``method`` on ``endpoint`` carries a ``Replay-Nonce``.

    RFC 8555 §7.2 gives one to newNonce, and §6.5 to every response to a POST
    (problems too, so a client can retry at once).  Let's Encrypt's Boulder
    (``wfe2/wfe.go``, ``HandleFunc``) adds one to every response that is not to a
    GET, and to a GET of newNonce: a GET of the directory, renewalInfo, a CRL, a
    plain GET of an order, or a GET answered 404 or 405 has none.  Pebble adds
    one only to POSTs and to newNonce (so no HEAD of another resource gets one
    either).  Some client libraries fail when a directory answer carries one.

    Args:
        method: the request method, upper case.
        endpoint: the route matched (``"new_nonce"``, ...), None when none did.
        pebble: Pebble's rule instead of Boulder's.

    The OCSP responder is not part of the ACME API (Let's Encrypt ran it as a
    separate service), so its answers carry none.

    Example: ``sends_nonce("GET", "directory")`` is False.
    """
    if endpoint == "new_nonce":
        return True
    if endpoint == "ocsp":
        return False
    return method == "POST" if pebble else method != "GET"


class NoncePool:
    """Issues nonces and accepts each one once, within its lifetime.

    A nonce is base64url of a per-pool random prefix and a counter, so making
    one costs a counter step.  At most ``size`` unused nonces are remembered;
    past that the oldest are forgotten (a client holding one gets ``badNonce``
    and, as RFC 8555 §6.5 asks, retries with the fresh nonce it was given).

    Args:
        size: how many unused nonces are remembered.
        now: the server clock (expiry is measured on it, so a test that moves
            the clock forward expires nonces without waiting).
        lifetime: seconds a nonce stays usable, read at each use (so a
            reconfigured server applies the new value); None: no expiry.
    """

    def __init__(self, size: int = 10000,
                 now: Optional[Callable[[], dt.datetime]] = None,
                 lifetime: Callable[[], Optional[float]] = lambda: None) -> None:
        self._size = size
        self._now = now or (lambda: dt.datetime.now(dt.timezone.utc))
        self._lifetime = lifetime
        self._prefix = os.urandom(6)
        self._counter = itertools.count(1)
        # Oldest first: eviction by size and by age both pop from the front.
        self._live: "OrderedDict[str, dt.datetime]" = OrderedDict()
        self._lock = threading.Lock()

    def issue(self) -> str:
        raw = self._prefix + next(self._counter).to_bytes(9, "big")
        nonce = base64.urlsafe_b64encode(raw).decode("ascii")  # 20 characters, no padding
        now = self._now()
        with self._lock:
            self._prune(now)
            self._live[nonce] = now
            if len(self._live) > self._size:
                self._live.popitem(last=False)
        return nonce

    def take(self, nonce: str) -> str:
        """Use ``nonce`` up: :data:`OK`, or why it cannot be used
        (:data:`UNKNOWN`: never issued here, used, or forgotten; :data:`EXPIRED`)."""
        now = self._now()
        with self._lock:
            issued = self._live.pop(nonce, None)
        if issued is None:
            return UNKNOWN
        lifetime = self._lifetime()
        if lifetime is not None and (now - issued).total_seconds() > lifetime:
            return EXPIRED
        return OK

    def consume(self, nonce: str) -> bool:
        """True if ``nonce`` was issued here, is unexpired and not used yet; it is then used."""
        return self.take(nonce) == OK

    def _prune(self, now: dt.datetime) -> None:
        """Forget expired nonces (caller holds the lock); they are oldest, in front."""
        lifetime = self._lifetime()
        if lifetime is None:
            return
        cutoff = now - dt.timedelta(seconds=lifetime)
        while self._live:
            first = next(iter(self._live.values()))
            if first >= cutoff:
                break
            self._live.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._live.clear()

    def __len__(self) -> int:
        return len(self._live)
