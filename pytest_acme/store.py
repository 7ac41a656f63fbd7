"""The in-memory store: every ACME object of one server, behind one lock.

The store keeps objects and answers lookups; it makes no protocol decisions.
Callers hold :attr:`Store.lock` around any sequence of reads and writes that
must be consistent (a handler takes it once per request).
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import threading
from typing import Deque, Dict, Iterable, Iterator, List, Optional, Set, Tuple, TypeVar

from .protocol.identifiers import Identifier
from .protocol.resources import Account, Authorization, Certificate, Challenge, Order
from .protocol.states import Status

T = TypeVar("T")


class Store:
    """Accounts, orders, authorizations, challenges and certificates.

    Args:
        rng: the generator object ids come from (seeded by the server, so a run
            can be replayed; it is not reseeded by :meth:`clear`, so ids from an
            earlier test never come back in a later one).
    """

    def __init__(self, rng: random.Random) -> None:
        self.lock = threading.RLock()
        self._rng = rng
        self.accounts: Dict[str, Account] = {}
        self.accounts_by_thumbprint: Dict[str, Account] = {}
        self.orders: Dict[str, Order] = {}
        self.authzs: Dict[str, Authorization] = {}
        self.challenges: Dict[str, Challenge] = {}
        self.certificates: Dict[str, Certificate] = {}
        self.certificates_by_serial: Dict[int, Certificate] = {}
        #: Orders forgotten by :meth:`retire` since the last :meth:`clear`.
        self.orders_retired = 0
        # (account id, identifier) -> that account's authorizations for it, oldest
        # first: what authorization reuse looks at, without a scan of the store.
        self._authz_index: Dict[Tuple[str, Identifier], Dict[str, Authorization]] = {}
        # Orders that may still be unfinished, oldest first, in all and per account:
        # what the pending-order limits count (see :meth:`unfinished_orders`).
        self._unfinished: Dict[str, Order] = {}
        self._unfinished_by_account: Dict[str, Dict[str, Order]] = {}
        #: SubjectPublicKeyInfo DER of keys revoked for keyCompromise, which no
        #: account or CSR may use again (Boulder's blocked keys).
        self.blocked_keys: Set[bytes] = set()

    def clear(self) -> None:
        with self.lock:
            self.orders_retired = 0
            self.blocked_keys.clear()
            self._authz_index.clear()
            self._unfinished.clear()
            self._unfinished_by_account.clear()
            self.accounts.clear()
            self.accounts_by_thumbprint.clear()
            self.orders.clear()
            self.authzs.clear()
            self.challenges.clear()
            self.certificates.clear()
            self.certificates_by_serial.clear()

    def new_id(self, nbytes: int = 9) -> str:
        """A short URL-safe random id (12 characters for the default 9 bytes)."""
        with self.lock:
            raw = self._rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def token(self) -> str:
        """A challenge token: 128 bits of entropy, base64url (RFC 8555 §8.1)."""
        return self.new_id(16)

    # -- writes --------------------------------------------------------------

    def add_account(self, account: Account) -> None:
        with self.lock:
            self.accounts[account.id] = account
            self.accounts_by_thumbprint[account.thumbprint] = account

    def add_order(self, order: Order, authzs: List[Authorization]) -> None:
        with self.lock:
            self.orders[order.id] = order
            for authz in authzs:
                self._add_authz(authz)
            self.accounts[order.account_id].order_ids.append(order.id)
            self._unfinished[order.id] = order
            self._unfinished_by_account.setdefault(order.account_id, {})[order.id] = order

    def add_authz(self, authz: Authorization) -> None:
        """An authorization of no order yet (pre-authorization, RFC 8555 §7.4.1)."""
        with self.lock:
            self._add_authz(authz)

    def _add_authz(self, authz: Authorization) -> None:
        self.authzs[authz.id] = authz
        for chall in authz.challenges:
            self.challenges[chall.id] = chall
        self._authz_index.setdefault((authz.account_id, authz.identifier), {})[authz.id] = authz

    def add_certificate(self, cert: Certificate) -> None:
        with self.lock:
            self.certificates[cert.id] = cert
            self.certificates_by_serial[cert.serial] = cert

    def retire(self, max_orders: Optional[int], now: dt.datetime) -> int:
        """Forget the oldest finished orders while more than ``max_orders`` are
        kept; returns how many went.

        Finished means stored as valid or invalid, or past ``expires``: an order
        a client may still be working on is never forgotten.  An order takes
        with it the authorizations no kept order uses (and their challenges)
        and its certificate, unless that is revoked (the CRL lists it until it
        expires).  A pending pre-authorization belongs to no order and stays.
        """
        if max_orders is None or len(self.orders) <= max_orders:
            return 0
        with self.lock:
            excess = len(self.orders) - max_orders
            # Oldest first, and stop once enough are found: at the limit this runs on
            # every newOrder, and scanning every kept order each time made newOrder
            # cost grow with max_orders.
            gone: List[Order] = []
            for o in self.orders.values():
                if o.status in (Status.VALID, Status.INVALID) or o.expires <= now:
                    gone.append(o)
                    if len(gone) == excess:
                        break
            for order in gone:
                self._forget(order)
            self.orders_retired += len(gone)
            return len(gone)

    def unfinished_orders(self, account_id: Optional[str], now: dt.datetime,
                          limit: Optional[int] = None) -> List[Order]:
        """The orders still unfinished (stored as pending, ready or processing, and
        not past ``expires``), oldest first: the account's, or everyone's when
        ``account_id`` is None.

        Counted as Boulder's ``CountPendingOrders`` counts them, from the stored
        status and the expiry alone: an order whose authorization was deactivated
        still counts until it expires, as at Let's Encrypt.  The list is tidied
        (finished orders dropped) only once it holds ``limit`` orders, so below
        the limits a newOrder costs no scan (the list may then name orders that
        have finished since); without a limit it is always tidied.
        """
        with self.lock:
            table = (self._unfinished if account_id is None
                     else self._unfinished_by_account.get(account_id, {}))
            if limit is None or len(table) >= limit:
                self._tidy(table, now)
                if account_id is None:
                    for mine in self._unfinished_by_account.values():
                        self._tidy(mine, now)
            return list(table.values())

    @staticmethod
    def _tidy(table: Dict[str, Order], now: dt.datetime) -> None:
        for order in [o for o in table.values() if not _unfinished(o, now)]:
            del table[order.id]

    def _forget(self, order: Order) -> None:
        del self.orders[order.id]
        self._unfinished.pop(order.id, None)
        self._unfinished_by_account.get(order.account_id, {}).pop(order.id, None)
        account = self.accounts.get(order.account_id)
        if account is not None and order.id in account.order_ids:
            account.order_ids.remove(order.id)
        for authz_id in order.authz_ids:
            authz = self.authzs.get(authz_id)
            if authz is None:
                continue
            if order.id in authz.order_ids:
                authz.order_ids.remove(order.id)
            if not authz.order_ids:
                del self.authzs[authz_id]
                for chall in authz.challenges:
                    self.challenges.pop(chall.id, None)
                key = (authz.account_id, authz.identifier)
                same = self._authz_index.get(key, {})
                same.pop(authz_id, None)
                if not same:
                    self._authz_index.pop(key, None)
        cert = self.certificates.get(order.certificate_id or "")
        if cert is not None and cert.revoked_at is None:
            del self.certificates[cert.id]
            self.certificates_by_serial.pop(cert.serial, None)

    # -- reads ---------------------------------------------------------------

    def authz(self, id: str) -> Authorization:
        return self.authzs[id]

    def authzs_for(self, account_id: str, identifier: Identifier) -> Iterable[Authorization]:
        """The account's authorizations for ``identifier`` (a wildcard only for the
        same wildcard), oldest first."""
        return list(self._authz_index.get((account_id, identifier), {}).values())

    def orders_of_authz(self, authz: Authorization) -> Iterator[Order]:
        return (self.orders[o] for o in authz.order_ids if o in self.orders)

    def authzs_of_order(self, order: Order) -> List[Authorization]:
        return [self.authzs[a] for a in order.authz_ids]


def _unfinished(order: Order, now: dt.datetime) -> bool:
    return order.status in _UNFINISHED and order.expires > now


_UNFINISHED = (Status.PENDING, Status.READY, Status.PROCESSING)


class BoundedLog(Deque[T]):
    """A deque that counts what it had to drop (logs never grow without bound)."""

    def __init__(self, maxlen: int) -> None:
        super().__init__(maxlen=maxlen)
        self.dropped = 0

    def append(self, item: T) -> None:
        if self.maxlen is not None and len(self) == self.maxlen:
            self.dropped += 1
        super().append(item)

    def clear(self) -> None:
        super().clear()
        self.dropped = 0

    def resized(self, maxlen: int) -> "BoundedLog[T]":
        """A copy holding at most ``maxlen`` entries (the newest), counting the rest
        as dropped."""
        copy: BoundedLog[T] = BoundedLog(maxlen)
        copy.dropped = self.dropped
        for item in self:
            copy.append(item)
        return copy

    def status(self) -> Dict[str, int]:
        """``{"kept": n, "limit": maxlen, "dropped": n}``, for inspection."""
        return {"kept": len(self), "limit": self.maxlen or 0, "dropped": self.dropped}


class BoundedList(List[T]):
    """A list that keeps its newest ``maxlen`` items and counts what it dropped: a
    log its readers compare and slice as a list (the responders' request logs).

    Example::

        log = BoundedList(2)
        for n in range(3):
            log.append(n)
        assert log == [1, 2] and log.dropped == 1
    """

    def __init__(self, maxlen: int) -> None:
        if maxlen < 1:
            raise ValueError(f"a log keeps at least 1 entry, not {maxlen}")
        super().__init__()
        self.maxlen = maxlen
        self.dropped = 0

    def append(self, item: T) -> None:
        super().append(item)
        if len(self) > self.maxlen:
            del self[0]
            self.dropped += 1

    def clear(self) -> None:
        super().clear()
        self.dropped = 0
