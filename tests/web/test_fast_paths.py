"""The hot path's shortcuts give exactly what the slower general code gives."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import random

import josepy
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from werkzeug.sansio.utils import get_current_url
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from pytest_acme.ca import CertificateAuthority
from pytest_acme.protocol import lifecycle
from pytest_acme.protocol.identifiers import Identifier
from pytest_acme.protocol.resources import CHALLENGE_TYPES, Account, rfc3339
from pytest_acme.store import Store
from pytest_acme.web.certs import crl_url
from pytest_acme.web.exchange import request_url
from pytest_acme.web.render import pretty_json
from pytest_acme.web.routes import RULES, Urls


@pytest.mark.parametrize("value", [
    {"status": "valid", "identifiers": [{"type": "dns", "value": "a.test"}], "n": 3,
     "wildcard": False, "error": None, "ratio": 0.5, "empty": {}, "none": [],
     "é": "ü\n\"\\", "nested": {"list": [[1, [2]], {}]}},
    {1: "int key", "x": {2: [3]}},  # non-string keys take json's own path
    [], {}, "text", 7, None, True, (1, "two"),
])
def test_pretty_json_is_json_dumps_indent_2(value):
    assert pretty_json(value) == json.dumps(value, indent=2)


@pytest.mark.parametrize("path, query", [
    ("/acme/order/AbC_d-9", ""), ("/acme/acct/x/orders", "cursor=2"), ("/", ""),
    ("/directory", "a=1&b=2"),
])
@pytest.mark.parametrize("base_url", ["https://127.0.0.1:14000/", "https://LocalHost:8443/",
                                      "http://xn--bcher-kva.example/mounted/"])
def test_request_url_shortcut_matches_werkzeug(path, query, base_url):
    environ = EnvironBuilder(path=path, query_string=query, base_url=base_url).get_environ()
    request = Request(environ)
    # The prefix as AcmeApp computes it once per host.
    base = get_current_url(request.scheme, request.host, request.root_path, "")
    assert request_url(environ, base) == request.url


@pytest.mark.parametrize("path", ["/acme/order/a%20b", "/acme/ä", "/x y"])
def test_request_url_shortcut_declines_what_needs_quoting(path):
    environ = EnvironBuilder(path=path, base_url="https://127.0.0.1/").get_environ()
    assert request_url(environ, "https://127.0.0.1/") is None


@pytest.mark.parametrize("base", ["https://127.0.0.1:14000", "http://localhost/prefix"])
def test_url_templates_give_what_the_route_map_builds(base):
    scheme, _, rest = base.partition("://")
    host, _, prefix = rest.partition("/")
    adapter = RULES.bind(host, script_name="/" + prefix, url_scheme=scheme)
    urls = Urls(adapter)
    for rule in RULES.iter_rules():
        values = {name: "Id_1-x" for name in rule.arguments}
        try:
            adapter.build(rule.endpoint, values)
        except ValueError:  # a number converter
            values = {name: "3" if name != "id" else "Id_1-x" for name in rule.arguments}
        for _ in range(2):  # the first build makes the template, the second uses it
            assert urls.build(rule.endpoint, **values) == adapter.build(
                rule.endpoint, values, force_external=True)
    # An id that needs quoting is built by the map itself.
    assert urls.build("order", id="a b") == adapter.build("order", {"id": "a b"},
                                                          force_external=True)


# -- certificates -------------------------------------------------------------------------

UTC = dt.timezone.utc


KEYS = {
    "p256": ec.generate_private_key(ec.SECP256R1()),  # a short DER length
    "p384": ec.generate_private_key(ec.SECP384R1()),  # a one-octet long length
    "p521": ec.generate_private_key(ec.SECP521R1()),
    "rsa2048": rsa.generate_private_key(public_exponent=65537, key_size=2048),  # two octets
}


@pytest.mark.parametrize("key_type", ["ecdsa", "rsa"])
@pytest.mark.parametrize("name", ["p384", "rsa2048"])
@pytest.mark.parametrize("common_name", [True, False])
@pytest.mark.parametrize("crl_url", [None, "https://acme.test/crl/0"])
def test_issue_makes_what_the_builder_makes_one_setter_at_a_time(key_type, name, common_name,
                                                                  crl_url):
    now = dt.datetime(2030, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    ca = CertificateAuthority(key_type, random.Random(3), now)
    public_key = KEYS[name].public_key()
    idents = [Identifier("dns", "www.example.com"), Identifier("ip", "192.0.2.7")]
    leaf, _ = ca.issue(public_key, idents, now, now + dt.timedelta(days=1),
                       common_name=common_name, crl_url=crl_url)
    # The leaf as CertificateBuilder's setters make it from the extension types.
    usage = dict(digital_signature=True, content_commitment=False,
                 key_encipherment=name.startswith("rsa"), data_encipherment=False,
                 key_agreement=False, key_cert_sign=False, crl_sign=False,
                 encipher_only=False, decipher_only=False)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "www.example.com")]
                                if common_name else []))
        .issuer_name(ca.intermediate.cert.subject)
        .public_key(public_key)
        .serial_number(leaf.serial_number)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("www.example.com"), x509.IPAddress(ipaddress.ip_address("192.0.2.7"))]),
            critical=not common_name)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca.intermediate.key.public_key()), critical=False)
    )
    if crl_url:
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None,
            reasons=None, crl_issuer=None)]), critical=False)
    reference = builder.sign(ca.intermediate.key, hashes.SHA256())
    assert leaf.tbs_certificate_bytes == reference.tbs_certificate_bytes


def test_each_crl_url_gets_its_own_distribution_point():
    now = dt.datetime(2030, 1, 1, tzinfo=UTC)
    ca = CertificateAuthority("ecdsa", random.Random(3), now)
    public_key = KEYS["p256"].public_key()
    for url in ["https://a.test/crl/0", "https://b.test:8443/crl/0", "https://a.test/crl/0"]:
        leaf, _ = ca.issue(public_key, [Identifier("dns", "a.test")], now,
                           now + dt.timedelta(days=1), crl_url=url)
        points = leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        assert [n.value for p in points for n in p.full_name] == [url]


def test_crl_url_is_what_the_route_map_builds_for_each_host():
    a, b = Urls.for_base("https://a.test"), Urls.for_base("https://b.test:8443/prefix")
    for urls in (a, b, b, a, a, b):
        assert crl_url(urls) == urls.build("crl", index="0")


# -- timestamps and JSON views ------------------------------------------------------------

T0 = dt.datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("when", [
    dt.datetime(2026, 4, 11, 12, 0, 0, tzinfo=UTC),
    dt.datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    dt.datetime(2026, 1, 1, 0, 30, 0, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    dt.datetime(2026, 1, 1, 3, 0, 0, tzinfo=dt.timezone(dt.timedelta(0))),
    dt.datetime(1000, 1, 1, tzinfo=UTC),
    dt.datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),  # strftime does not pad the year
    dt.datetime(5, 6, 7, 8, 9, 10, tzinfo=UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
])
def test_rfc3339_is_strftime(when):
    assert rfc3339(when) == when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class OtherUrls:
    """Another host's URLs (as a client that reached the server by another name sees)."""

    def __init__(self, host: str) -> None:
        self.host = host

    def __getattr__(self, endpoint: str):
        return lambda id: f"https://{self.host}/{endpoint}/{id}"


