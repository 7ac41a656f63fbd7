"""What every reply carries, on every route: a ``Replay-Nonce`` only where Let's
Encrypt's Boulder sends one (every response but a GET's, and newNonce's), and a
``Content-Type`` only with a body.

The walk drives a real issuance with certbot's ``acme`` library, then sends each
method of each rule of the route table (and a path no rule has) over HTTPS, with
real ids, so the replies checked are the ones clients get: successes, 404s,
405s and problems alike.
"""

from __future__ import annotations

import json
from typing import Dict, List, Tuple

import pytest
import requests
from cryptography.hazmat.primitives.serialization import Encoding

from helpers import account_client, answer_all, challenge, deadline, make_csr, split_chain
from jws_client import b64, sign
from pytest_acme.protocol.ari import cert_id_of
from pytest_acme.web.nonces import sends_nonce
from pytest_acme.web.routes import RULES

pytestmark = pytest.mark.acme(validation="always_valid", alternate_roots=1)


def _issued(server):
    """An account (certbot's client), its valid order and the objects it made."""
    acme = account_client(server)
    order = acme.new_order(make_csr(["walk.example.test"]))
    answer_all(acme, order)
    server.wait_idle()
    order = acme.finalize_order(acme.poll_authorizations(order, deadline()), deadline())
    return acme, order


def _ids(server, acme, order) -> Dict[str, Dict[str, object]]:
    """Route arguments naming real objects, by endpoint."""
    account = acme.net.account.uri.rsplit("/", 1)[-1]
    order_id = order.uri.rsplit("/", 1)[-1]
    authz = order.authorizations[0]
    authz_id = authz.uri.rsplit("/", 1)[-1]
    chall_id = challenge(authz).uri.rsplit("/", 1)[-1]
    cert_id = order.body.certificate.rsplit("/", 1)[-1]
    leaf = split_chain(order.fullchain_pem)[0]
    return {
        "account": {"id": account}, "account_orders": {"id": account},
        "order": {"id": order_id}, "finalize": {"id": order_id},
        "authz": {"id": authz_id}, "challenge": {"id": chall_id},
        "certificate": {"id": cert_id}, "certificate_alternate": {"id": cert_id, "n": 1},
        "renewal_info": {"cert_id": cert_id_of(leaf)}, "crl": {"index": "0"},
    }


def _send(server, acme, method: str, url: str) -> requests.Response:
    """``method`` on ``url``; a POST is a POST-as-GET signed by the account."""
    if method != "POST":
        return requests.request(method, url, verify=server.ca_bundle, timeout=10)
    nonce = requests.head(acme.directory["newNonce"], verify=server.ca_bundle,
                          timeout=10).headers["Replay-Nonce"]
    jws = sign(acme.account_private_key, url, None, nonce=nonce, kid=acme.net.account.uri)
    return requests.post(url, data=json.dumps(jws), verify=server.ca_bundle, timeout=10,
                         headers={"Content-Type": "application/jose+json"})


def _check(response: requests.Response, method: str, endpoint) -> None:
    where = f"{method} {response.url} -> {response.status_code}"
    length = int(response.headers.get("Content-Length", "0"))
    # A HEAD reply states its GET's length: the type follows the content, not the method.
    assert ("Content-Type" in response.headers) == (length > 0), where
    if method != "HEAD":
        assert len(response.content) == length, where
    # The OCSP responder is no part of the ACME API (Let's Encrypt ran it apart).
    assert ("Replay-Nonce" in response.headers) == (
        (method != "GET" or endpoint == "new_nonce") and endpoint != "ocsp"), where
    assert response.status_code < 500, where


def test_every_route_and_method(acme_server):
    acme, order = _issued(acme_server)
    ids = _ids(acme_server, acme, order)
    seen: List[Tuple[str, str, int]] = []
    for rule in RULES.iter_rules():
        url = acme_server.urls.build(rule.endpoint, **ids.get(rule.endpoint, {}))
        for method in sorted(rule.methods | {"GET", "POST"}):  # 405s are replies too
            response = _send(acme_server, acme, method, url)
            _check(response, method, rule.endpoint)
            seen.append((rule.endpoint, method, response.status_code))
    for method in ("GET", "HEAD", "POST"):
        _check(_send(acme_server, acme, method, acme_server.urls.base + "/nothing-here"),
               method, None)
    # The walk met successes, refusals and empty replies, not only errors.
    assert ("new_nonce", "HEAD", 200) in seen and ("new_nonce", "GET", 204) in seen
    assert ("directory", "GET", 200) in seen and ("crl", "GET", 200) in seen
    assert ("renewal_info", "GET", 200) in seen and ("authz", "POST", 200) in seen
    assert ("order", "GET", 405) in seen and ("new_order", "GET", 405) in seen
    acme_server.check()


