"""Replay nonces (RFC 8555 §6.5): cheap to make, each accepted once, pool bounded."""

from __future__ import annotations

import base64
import itertools
import os
import threading
from collections import OrderedDict


class NoncePool:
    """Issues nonces and accepts each one once.

    A nonce is base64url of a per-pool random prefix and a counter, so making
    one costs a counter step.  At most ``size`` unused nonces are remembered;
    past that the oldest are forgotten (a client holding one gets ``badNonce``
    and, as RFC 8555 §6.5 asks, retries with the fresh nonce it was given).
    """

    def __init__(self, size: int = 10000) -> None:
        self._size = size
        self._prefix = os.urandom(6)
        self._counter = itertools.count(1)
        self._live: "OrderedDict[str, None]" = OrderedDict()
        self._lock = threading.Lock()

    def issue(self) -> str:
        raw = self._prefix + next(self._counter).to_bytes(9, "big")
        nonce = base64.urlsafe_b64encode(raw).decode("ascii")  # 20 characters, no padding
        with self._lock:
            self._live[nonce] = None
            if len(self._live) > self._size:
                self._live.popitem(last=False)
        return nonce

    def consume(self, nonce: str) -> bool:
        """True if ``nonce`` was issued here and not used yet; it is then used."""
        with self._lock:
            return self._live.pop(nonce, False) is None

    def clear(self) -> None:
        with self._lock:
            self._live.clear()

    def __len__(self) -> int:
        return len(self._live)