@pytest.fixture
def order_and_authz():
    store = Store(random.Random(5))
    key = josepy.JWKEC(key=KEYS["p256"].public_key())
    account = Account(id=store.new_id(), jwk=key, thumbprint="t", created=T0)
    store.add_account(account)
    order = lifecycle.create_order(
        store, account, [Identifier("dns", "*.example.com")], T0,
        order_lifetime=dt.timedelta(hours=1), authz_lifetime=dt.timedelta(hours=2),
        offered=CHALLENGE_TYPES)
    return store, order, store.authz(order.authz_ids[0])


def test_order_view_follows_its_host_and_expiry(order_and_authz):
    store, order, _ = order_and_authz
    a, b = OtherUrls("a.test"), OtherUrls("b.test")
    doc = order.to_json(a, T0, store.authz)
    assert doc["expires"] == "2030-01-01T13:00:00Z"
    assert doc["finalize"] == f"https://a.test/finalize/{order.id}"
    assert doc["authorizations"] == [f"https://a.test/authz/{order.authz_ids[0]}"]
    assert order.url(a) == f"https://a.test/order/{order.id}"
    assert order.to_json(a, T0, store.authz) == doc
    assert order.to_json(a, T0, store.authz)["authorizations"] is not doc["authorizations"]
    # Another host's request gets that host's URLs, and the first host its own again.
    other = order.to_json(b, T0, store.authz)
    assert other["finalize"] == f"https://b.test/finalize/{order.id}"
    assert order.url(b) == f"https://b.test/order/{order.id}"
    assert order.to_json(a, T0, store.authz) == doc
    assert "certificate" not in doc
    # A certificate, once there, is named.
    order.certificate_id = "Cert_1"
    assert order.to_json(a, T0, store.authz)["certificate"] == "https://a.test/certificate/Cert_1"
    # A new expiry (an expire_order fault sets one) is shown, and the status follows the clock.
    order.expires = T0 + dt.timedelta(minutes=5)
    assert order.to_json(a, T0, store.authz)["expires"] == "2030-01-01T12:05:00Z"
    later = order.to_json(a, T0 + dt.timedelta(minutes=5), store.authz)
    assert later["status"] == "invalid"


def test_authz_and_challenge_views_follow_their_host_and_expiry(order_and_authz):
    store, order, authz = order_and_authz
    a, b = OtherUrls("a.test"), OtherUrls("b.test")
    doc = authz.to_json(a, T0)
    assert doc["identifier"] == {"type": "dns", "value": "example.com"}
    assert doc["wildcard"] is True
    assert doc["expires"] == "2030-01-01T14:00:00Z"
    assert [c["url"] for c in doc["challenges"]] == [
        f"https://a.test/challenge/{c.id}" for c in authz.challenges]
    persist = doc["challenges"][-1]
    assert persist["accounturi"] == f"https://a.test/account/{order.account_id}"
    other = authz.to_json(b, T0)
    assert other["challenges"][-1]["accounturi"] == f"https://b.test/account/{order.account_id}"
    assert authz.to_json(a, T0) == doc
    authz.expires = T0 + dt.timedelta(hours=3)
    assert authz.to_json(a, T0)["expires"] == "2030-01-01T15:00:00Z"
    assert authz.to_json(a, T0 + dt.timedelta(hours=3))["status"] == "expired"
    # A status change shows at once, in the authorization and in its challenge.
    chall = authz.challenges[0]
    lifecycle.start_validation(store, chall, T0, lambda *a: None)
    lifecycle.finish_validation(store, chall, None, T0, lambda *a: None)
    valid = authz.to_json(a, T0)
    assert valid["status"] == "valid"
    assert valid["challenges"][0]["status"] == "valid"
    assert valid["challenges"][0]["validated"] == "2030-01-01T12:00:00Z"
    assert order.to_json(a, T0, store.authz)["status"] == "ready"
