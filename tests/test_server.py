"""AcmeServer as a running thing: start, stop, bind errors, HTTP(S), reset, check,
and many clients at once."""

from __future__ import annotations

import socket
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from acme import messages

from helpers import account_client, answer_all, deadline, ec_key, make_csr, sans, split_chain, verify_chain
from pytest_acme import AcmeServer, AcmeServerError, ServerStartError
from pytest_acme.listeners import spare_port

# Challenges pass without responders here; tests/va covers real validation.
pytestmark = pytest.mark.acme(validation="always_valid")



def test_context_manager_serves_https_with_a_bundle_clients_can_trust():
    with AcmeServer() as server:
        assert server.running
        assert server.directory_url == f"https://127.0.0.1:{server.port}/directory"
        response = requests.get(server.directory_url, verify=server.ca_bundle, timeout=5)
        assert response.status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(server.directory_url, timeout=5)  # not trusted by default
        bundle = server.ca_bundle
    assert not server.running
    import os
    assert not os.path.exists(bundle), "temporary files are removed on stop"


def test_localhost_name_works_too():
    with AcmeServer() as server:
        url = server.directory_url.replace("127.0.0.1", "localhost")
        directory = requests.get(url, verify=server.ca_bundle, timeout=5).json()
        assert directory["newOrder"].startswith(f"https://localhost:{server.port}/")


def test_plain_http_option():
    with AcmeServer(tls=False) as server:
        assert server.directory_url.startswith("http://")
        assert server.ca_bundle == ""
        assert requests.get(server.directory_url, timeout=5).json()["newNonce"]


def test_start_and_stop_methods():
    server = AcmeServer(seed=1)
    with pytest.raises(RuntimeError, match="not started"):
        server.directory_url
    server.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
        thread = server._httpd._thread
    finally:
        server.stop()
    assert thread is not None and not thread.is_alive()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{server.port}/directory", timeout=2)
    server.close()


def test_failed_bind_is_a_clear_error_not_system_exit():
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    try:
        with pytest.raises(ServerStartError, match=f"127.0.0.1:{port}.*port=0"):
            AcmeServer(port=port).start()
    finally:
        blocker.close()


def test_configured_port_is_used():
    port = spare_port()
    with AcmeServer(port=port) as server:
        assert server.port == port


def test_configuration_by_keyword_and_unknown_keywords():
    server = AcmeServer(order_expiry=60, finalize="async")
    assert (server.config.order_expiry, server.config.finalize) == (60, "async")
    with pytest.raises(TypeError, match="order_expiri.*known: host"):
        AcmeServer(order_expiri=60)
    with pytest.raises(ValueError, match="finalize must be one of"):
        AcmeServer(finalize="later")
    with pytest.raises(ValueError, match="ca_key_type"):
        AcmeServer(ca_key_type="dsa")


def test_reconfigure_refuses_socket_settings():
    server = AcmeServer()
    server.reconfigure(order_expiry=5)
    assert server.app.config.order_expiry == 5
    with pytest.raises(ValueError, match="port cannot change"):
        server.reconfigure(port=1)


def test_reset_forgets_everything_but_keeps_ca_port_and_config(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["r.example.test"]))
    roots, port = acme_server.roots_pem, acme_server.port
    acme_server.clock.advance(100)
    acme_server.reset()
    assert not acme_server.app.store.accounts and not acme_server.app.store.orders
    assert not acme_server.events and not acme_server.requests
    assert acme_server.clock.offset.total_seconds() == 0
    assert (acme_server.roots_pem, acme_server.port) == (roots, port)
    # The old account and nonces are gone; the old order URL now answers 404-style.
    with pytest.raises(messages.Error) as err:
        acme.net.post(order.uri, None)
    assert "accountDoesNotExist" in err.value.typ
    fresh = account_client(acme_server)
    assert fresh.net.account.uri != acme.net.account.uri


def test_check_reraises_server_side_exceptions_with_their_traceback(acme_server):
    class Broken:
        def validate(self, request):
            raise RuntimeError("validator exploded")

    acme_server.app.validator = Broken()
    acme = account_client(acme_server)
    answer_all(acme, acme.new_order(make_csr(["boom.example.test"])))
    acme_server.wait_idle()
    with pytest.raises(AcmeServerError, match="validator exploded") as err:
        acme_server.check()
    assert "background worker" in str(err.value)
    assert isinstance(err.value.__cause__, RuntimeError)
    acme_server.check()  # reported once


@pytest.mark.acme(ca_key_type="rsa")
def test_rsa_issuing_ca(acme_server):
    from cryptography.hazmat.primitives.asymmetric import rsa

    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["rsa.example.test"]))
    answer_all(acme, order)
    acme_server.wait_idle()
    cert_url = acme.begin_finalization(order).body.certificate
    chain = split_chain(acme.net.post(cert_url, None).content)
    assert isinstance(chain[1].public_key(), rsa.RSAPublicKey)
    verify_chain(chain, acme_server.roots_pem)


def test_tls_is_modern(acme_server):
    ctx = ssl.create_default_context(cafile=acme_server.ca_bundle)
    with socket.create_connection(("127.0.0.1", acme_server.port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_many_clients_at_once_leave_no_lost_or_crossed_objects(acme_server):
    """16 threads, each its own account, 3 full orders each, all at once."""
    threads, per_thread = 16, 3
    start = threading.Barrier(threads, timeout=30)

    def run(n):
        acme = account_client(acme_server)
        start.wait()
        results = []
        for i in range(per_thread):
            names = [f"t{n}-{i}.example.test", f"www.t{n}-{i}.example.test"]
            key = ec_key()
            order = acme.new_order(make_csr(names, key))
            answer_all(acme, order)
            order = acme.poll_authorizations(order, deadline(30))
            order = acme.begin_finalization(order)
            chain = split_chain(acme.net.post(order.body.certificate, None).content)
            results.append((acme.net.account.uri, order.uri, names, key, chain))
        return results

    with ThreadPoolExecutor(threads) as pool:
        results = [r for batch in pool.map(run, range(threads)) for r in batch]
    store = acme_server.app.store
    assert len(store.accounts) == threads
    assert len(store.orders) == len(store.certificates) == threads * per_thread
    assert len(store.authzs) == threads * per_thread * 2
    serials = set()
    for account_uri, order_uri, names, key, chain in results:
        order = store.orders[order_uri.rsplit("/", 1)[1]]
        assert account_uri.endswith("/" + order.account_id)
        assert [i.value for i in order.identifiers] == names
        assert sans(chain[0]) == set(names)
        assert chain[0].public_key().public_numbers() == key.public_key().public_numbers()
        verify_chain(chain, acme_server.roots_pem)
        serials.add(chain[0].serial_number)
    assert len(serials) == threads * per_thread