def test_the_directory_has_no_nonce_and_new_nonce_has_no_type(acme_server):
    bundle = acme_server.ca_bundle
    directory = requests.get(acme_server.directory_url, verify=bundle, timeout=10)
    assert directory.status_code == 200 and "Replay-Nonce" not in directory.headers
    assert directory.headers["Content-Type"] == "application/json"
    pebble_path = requests.get(acme_server.urls.base + "/dir", verify=bundle, timeout=10)
    assert "Replay-Nonce" not in pebble_path.headers
    head = requests.head(directory.json()["newNonce"], verify=bundle, timeout=10)
    assert head.status_code == 200 and head.headers["Replay-Nonce"]
    assert head.headers["Content-Length"] == "0" and "Content-Type" not in head.headers
    get = requests.get(directory.json()["newNonce"], verify=bundle, timeout=10)
    assert get.status_code == 204 and get.headers["Replay-Nonce"]
    assert "Content-Type" not in get.headers


def test_a_revocation_is_an_empty_reply_without_a_type(acme_server):
    acme, order = _issued(acme_server)
    leaf = split_chain(order.fullchain_pem)[0]
    url = acme.directory["revokeCert"]
    nonce = requests.head(acme.directory["newNonce"], verify=acme_server.ca_bundle,
                          timeout=10).headers["Replay-Nonce"]
    jws = sign(acme.account_private_key, url, {"certificate": b64(leaf.public_bytes(
        Encoding.DER))}, nonce=nonce, kid=acme.net.account.uri)
    response = requests.post(url, data=json.dumps(jws), verify=acme_server.ca_bundle,
                             timeout=10, headers={"Content-Type": "application/jose+json"})
    assert response.status_code == 200 and response.content == b""
    assert "Content-Type" not in response.headers
    assert response.headers["Replay-Nonce"]  # RFC 8555 §6.5: every POST's reply


def test_a_problem_to_a_post_has_a_nonce_and_to_a_get_none(acme_server):
    bundle = acme_server.ca_bundle
    url = acme_server.urls.order("nothing")
    refused = requests.post(url, data="{}", verify=bundle, timeout=10,
                            headers={"Content-Type": "application/jose+json"})
    assert refused.status_code == 400 and refused.headers["Replay-Nonce"]
    assert refused.headers["Content-Type"] == "application/problem+json"
    not_allowed = requests.get(url, verify=bundle, timeout=10)
    assert not_allowed.status_code == 405 and "Replay-Nonce" not in not_allowed.headers
    assert not_allowed.headers["Content-Type"] == "application/problem+json"


def test_omit_nonce_counts_only_replies_that_would_carry_one(acme_server):
    fault = acme_server.faults.omit_nonce(None)
    requests.get(acme_server.directory_url, verify=acme_server.ca_bundle, timeout=10)
    assert fault.fired == 0
    head = requests.head(acme_server.urls.build("new_nonce"), verify=acme_server.ca_bundle,
                         timeout=10)
    assert "Replay-Nonce" not in head.headers and fault.fired == 1


@pytest.mark.parametrize("method, endpoint, boulder, pebble", [
    ("GET", "directory", False, False),
    ("GET", None, False, False),            # 404: no route
    ("GET", "new_nonce", True, True),
    ("HEAD", "new_nonce", True, True),
    ("HEAD", "directory", True, False),     # Boulder: anything but GET
    ("POST", "new_order", True, True),
    ("POST", None, True, True),
])
def test_the_rules_of_boulder_and_pebble(method, endpoint, boulder, pebble):
    assert sends_nonce(method, endpoint) is boulder
    assert sends_nonce(method, endpoint, pebble=True) is pebble


@pytest.mark.acme(pebble=True)
def test_as_pebble_a_head_of_the_directory_has_no_nonce(acme_server):
    head = requests.head(acme_server.directory_url, verify=acme_server.ca_bundle, timeout=10)
    assert head.status_code == 200 and "Replay-Nonce" not in head.headers
    post = requests.post(acme_server.urls.build("new_order"), data="{}", timeout=10,
                         verify=acme_server.ca_bundle,
                         headers={"Content-Type": "application/jose+json"})
    assert post.headers["Replay-Nonce"]
