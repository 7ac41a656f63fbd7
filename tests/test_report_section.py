"""The "ACME server" section a failed test's report gets (plugin.py,
``pytest_runtest_makereport``), run through ``pytester``."""

from __future__ import annotations

import re
import textwrap

# Imported once here for the generated modules (see tests/test_plugin.py).
import acme.client  # noqa: F401
import pytest
import requests  # noqa: F401

CLIENT = '''
from pathlib import Path

import josepy
import pytest
from acme import client, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def new_order(server, name):
    """Register an account and create an order for ``name``; return the order URL."""
    net = client.ClientNetwork(josepy.JWKEC(key=ec.generate_private_key(ec.SECP256R1())),
                               alg=josepy.ES256, user_agent="t",
                               verify_ssl=server.ca_bundle or True)
    acme = client.ClientV2(client.ClientV2.get_directory(server.directory_url, net), net)
    acme.new_account(messages.NewRegistration(terms_of_service_agreed=True))
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
           .sign(key, hashes.SHA256()))
    order = acme.new_order(csr.public_bytes(serialization.Encoding.PEM))
    Path(name + ".url").write_text(order.uri)
    return order.uri
'''

SECTION = re.compile(r"^-+ ACME server -+$", re.M)


def module(body: str) -> str:
    return CLIENT + "\n" + textwrap.dedent(body)


def failure_blocks(output: str) -> dict:
    """The text of each failure/error block of the summary, by its title line."""
    parts = re.split(r"^_{3,} (.+?) _{3,}$", output, flags=re.M)
    return {title: text for title, text in zip(parts[1::2], parts[2::2])}


def test_failed_test_gets_the_server_section(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(module('''
        def test_fails(acme_server):
            new_order(acme_server, "fails.example.test")
            assert False, "the client under test did something wrong"

        def test_passes(acme_server):
            new_order(acme_server, "passes.example.test")

        def test_without_server():
            assert False
    '''))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    output = result.stdout.str()
    assert len(SECTION.findall(output)) == 1, output
    blocks = failure_blocks(output)
    assert set(blocks) == {"test_fails", "test_without_server"}, list(blocks)
    assert "ACME server" not in blocks["test_without_server"]

    text = blocks["test_fails"]
    section = text[SECTION.search(text).end():]
    order_url = (pytester.path / "fails.example.test.url").read_text()
    directory = order_url.split("/acme/")[0] + "/directory"
    assert re.search(rf"^Directory: +{re.escape(directory)}$", section, re.M)
    assert re.search(r"^Seed: +\d+ \(replay with --acme-seed=\d+\)$", section, re.M)
    assert f"Order:        {order_url}" in section
    assert "State:        pending" in section
    assert "Identifiers:  dns:fails.example.test" in section
    assert re.search(r"^  Normal +Created +\d+s +pytest-acme +order created for "
                     r"fails\.example\.test$", section, re.M)
    # only this test's orders: the server is reset between tests
    assert "passes.example.test" not in section
    assert re.search(r"^Requests:$", section, re.M)
    assert re.search(r"^  Time +Age +Method +Path +Status +Account +Problem$", section, re.M)
    assert re.search(r" POST +/acme/new-order +201 ", section, re.M)


def test_section_without_orders_setup_errors_and_own_servers(pytester: pytest.Pytester) -> None:
    """No orders: says so.  A fixture on top of ``acme_server`` that fails (setup
    error) and a test with a server of its own (a restart setting) get it too."""
    pytester.makepyfile(module('''
        @pytest.fixture
        def broken(acme_server):
            new_order(acme_server, "setup.example.test")
            raise RuntimeError("fixture failed")

        def test_no_orders(acme_server):
            assert False

        def test_setup_error(broken):
            pass

        @pytest.mark.acme(tls=False)
        def test_own_server(acme_server):
            new_order(acme_server, "own.example.test")
            assert False
    '''))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2, errors=1)
    blocks = failure_blocks(result.stdout.str())
    assert len(blocks) == 3, list(blocks)
    for title, text in blocks.items():
        assert SECTION.search(text), title
    [no_orders] = [t for k, t in blocks.items() if "test_no_orders" in k]
    assert "No orders on the server." in no_orders
    [setup] = [t for k, t in blocks.items() if "test_setup_error" in k]
    assert "Identifiers:  dns:setup.example.test" in setup
    [own] = [t for k, t in blocks.items() if "test_own_server" in k]
    assert re.search(r"^Directory: +http://", own, re.M)  # the test's plain-HTTP server
    order_url = (pytester.path / "own.example.test.url").read_text()
    assert f"Order:        {order_url}" in own
