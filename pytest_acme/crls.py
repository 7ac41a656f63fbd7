"""Certificate revocation lists: one per issuing intermediate, made when asked.

A CRL is derived from the store (every revoked, unexpired certificate of that
issuer) and cached; the cache is used while the revoked set is unchanged and
the server clock is within the first half of the CRL's lifetime, so a revocation,
a reset or ``clock.advance()`` shows in the next download at once.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Dict, FrozenSet, Optional, Tuple

from cryptography.hazmat.primitives.serialization import Encoding

from .ca import CertificateAuthority
from .protocol.ari import validity
from .store import Store

#: thisUpdate to nextUpdate (Let's Encrypt publishes CRLs valid for days).
CRL_LIFETIME = dt.timedelta(days=1)

_Key = FrozenSet[Tuple[int, dt.datetime, int]]


class CrlCache:
    """The DER CRL of each issuer, regenerated when the revocations change."""

    def __init__(self, ca: CertificateAuthority, store: Store) -> None:
        self.ca = ca
        self.store = store
        self._lock = threading.Lock()
        self._cache: Dict[int, Tuple[_Key, dt.datetime, dt.datetime, bytes]] = {}
        self._numbers: Dict[int, int] = {}

    def der(self, index: int, now: dt.datetime) -> Optional[bytes]:
        """The CRL of issuer ``index`` (DER), or None if there is no such issuer."""
        if not 0 <= index < len(self.ca.issuers):
            return None
        issuer = self.ca.issuers[index]
        with self.store.lock:
            revoked: _Key = frozenset(
                (c.serial, c.revoked_at, c.revocation_reason or 0)
                for c in self.store.certificates.values()
                if c.revoked_at is not None and c.leaf.issuer == issuer.cert.subject
                and validity(c.leaf)[1] > now
            )
        with self._lock:
            cached = self._cache.get(index)
            if cached is not None and cached[0] == revoked and cached[1] <= now < cached[2]:
                return cached[3]
            number = self._numbers.get(index, 0) + 1  # CRLNumber only grows (RFC 5280 §5.2.3)
            self._numbers[index] = number
            crl = self.ca.crl(issuer, sorted(revoked, key=lambda r: r[1]), number,
                              now, now + CRL_LIFETIME)
            data = crl.public_bytes(Encoding.DER)
            self._cache[index] = (revoked, now, now + CRL_LIFETIME / 2, data)
            return data

