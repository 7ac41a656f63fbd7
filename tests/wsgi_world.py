"""A populated server behind werkzeug's test client, for the hostile-input
corpus (tests/hostile) and the fuzz tests (tests/fuzz).

:class:`World` holds an :class:`AcmeApp` with ``always_valid`` validation and
makes accounts, ready orders and issued certificates on demand, so each
hostile case can aim at a real object of the kind it attacks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, Sequence, Tuple

from cryptography.hazmat.primitives.asymmetric import ec
from werkzeug.test import TestResponse

from helpers import make_csr
from jws_client import WsgiAcme, assert_problem, b64, expects_nonce
from pytest_acme import AcmeConfig
from pytest_acme.web.app import AcmeApp


def csr_b64(pem: bytes) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    return b64(x509.load_pem_x509_csr(pem).public_bytes(Encoding.DER))


@dataclass
class Actor:
    """An account: its key and URL (``kid``)."""

    key: Any
    kid: str


@dataclass
class IssuedOrder:
    url: str
    body: Dict[str, Any]
    cert_url: str
    cert_der: bytes
    cert_key: Any


class World(WsgiAcme):
    """A WSGI ACME server with helpers that build real objects to attack."""

    def __init__(self, **settings: Any) -> None:
        settings.setdefault("seed", 90210)
        settings.setdefault("validation", "always_valid")
        super().__init__(AcmeApp(AcmeConfig(**settings)))

    # -- objects ---------------------------------------------------------------

    _cast: Dict[str, Actor]

    def who(self, name: str) -> Actor:
        """A named account, made on first use (``w.who("alice")``)."""
        cast = self.__dict__.setdefault("_cast", {})
        if name not in cast:
            cast[name] = self.actor()
        return cast[name]

    def actor(self) -> Actor:
        key = ec.generate_private_key(ec.SECP256R1())
        return Actor(key, self.new_account(key))

    def signed(self, who: Actor, url: str, payload: Any, **kw: Any) -> TestResponse:
        """POST a JWS signed by ``who`` (``kid``) to ``url``."""
        return self.post(url, payload, who.key, kid=who.kid, **kw)

    def order(self, who: Actor, *names: str) -> Tuple[str, Dict[str, Any]]:
        ids = [{"type": "ip" if n[0].isdigit() or ":" in n else "dns", "value": n}
               for n in (names or ("hostile.test",))]
        response = self.signed(who, self.directory["newOrder"], {"identifiers": ids})
        assert response.status_code == 201, response.get_json()
        return response.headers["Location"], response.get_json()

    def ready_order(self, who: Actor, *names: str) -> Tuple[str, Dict[str, Any]]:
        """An order whose authorizations are valid (challenges answered)."""
        url, body = self.order(who, *names)
        for authz_url in body["authorizations"]:
            authz = self.signed(who, authz_url, None).get_json()
            chall = next(c for c in authz["challenges"] if c["type"] == "dns-01")
            assert self.signed(who, chall["url"], {}).status_code == 200
        assert self.app.workers.wait_idle(timeout=10)
        body = self.signed(who, url, None).get_json()
        assert body["status"] == "ready", body
        return url, body

    def issued(self, who: Actor, *names: str) -> IssuedOrder:
        """A valid order with its certificate."""
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding

        names = names or ("hostile.test",)
        url, body = self.ready_order(who, *names)
        cert_key = ec.generate_private_key(ec.SECP256R1())
        done = self.signed(who, body["finalize"], {"csr": csr_b64(make_csr(names, cert_key))})
        assert done.status_code == 200, done.get_json()
        body = done.get_json()
        pem = self.signed(who, body["certificate"], None).get_data()
        leaf = x509.load_pem_x509_certificates(pem)[0]
        return IssuedOrder(url, body, body["certificate"], leaf.public_bytes(Encoding.DER),
                           cert_key)

    def nonces_consumed(self, nonce: str) -> bool:
        """Use ``nonce`` up, as a request carrying it would."""
        return self.app.nonces.consume(nonce)

    # -- invariants ------------------------------------------------------------

    def check_invariants(self) -> None:
        """The store is consistent: every link resolves and stays within one account."""
        app, store = self.app, self.app.store
        now = app.clock.now()
        with store.lock:
            assert set(store.accounts_by_thumbprint.values()) <= set(store.accounts.values())
            for thumbprint, acct in store.accounts_by_thumbprint.items():
                assert acct.thumbprint == thumbprint
            for acct in store.accounts.values():
                for order_id in acct.order_ids:
                    assert store.orders[order_id].account_id == acct.id
            for order in store.orders.values():
                assert order.id in store.accounts[order.account_id].order_ids
                order.status_at(now, store.authz)  # derivable
                for authz_id in order.authz_ids:
                    authz = store.authzs[authz_id]
                    assert authz.account_id == order.account_id
                    assert order.id in authz.order_ids
            for authz in store.authzs.values():
                authz.status_at(now)
                for chall in authz.challenges:
                    assert store.challenges[chall.id] is chall
                    assert chall.authz_id == authz.id
            for cert in store.certificates.values():
                assert store.orders[cert.order_id].account_id == cert.account_id
                assert store.certificates_by_serial[cert.serial] is cert
        assert app.take_errors() == []


#: One hostile request: (case id, how to send it, problem type, HTTP status, detail words).
Case = Tuple[str, Callable[[World], TestResponse], str, int, Sequence[str]]


def case(id: str, send: Callable[[World], TestResponse], type_: str, status: int,
         *words: str) -> Any:
    """A parametrize entry for :func:`run_case`."""
    import pytest

    return pytest.param(send, type_, status, words, id=id)


def run_case(world: World, send: Callable[[World], TestResponse], type_: str, status: int,
             words: Sequence[str]) -> Dict[str, Any]:
    """Send a hostile request and check the exact problem, status and fresh nonce."""
    response = send(world)
    doc = assert_problem(response, type_, status, *words)
    assert len(doc["detail"]) < 2000, "a hostile input is echoed back whole"
    if expects_nonce(response):
        nonce = response.headers["Replay-Nonce"]
        assert world.app.nonces.consume(nonce), "the Replay-Nonce is not a live nonce"
    world.check_invariants()
    return doc


def raw_jws(protected: Dict[str, Any], payload: str = "", signature: str = "c2ln") -> str:
    """A JWS body with an arbitrary protected header and no valid signature."""
    from jws_client import b64

    return json.dumps({"protected": b64(json.dumps(protected)), "payload": payload,
                       "signature": signature})


def resign(jws: Dict[str, Any], key: Any, alg: str = "ES256") -> Dict[str, Any]:
    """Re-sign a (tampered) flattened JWS with ``key``."""
    import josepy

    from jws_client import b64

    message = f"{jws['protected']}.{jws['payload']}".encode()
    jws = dict(jws)
    jws["signature"] = b64(josepy.JWASignature.from_json(alg).sign(key, message))
    return jws


__all__ = ["Actor", "World", "case", "run_case", "raw_jws", "resign", "csr_b64"]
