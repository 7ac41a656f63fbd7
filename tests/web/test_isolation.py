"""Isolation between accounts: account B can neither read nor change anything
of account A's.

Every object of A's that B names is refused with ``unauthorized`` (403), the
same answer for every kind of object; only ids that do not exist at all are
404.  Each case also checks that A's object did not change.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from helpers import make_csr
from jws_client import OMIT, b64, jwk_for, sign
from wsgi_world import World, csr_b64, run_case


@pytest.fixture
def world():
    return World(seed=4242)


@pytest.fixture
def cast(world):
    """A with a pending order, a ready order and an issued certificate; B empty."""
    a, b = world.actor(), world.actor()
    pending_url, pending = world.order(a, "pending.a.test")
    ready_url, ready = world.ready_order(a, "ready.a.test")
    issued = world.issued(a, "issued.a.test")
    authz_url = pending["authorizations"][0]
    chall_url = world.signed(a, authz_url, None).get_json()["challenges"][0]["url"]
    return dict(a=a, b=b, pending_url=pending_url, authz=authz_url, chall=chall_url,
                ready_url=ready_url, finalize=ready["finalize"], issued=issued)


def snapshot(world, cast):
    """What A sees of its own objects."""
    a = cast["a"]
    return [world.signed(a, url, None).get_json()
            for url in (cast["pending_url"], cast["authz"], cast["chall"], cast["ready_url"],
                        cast["issued"].url, a.kid)] + [
        world.signed(a, cast["issued"].cert_url, None).get_data()]


CASES = {
    "order": lambda c: (c["pending_url"], None),
    "issued-order": lambda c: (c["issued"].url, None),
    "authorization": lambda c: (c["authz"], None),
    "authorization-deactivate": lambda c: (c["authz"], {"status": "deactivated"}),
    "challenge": lambda c: (c["chall"], None),
    "challenge-answer": lambda c: (c["chall"], {}),
    "certificate": lambda c: (c["issued"].cert_url, None),
    "finalize": lambda c: (c["finalize"], {"csr": csr_b64(make_csr(["ready.a.test"]))}),
    "orders-list": lambda c: (c["a"].kid + "/orders", None),
    "account": lambda c: (c["a"].kid, None),
    "account-update": lambda c: (c["a"].kid, {"contact": ["mailto:b@b.example"]}),
    "account-deactivate": lambda c: (c["a"].kid, {"status": "deactivated"}),
}


@pytest.mark.parametrize("what", sorted(CASES))
def test_another_account_is_refused_and_changes_nothing(world, cast, what):
    url, payload = CASES[what](cast)
    before = snapshot(world, cast)
    run_case(world, lambda w: w.signed(cast["b"], url, payload), "unauthorized", 403, [])
    world.app.workers.wait_idle(timeout=10)
    assert snapshot(world, cast) == before


def test_key_change_naming_another_account_is_refused(world, cast):
    a, b = cast["a"], cast["b"]
    url = world.directory["keyChange"]
    new = ec.generate_private_key(ec.SECP256R1())
    inner = sign(new, url, {"account": a.kid, "oldKey": jwk_for(a.key).public_key()
                            .to_partial_json()}, nonce=OMIT, protected={"nonce": OMIT})
    run_case(world, lambda w: w.signed(b, url, inner), "unauthorized", 403, ["another account"])
    assert world.signed(a, a.kid, None).status_code == 200  # A's key still works
    assert world.post(url, None, new, kid=a.kid).status_code != 200


def test_b_cannot_sign_as_a(world, cast):
    """Naming A's account in 'kid' needs A's key."""
    a, b = cast["a"], cast["b"]
    run_case(world, lambda w: w.post(cast["pending_url"], None, b.key, kid=a.kid),
             "malformed", 400, ["does not verify with the account key"])


def test_b_without_authorizations_cannot_revoke(world, cast):
    payload = {"certificate": b64(cast["issued"].cert_der)}
    run_case(world, lambda w: w.signed(cast["b"], w.directory["revokeCert"], payload),
             "unauthorized", 403, ["issued.a.test"])
    with world.app.store.lock:
        assert all(c.revoked_at is None for c in world.app.store.certificates.values())


def test_b_with_valid_authorizations_for_every_name_may_revoke(world, cast):
    b = cast["b"]
    world.ready_order(b, "issued.a.test")  # B proves control of the name itself
    payload = {"certificate": b64(cast["issued"].cert_der), "reason": 1}
    assert world.signed(b, world.directory["revokeCert"], payload).status_code == 200
    world.check_invariants()


def test_orders_for_the_same_name_get_their_own_authorizations(world, cast):
    """A's valid authorization is never handed to B."""
    a, b = cast["a"], cast["b"]
    _, mine = world.ready_order(a, "shared.test")
    _, theirs = world.order(b, "shared.test")
    assert theirs["status"] == "pending"
    assert set(mine["authorizations"]).isdisjoint(theirs["authorizations"])
    orders_of_b = world.signed(b, b.kid + "/orders", None).get_json()["orders"]
    assert all(url not in orders_of_b for url in (cast["pending_url"], cast["ready_url"]))


def test_isolation_over_https_with_a_real_client(acme_server):
    """The same refusal through the threaded HTTPS server and certbot's library."""
    from acme import messages

    from helpers import account_client, post

    a, b = account_client(acme_server), account_client(acme_server)
    order = a.new_order(make_csr(["https-a.test"]))
    for url in (order.uri, order.authorizations[0].uri, a.net.account.uri + "/orders",
                a.net.account.uri):
        with pytest.raises(messages.Error) as info:
            post(b, url, None)
        assert info.value.typ == "urn:ietf:params:acme:error:unauthorized", url
    assert post(a, order.uri, None).json()["status"] == "pending"
