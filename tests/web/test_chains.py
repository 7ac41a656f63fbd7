"""Chains: configurable length and alternate roots (Pebble's PEBBLE_CHAIN_LENGTH and
PEBBLE_ALTERNATE_ROOTS), ``Link: rel="alternate"`` chains, the management API's
/roots/N, /intermediates/N and /intermediate-keys/N."""

from __future__ import annotations

import datetime as dt

import pytest
from acme import messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from werkzeug.test import Client

from helpers import (
    account_client,
    answer_all,
    deadline,
    issue_leaf,
    links,
    make_csr,
    new_order,
    obtain,
    split_chain,
)
from pytest_acme import AcmeConfig, AcmeServer
from pytest_acme.standalone.management import make_management_app

pytestmark = pytest.mark.acme(validation="always_valid")


def verify(chain, root_pem: bytes, name: str):
    """The path cryptography's X.509 verifier builds from ``chain`` to ``root_pem``."""
    verifier = (PolicyBuilder().store(Store(x509.load_pem_x509_certificates(root_pem)))
                .time(dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5))
                .build_server_verifier(x509.DNSName(name)))
    return verifier.verify(chain[0], chain[1:])


def test_default_chain_is_one_intermediate_without_alternates(acme_server):
    acme = account_client(acme_server)
    response = obtain(acme_server, acme, new_order(acme, ["one.example.test"]))
    chain = split_chain(response.content)
    assert len(chain) == 2 and links(response, "alternate") == []
    path = verify(chain, acme_server.roots_pem, "one.example.test")
    assert path[-1] == x509.load_pem_x509_certificate(acme_server.roots_pem)
    assert acme_server.chain_roots_pem == [acme_server.roots_pem]


@pytest.mark.acme(chain_length=3)
def test_chain_length_three(acme_server):
    acme = account_client(acme_server)
    chain = split_chain(obtain(acme_server, acme, new_order(acme, ["three.example.test"])).content)
    assert len(chain) == 4  # leaf + 3 intermediates; the root is not sent
    path = verify(chain, acme_server.roots_pem, "three.example.test")
    assert len(path) == 5
    assert [c.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length
            for c in chain[1:]] == [0, 1, 2]
    assert acme_server.intermediates_pem == b"".join(
        c.public_bytes(serialization.Encoding.PEM) for c in chain[1:])


@pytest.mark.acme(alternate_roots=2)
def test_alternate_chains_are_linked_and_verify_to_their_own_roots(acme_server):
    acme = account_client(acme_server)
    response = obtain(acme_server, acme, new_order(acme, ["alt.example.test"]))
    default = split_chain(response.content)
    urls = links(response, "alternate")
    assert len(urls) == 2 and len(set(urls)) == 2
    roots = acme_server.chain_roots_pem
    assert len(roots) == 3 and roots[0] == acme_server.roots_pem
    verify(default, roots[0], "alt.example.test")
    for n, url in enumerate(urls, start=1):
        alt_response = acme.net.post(url, None)
        assert alt_response.headers["Content-Type"] == "application/pem-certificate-chain"
        chain = split_chain(alt_response.content)
        assert chain[0] == default[0]  # the same leaf
        assert chain[1] != default[1] and chain[1].subject == default[1].subject
        assert verify(chain, roots[n], "alt.example.test")[-1] == \
            x509.load_pem_x509_certificate(roots[n])
        with pytest.raises(VerificationError):
            verify(chain, roots[0], "alt.example.test")  # trusting the default root only
        # Each chain links the others, the default one included.
        assert set(links(alt_response, "alternate")) == \
            {u for u in urls if u != url} | {response.url}


@pytest.mark.acme(alternate_roots=1, chain_length=2, finalize="async")
def test_the_acme_library_fetches_alternative_chains(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["lib.example.test"]))
    answer_all(acme, order)
    acme_server.wait_idle()
    order = acme.finalize_order(acme.poll_authorizations(order, deadline()), deadline(),
                                fetch_alternative_chains=True)
    (alternative,) = order.alternative_fullchains_pem
    default, alt = split_chain(order.fullchain_pem), split_chain(alternative)
    assert len(default) == len(alt) == 3
    verify(default, acme_server.chain_roots_pem[0], "lib.example.test")
    verify(alt, acme_server.chain_roots_pem[1], "lib.example.test")


@pytest.mark.acme(alternate_roots=1)
def test_alternate_chains_belong_to_the_account(acme_server):
    acme = account_client(acme_server)
    url = links(obtain(acme_server, acme, new_order(acme, ["own.example.test"])), "alternate")[0]
    with pytest.raises(messages.Error) as err:
        account_client(acme_server).net.post(url, None)
    assert err.value.code == "unauthorized"
    with pytest.raises(messages.Error) as err:
        acme.net.post(url.rsplit("/", 1)[0] + "/2", None)
    assert err.value.code == "malformed" and "no alternate chain 2" in err.value.detail


@pytest.mark.acme(alternate_roots=2, chain_length=2)
def test_management_api_serves_every_chains_root_and_intermediate(acme_server):
    leaf = issue_leaf(acme_server, account_client(acme_server), ["m.example.test"])
    mgmt = Client(make_management_app(acme_server))
    keys = set()
    for n in range(3):
        root = mgmt.get(f"/roots/{n}")
        assert root.data == acme_server.chain_roots_pem[n]
        assert len(root.headers.getlist("Link")) == 2  # the other two roots
        inter = x509.load_pem_x509_certificate(mgmt.get(f"/intermediates/{n}").data)
        leaf.verify_directly_issued_by(inter)  # the issuing intermediate of chain n
        key = serialization.load_pem_private_key(mgmt.get(f"/intermediate-keys/{n}").data, None)
        keys.add(key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo))
        assert mgmt.get(f"/root-keys/{n}").status_code == 200
    assert len(keys) == 1  # one issuing key, as in Pebble
    missing = mgmt.get("/roots/3")
    assert missing.status_code == 404 and "alternate_roots" in missing.get_json()["error"]


def test_chain_settings_are_checked_and_need_a_new_server(acme_server):
    with pytest.raises(ValueError, match="chain_length"):
        AcmeConfig(chain_length=0)
    with pytest.raises(ValueError, match="alternate_roots"):
        AcmeConfig(alternate_roots=-1)
    with pytest.raises(ValueError, match="cannot change on a running server"):
        acme_server.reconfigure(alternate_roots=1)


def test_extra_keys_only_when_configured():
    plain = AcmeServer(dns_port=None)
    assert len(plain.app.ca.chains) == 1 and len(plain.app.ca.chain) == 1
    longer = AcmeServer(dns_port=None, chain_length=2, alternate_roots=1)
    names = {c.root.cert.subject for c in longer.app.ca.chains}
    assert len(names) == 2
