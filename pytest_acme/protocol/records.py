"""What the protocol's rules need of the records they act on, as interfaces.

:mod:`.lifecycle` and :mod:`.ari` read and link orders, authorizations and
certificates, but do not own them: whoever keeps the objects (the server's
:class:`pytest_acme.store.Store`) passes itself in, and satisfies these
protocols by having the methods, with no import in either direction.
"""

from __future__ import annotations

from typing import Iterable, List, Mapping, Protocol

from .resources import Authorization, Certificate, Order


class Records(Protocol):
    """The orders and authorizations :mod:`.lifecycle` creates, reads and links."""

    def new_id(self) -> str:
        """A fresh, short, URL-safe id for a new object."""

    def token(self) -> str:
        """A fresh challenge token (RFC 8555 §8.1)."""

    def add_order(self, order: Order, authzs: List[Authorization]) -> None:
        """Keep a new order and its authorizations (new or reused)."""

    def authz(self, id: str) -> Authorization:
        """The authorization with this id."""

    def authzs_of_order(self, order: Order) -> List[Authorization]:
        """The order's authorizations, in the order of its identifiers."""

    def orders_of_authz(self, authz: Authorization) -> Iterable[Order]:
        """The kept orders that use this authorization."""


class CertificateRecords(Protocol):
    """The certificates and orders :mod:`.ari` looks through."""

    @property
    def certificates_by_serial(self) -> Mapping[int, Certificate]:
        """Every kept certificate, by serial number."""

    @property
    def orders(self) -> Mapping[str, Order]:
        """Every kept order, by id."""

    def authz(self, id: str) -> Authorization:
        """The authorization with this id."""
