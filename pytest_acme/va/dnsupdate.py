"""DNS UPDATE (RFC 2136) into a :class:`~pytest_acme.va.zone.Zone`, signed with TSIG (RFC 8945).

A dns-01 client that publishes its TXT record through a DNS provider plugin
(certbot-dns-rfc2136, lego's ``rfc2136``, ``nsupdate``) sends an UPDATE message
to the zone's primary server.  :class:`ZoneUpdater` is that server's UPDATE
handler: the :class:`~pytest_acme.va.dnsserver.DnsServer` hands it every
UPDATE, and it edits the same zone the validator reads::

    updater = ZoneUpdater(zone, [TsigKey("acme-update", "hmac-sha256", secret)])
    with DnsServer(zone, updater=updater) as dns:
        # nsupdate -y hmac-sha256:acme-update:<secret>, server 127.0.0.1 dns.port
        ...

What it does, in RFC 2136's order (§3):

* the message must parse, with one zone (SOA) in its zone section, or FORMERR;
* it must carry a TSIG signature by a configured key (RFC 8945 §5.2): an
  unknown key or algorithm gets NOTAUTH with TSIG error BADKEY, a wrong MAC
  BADSIG (both answers unsigned, §5.3.2), a time off by more than the fudge
  BADTIME (signed, with the server's time); an unsigned update is REFUSED.  A
  refused update changes nothing;
* the zone may be any name but the root (every name is served here, each its
  own apex; the root gets NOTAUTH); a record outside it gets NOTZONE;
* prerequisites (§2.4, §3.2) are checked, each failing with its RCODE: NXDOMAIN,
  YXDOMAIN, NXRRSET, YXRRSET;
* updates (§2.5, §3.4) add or delete TXT, A, AAAA, CNAME and CAA records,
  delete an RRset, or every RRset at a name.  Adding another type is REFUSED,
  as is a TXT record of more than one string or of bytes that are not UTF-8
  (the zone holds what a dns-01 record needs).  A CNAME is not added beside
  other records, nor other records beside a CNAME (§3.4.2.2).

The prerequisites are evaluated and the updates applied under the zone's lock,
all or nothing.  Prerequisites see the records stored at a name, not the
default addresses every name resolves to (those answer like a wildcard, and
prerequisites expand no wildcards).  TTLs are not stored: answers carry
:data:`~pytest_acme.va.dnsserver.TTL`.  The answer is signed with the request's
key (RFC 8945 §5.3).  Each change is reported to ``listener`` as
``DNS UPDATE by key acme-update: add TXT _acme-challenge.example.test``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable, Iterable, Optional, Tuple

from ..config import TsigKey
from .zone import Zone

if TYPE_CHECKING:  # pragma: no cover
    from .update_engine import UpdateEngine

__all__ = ["ZoneUpdater"]

#: Called with (reason, message) for each change and each refusal.
Listener = Callable[[str, str], None]


class ZoneUpdater:
    """Apply TSIG-signed DNS UPDATE messages to ``zone``.

    The work is done by :class:`~pytest_acme.va.update_engine.UpdateEngine`,
    made (and dnspython imported) on the first UPDATE, so servers that never get
    one start without it.

    Args:
        zone: the zone the updates edit (the validator's and the DNS server's).
        keys: the :class:`~pytest_acme.config.TsigKey` objects that may sign updates.
        listener: called with ``(reason, message)`` for every change
            (``"DnsUpdate"``) and every refused update (``"DnsUpdateRefused"``).
    """

    def __init__(self, zone: Zone, keys: Iterable[TsigKey] = (),
                 listener: Optional[Listener] = None) -> None:
        self.zone = zone
        self.listener = listener
        self._keys: Tuple[TsigKey, ...] = ()
        self._engine: Optional[UpdateEngine] = None
        self._lock = threading.Lock()
        self.set_keys(keys)

    def set_keys(self, keys: Iterable[TsigKey]) -> None:
        """Take updates signed by ``keys`` from now on (and by no other key)."""
        keys = tuple(keys)
        with self._lock:
            self._keys = keys
            if self._engine is not None:
                self._engine.set_keys(keys)

    @property
    def active(self) -> bool:
        """Whether any key may update (with none, the DNS server answers NOTIMP)."""
        return bool(self._keys)

    def answer(self, packet: bytes, peer: str) -> Optional[bytes]:
        """The reply to one UPDATE message (``packet``, from ``peer``), signed
        when the request was signed by a known key; None when nothing can be
        sent (the message is too short to hold an id)."""
        with self._lock:
            if self._engine is None:
                from .update_engine import UpdateEngine

                self._engine = UpdateEngine(self.zone, self._keys, self._notify)
            engine = self._engine
        return engine.answer(packet, peer)

    def _notify(self, reason: str, message: str) -> None:
        if self.listener is not None:
            self.listener(reason, message)
