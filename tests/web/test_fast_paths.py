"""The hot path's shortcuts give exactly what the slower general code gives."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from werkzeug.sansio.utils import get_current_url
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from pytest_acme.ca import CertificateAuthority, subject_key_identifier
from pytest_acme.protocol.csr import spki
from pytest_acme.protocol.identifiers import Identifier
from pytest_acme.web.app import _pretty_json, _request_url
from pytest_acme.web.routes import RULES, Urls


@pytest.mark.parametrize("value", [
    {"status": "valid", "identifiers": [{"type": "dns", "value": "a.test"}], "n": 3,
     "wildcard": False, "error": None, "ratio": 0.5, "empty": {}, "none": [],
     "é": "ü\n\"\\", "nested": {"list": [[1, [2]], {}]}},
    {1: "int key", "x": {2: [3]}},  # non-string keys take json's own path
    [], {}, "text", 7, None, True, (1, "two"),
])
def test_pretty_json_is_json_dumps_indent_2(value):
    assert _pretty_json(value) == json.dumps(value, indent=2)


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
    assert _request_url(environ, base) == request.url


@pytest.mark.parametrize("path", ["/acme/order/a%20b", "/acme/ä", "/x y"])
def test_request_url_shortcut_declines_what_needs_quoting(path):
    environ = EnvironBuilder(path=path, base_url="https://127.0.0.1/").get_environ()
    assert _request_url(environ, "https://127.0.0.1/") is None


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


@pytest.mark.parametrize("name", sorted(KEYS))
def test_subject_key_identifier_is_cryptographys(name):
    public_key = KEYS[name].public_key()
    assert subject_key_identifier(spki(public_key)) == \
        x509.SubjectKeyIdentifier.from_public_key(public_key)


@pytest.mark.parametrize("key_type", ["ecdsa", "rsa"])
@pytest.mark.parametrize("name", ["p256", "rsa2048"])
@pytest.mark.parametrize("crl_url", [None, "https://acme.test/crl/0"])
def test_issue_with_the_keys_encoding_is_issue_without(key_type, name, crl_url):
    now = dt.datetime(2030, 1, 1, tzinfo=UTC)
    ca = CertificateAuthority(key_type, random.Random(3), now)
    public_key = KEYS[name].public_key()
    idents = [Identifier("dns", "www.example.com"), Identifier("ip", "192.0.2.7")]
    state = ca._rng.getstate()  # the same serial for both
    plain, _ = ca.issue(public_key, idents, now, now + dt.timedelta(days=1), crl_url=crl_url)
    ca._rng.setstate(state)
    given, chain = ca.issue(public_key, idents, now, now + dt.timedelta(days=1),
                            crl_url=crl_url, spki=spki(public_key))
    assert given.tbs_certificate_bytes == plain.tbs_certificate_bytes
    assert chain.startswith(given.public_bytes(serialization.Encoding.PEM))


def test_each_crl_url_gets_its_own_distribution_point():
    now = dt.datetime(2030, 1, 1, tzinfo=UTC)
    ca = CertificateAuthority("ecdsa", random.Random(3), now)
    public_key = KEYS["p256"].public_key()
    for url in ["https://a.test/crl/0", "https://b.test:8443/crl/0", "https://a.test/crl/0"]:
        leaf, _ = ca.issue(public_key, [Identifier("dns", "a.test")], now,
                           now + dt.timedelta(days=1), crl_url=url)
        points = leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        assert [n.value for p in points for n in p.full_name] == [url]
