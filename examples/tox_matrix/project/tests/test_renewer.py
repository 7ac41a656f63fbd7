"""The client project's tests: plain pytest-acme fixtures, with the server
settings of ``tox.ini``'s ``[pytest] acme_config``."""

import pytest
import renewer
from acme import errors
from cryptography import x509


def test_renewer_gets_a_certificate(acme_server, acme_dns):
    chain = renewer.obtain(acme_server.directory_url, acme_server.ca_bundle,
                           ["tox.example.test"], acme_dns.set_txt, wait=acme_server.wait_idle)
    leaf = x509.load_pem_x509_certificates(chain.encode())[0]
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["tox.example.test"]


def test_the_server_has_tox_ini_settings(acme_server):
    assert acme_server.config.finalize == "async"
    assert acme_server.config.order_expiry == 300


def test_renewer_reports_a_missing_txt_record(acme_server):
    with pytest.raises(errors.ValidationError) as excinfo:
        renewer.obtain(acme_server.directory_url, acme_server.ca_bundle,
                       ["no-txt.example.test"], lambda name, value: None,
                       wait=acme_server.wait_idle)
    (authz,) = excinfo.value.failed_authzrs
    (challenge,) = [c for c in authz.body.challenges if c.error is not None]
    assert challenge.error.code == "unauthorized"
    assert "no TXT record found at _acme-challenge.no-txt.example.test" in challenge.error.detail
