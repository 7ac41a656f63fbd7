"""Nonces are bounded in number and in age (RFC 8555 §6.5), on the server clock."""

from __future__ import annotations

import json

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from jws_client import PROBLEM, assert_problem, sign
from pytest_acme import AcmeConfig
from pytest_acme.clock import Clock
from pytest_acme.web.nonces import EXPIRED, OK, UNKNOWN, NoncePool
from wsgi_world import World


def test_a_nonce_expires_on_the_server_clock():
    clock = Clock()
    pool = NoncePool(10, clock.now, lambda: 60)
    young, old = pool.issue(), pool.issue()
    clock.advance(59)
    assert pool.take(young) == OK  # younger than the lifetime
    clock.advance(2)
    assert pool.take(old) == EXPIRED
    assert pool.take(old) == UNKNOWN  # and it is gone


def test_expired_nonces_are_forgotten_when_new_ones_are_issued():
    clock = Clock()
    pool = NoncePool(1000, clock.now, lambda: 60)
    for _ in range(500):
        pool.issue()
    clock.advance(61)
    pool.issue()
    assert len(pool) == 1


def test_the_pool_never_holds_more_than_its_size():
    pool = NoncePool(100)
    first = pool.issue()
    for _ in range(1000):
        pool.issue()
    assert len(pool) == 100
    assert pool.take(first) == UNKNOWN


def test_no_lifetime_means_no_expiry():
    clock = Clock()
    pool = NoncePool(10, clock.now, lambda: None)
    nonce = pool.issue()
    clock.advance(10 ** 8)
    assert pool.consume(nonce)


def test_nonce_lifetime_is_validated():
    with pytest.raises(ValueError, match="nonce_lifetime"):
        AcmeConfig(nonce_lifetime=0)
    assert AcmeConfig(nonce_lifetime=None).nonce_lifetime is None


def test_an_expired_nonce_is_bad_nonce_with_a_fresh_one():
    w = World(nonce_lifetime=30)
    key = ec.generate_private_key(ec.SECP256R1())
    url = w.directory["newAccount"]
    stale = w.nonce()
    w.app.clock.advance(31)
    response = w.post_raw(url, json.dumps(sign(key, url, {}, nonce=stale)))
    assert_problem(response, "badNonce", 400, "expired")
    retry = w.post_raw(url, json.dumps(sign(key, url, {}, nonce=response.headers[
        "Replay-Nonce"])))
    assert retry.status_code == 201


def test_reconfigured_lifetime_applies_to_nonces_already_issued():
    w = World(nonce_lifetime=None)
    nonce = w.nonce()
    w.app.clock.advance(120)
    w.app.reconfigure(w.app.config.replace(nonce_lifetime=60))
    assert w.app.nonces.take(nonce) == EXPIRED


@pytest.mark.acme(nonce_lifetime=60)
def test_expiry_over_https(acme_server):
    bundle = acme_server.ca_bundle
    directory = requests.get(acme_server.directory_url, verify=bundle, timeout=10).json()
    stale = requests.head(directory["newNonce"], verify=bundle, timeout=10).headers[
        "Replay-Nonce"]
    acme_server.clock.advance(61)
    key = ec.generate_private_key(ec.SECP256R1())
    url = directory["newAccount"]
    response = requests.post(url, data=json.dumps(sign(key, url, {}, nonce=stale)),
                             headers={"Content-Type": "application/jose+json"}, verify=bundle,
                             timeout=10)
    assert response.status_code == 400
    assert response.json()["type"] == PROBLEM + "badNonce"
    assert "expired" in response.json()["detail"]
    assert response.headers["Replay-Nonce"]
