"""``max_orders``: a long-running server forgets its oldest finished orders, so
its memory stays bounded; orders a client may still use are never forgotten."""

from __future__ import annotations

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from helpers import account_client, issue_leaf, new_order, post, post_unchecked
from jws_client import b64
from pytest_acme import AcmeConfig

pytestmark = pytest.mark.acme(validation="always_valid")


def names(server):
    return [o.identifiers[0].value for o in server.orders()]


@pytest.mark.acme(max_orders=3)
def test_the_oldest_finished_orders_go_first(acme_server):
    acme = account_client(acme_server)
    issued = [issue_leaf(acme_server, acme, [f"n{i}.example.test"]) for i in range(3)]
    first = acme_server.orders()[0]
    pending = new_order(acme, ["pending.example.test"])    # the fourth order
    assert names(acme_server) == ["n1.example.test", "n2.example.test", "pending.example.test"]
    assert acme_server.logs()["orders"] == {"kept": 3, "limit": 3, "dropped": 1}
    # The forgotten order and its authorization are gone for the client too.
    for url in (first.url, first.authorizations[0].url):
        response = post_unchecked(acme, url, None)
        assert response.status_code == 404, response.text
        assert response.json()["type"] == "urn:ietf:params:acme:error:malformed"
    # So is its certificate: its serial is unknown now, the next one's is not.
    store = acme_server.app.store
    assert issued[0].serial_number not in store.certificates_by_serial
    assert issued[1].serial_number in store.certificates_by_serial
    # The account's order list names only what is kept.
    orders_url = post_unchecked(acme, acme.net.account.uri, None).json()["orders"]
    listed = post_unchecked(acme, orders_url, None).json()["orders"]
    assert first.url not in listed and pending.uri in listed


@pytest.mark.acme(max_orders=2)
def test_unfinished_orders_are_never_forgotten(acme_server):
    acme = account_client(acme_server)
    orders = [new_order(acme, [f"p{i}.example.test"]) for i in range(4)]  # all pending
    assert len(acme_server.orders()) == 4
    assert acme_server.logs()["orders"]["dropped"] == 0
    for order in orders:
        assert post_unchecked(acme, order.uri, None).json()["status"] == "pending"
    acme_server.clock.advance(acme_server.app.config.order_expiry + 1)  # now they are expired
    new_order(acme, ["later.example.test"])
    assert names(acme_server) == ["p3.example.test", "later.example.test"]


@pytest.mark.acme(max_orders=1)
def test_a_revoked_certificate_stays_on_the_crl(acme_server):
    acme = account_client(acme_server)
    leaf = issue_leaf(acme_server, acme, ["revoked.example.test"])
    der = b64(leaf.public_bytes(Encoding.DER))
    post(acme, acme.directory["revokeCert"], {"certificate": der, "reason": 1})
    later = issue_leaf(acme_server, acme, ["next.example.test"])
    assert names(acme_server) == ["next.example.test"]
    points = later.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    url = points[0].full_name[0].value
    crl = x509.load_der_x509_crl(requests.get(url, verify=acme_server.ca_bundle,
                                              timeout=10).content)
    assert crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None


@pytest.mark.acme(max_orders=1, authz_reuse_valid="always")
def test_an_authorization_a_kept_order_uses_stays(acme_server):
    acme = account_client(acme_server)
    issue_leaf(acme_server, acme, ["shared.example.test"])
    second = new_order(acme, ["shared.example.test"])      # reuses the valid authorization
    assert names(acme_server) == ["shared.example.test"]   # the first order went
    assert post_unchecked(acme, second.uri, None).json()["status"] == "ready"
    authz = post_unchecked(acme, second.body.authorizations[0], None)
    assert authz.status_code == 200 and authz.json()["status"] == "valid"


def test_max_orders_must_be_positive_or_none():
    with pytest.raises(ValueError, match="max_orders"):
        AcmeConfig(max_orders=0)
    assert AcmeConfig(max_orders=None).max_orders is None
    assert AcmeConfig().max_orders == 2000


@pytest.mark.acme(max_orders=None)
def test_none_keeps_every_order(acme_server):
    acme = account_client(acme_server)
    for i in range(4):
        issue_leaf(acme_server, acme, [f"k{i}.example.test"])
    assert len(acme_server.orders()) == 4
    assert acme_server.logs()["orders"] == {"kept": 4, "limit": 0, "dropped": 0}


@pytest.mark.parametrize("argv, expected", [([], 2000), (["--max-orders", "50"], 50),
                                            (["--max-orders", "none"], None)])
def test_serve_flag(argv, expected):
    from pytest_acme.cli import _parser, plan

    settings = plan(_parser().parse_args(["serve", *argv]), {})["settings"]
    assert AcmeConfig(**settings).max_orders == expected
