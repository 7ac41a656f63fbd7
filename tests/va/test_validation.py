"""Real validation (``validation="real"``, the default) over real sockets:
http-01, dns-01 and tls-alpn-01, each success and each failure kind, driven by
certbot's ``acme`` library, with the problem types and details a person needs."""

from __future__ import annotations

import socket
from typing import Any, Dict, List

import josepy
import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from helpers import account_client, deadline, ec_key, make_csr, sans, split_chain, verify_chain
from jws_client import PROBLEM, b64
from pytest_acme import AcmeServer, dns01_txt
from pytest_acme.listeners import spare_port
from pytest_acme.responders import tls_alpn01_certificate
from pytest_acme.va.dnsserver import DnsServer
from pytest_acme.va.zone import Zone


class _Empty(josepy.JSONDeSerializable):
    """The ``{}`` that asks the server to validate a challenge (RFC 8555 §7.5.1)."""

    def to_partial_json(self) -> Dict[str, Any]:
        return {}

    @classmethod
    def from_json(cls, jobj: Any) -> "_Empty":
        return cls()


def challenge(acme, authz, typ: str) -> Dict[str, Any]:
    """The ``typ`` challenge of ``authz`` as JSON (certbot's library no longer
    models tls-alpn-01, so the tests read challenges as JSON)."""
    return next(c for c in read(acme, authz.uri)["challenges"] if c["type"] == typ)


def read(acme, url: str) -> Dict[str, Any]:
    return acme.net.post(url, None).json()


def key_authorization(acme, authz, typ: str) -> str:
    thumbprint = b64(acme.net.key.public_key().thumbprint())
    return f"{challenge(acme, authz, typ)['token']}.{thumbprint}"


def token(acme, authz, typ: str) -> str:
    return challenge(acme, authz, typ)["token"]


def start(acme, server: AcmeServer, authz, typ: str) -> Dict[str, Any]:
    """Answer the ``typ`` challenge of ``authz``, wait for the server, return it."""
    url = challenge(acme, authz, typ)["url"]
    acme.net.post(url, _Empty())
    server.wait_idle()
    return read(acme, url)


def finalize_and_download(acme, order, names: List[str], key) -> None:
    order = acme.poll_authorizations(order, deadline())
    order = acme.begin_finalization(order)
    chain = split_chain(acme.net.post(order.body.certificate, None).content)
    assert sans(chain[0]) == set(names)
    assert chain[0].public_key().public_numbers() == key.public_key().public_numbers()


# -- successes through the responder fixtures ---------------------------------------


def test_http01_order_through_the_responder_fixture(acme_server, acme_http01_responder):
    assert acme_http01_responder.requests == []  # emptied for every test
    acme = account_client(acme_server)
    key = ec_key()
    names = ["web.example.test", "www.web.example.test"]
    seen = len(acme_http01_responder.requests)  # the session responder keeps its log
    order = acme.new_order(make_csr(names, key))
    for authz in order.authorizations:
        acme_http01_responder.publish(token(acme, authz, "http-01"),
                                      key_authorization(acme, authz, "http-01"))
        start(acme, acme_server, authz, "http-01")
    first = challenge(acme, order.authorizations[0], "http-01")
    assert first["status"] == "valid"
    (record,) = first["validationRecord"]
    assert record["url"] == (f"http://web.example.test:{acme_http01_responder.port}"
                             f"/.well-known/acme-challenge/{first['token']}")
    assert record["hostname"] == "web.example.test"
    assert record["port"] == str(acme_http01_responder.port)
    assert record["addressesResolved"] == ["127.0.0.1"] and record["addressUsed"] == "127.0.0.1"
    hosts = {host for _m, _p, host in acme_http01_responder.requests[seen:]}
    assert hosts == {f"{n}:{acme_http01_responder.port}" for n in names}
    finalize_and_download(acme, order, names, key)


def test_dns01_wildcard_order_through_the_zone(acme_server, acme_dns):
    acme = account_client(acme_server)
    key = ec_key()
    names = ["*.wild.example.test", "wild.example.test"]
    order = acme.new_order(make_csr(names, key))
    for authz in order.authorizations:
        # Both authorizations are for wild.example.test: two TXT values at one name.
        acme_dns.set_txt("_acme-challenge.wild.example.test",
                         dns01_txt(key_authorization(acme, authz, "dns-01")))
        start(acme, acme_server, authz, "dns-01")
    assert {read(acme, a.uri)["status"] for a in order.authorizations} == {"valid"}
    finalize_and_download(acme, order, names, key)


def test_tlsalpn01_for_a_name_and_an_ip(acme_server, acme_tlsalpn01_responder):
    acme = account_client(acme_server)
    key = ec_key()
    names = ["tls.example.test", "127.0.0.1"]
    order = acme.new_order(make_csr(names, key))
    for authz in order.authorizations:
        value = authz.body.identifier.value
        acme_tlsalpn01_responder.publish(value, key_authorization(acme, authz, "tls-alpn-01"))
        chall = start(acme, acme_server, authz, "tls-alpn-01")
        assert chall["status"] == "valid", chall
        assert chall["validationRecord"][0]["addressUsed"] == "127.0.0.1"
    # The SNI of the IP identifier is its reverse-DNS name (RFC 8738 §6).
    assert ("1.0.0.127.in-addr.arpa", "acme-tls/1") in acme_tlsalpn01_responder.handshakes
    finalize_and_download(acme, order, names, key)


def test_one_failed_identifier_makes_the_order_invalid(acme_server, acme_http01_responder):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["ok.example.test", "broken.example.test"]))
    good, bad = order.authorizations
    acme_http01_responder.publish(token(acme, good, "http-01"),
                                  key_authorization(acme, good, "http-01"))
    assert start(acme, acme_server, good, "http-01")["status"] == "valid"
    failed = start(acme, acme_server, bad, "http-01")  # nothing published: 404
    assert failed["status"] == "invalid"
    body = read(acme, order.uri)
    assert body["status"] == "invalid"
    assert body["error"]["type"] == failed["error"]["type"] == PROBLEM + "unauthorized"
    assert body["error"]["detail"] == failed["error"]["detail"]
    assert "HTTP 404" in body["error"]["detail"]
    assert body["error"]["identifier"] == {"type": "dns", "value": "broken.example.test"}
    order_id = order.uri.rsplit("/", 1)[1]
    reasons = [e.reason for e in acme_server.events if order_id in e.order_ids]
    assert reasons[-1] == "OrderInvalid" and "ChallengeInvalid" in reasons


# -- http-01 failures ---------------------------------------------------------------


def http01_failure(acme_server, prepare) -> Dict[str, Any]:
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["h.example.test"]))
    (authz,) = order.authorizations
    prepare(token(acme, authz, "http-01"), key_authorization(acme, authz, "http-01"))
    chall = start(acme, acme_server, authz, "http-01")
    assert chall["status"] == "invalid"
    assert read(acme, authz.uri)["status"] == "invalid"
    return chall


def test_http01_wrong_content_is_unauthorized(acme_server, acme_http01_responder):
    chall = http01_failure(acme_server, lambda token, ka: acme_http01_responder.respond(
        token, "not-the-key-authorization"))
    assert chall["error"]["type"] == PROBLEM + "unauthorized"  # as Boulder and Pebble
    assert "expected" in chall["error"]["detail"]
    assert "'not-the-key-authorization'" in chall["error"]["detail"]


def test_http01_trailing_whitespace_is_ignored(acme_server, acme_http01_responder):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["ws.example.test"]))
    (authz,) = order.authorizations
    acme_http01_responder.respond(token(acme, authz, "http-01"),
                                  key_authorization(acme, authz, "http-01") + " \t\r\n")
    assert start(acme, acme_server, authz, "http-01")["status"] == "valid"


def test_http01_error_status_is_unauthorized(acme_server, acme_http01_responder):
    chall = http01_failure(acme_server, lambda token, ka: acme_http01_responder.respond(
        token, "server on fire", status=500))
    assert chall["error"]["type"] == PROBLEM + "unauthorized"
    assert "HTTP 500" in chall["error"]["detail"] and "server on fire" in chall["error"]["detail"]


def test_http01_follows_redirects(acme_server, acme_http01_responder):
    def prepare(token, ka):
        acme_http01_responder.redirect(token, "/.well-known/acme-challenge/moved")
        acme_http01_responder.publish("moved", ka)

    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["r.example.test"]))
    (authz,) = order.authorizations
    prepare(token(acme, authz, "http-01"), key_authorization(acme, authz, "http-01"))
    chall = start(acme, acme_server, authz, "http-01")
    assert chall["status"] == "valid"
    assert [r["url"].rsplit("/", 1)[1] for r in chall["validationRecord"]] == [
        chall["token"], "moved"]


def test_http01_redirect_loop_is_stopped(acme_server, acme_http01_responder):
    chall = http01_failure(acme_server, lambda token, ka: acme_http01_responder.redirect(
        token, "/.well-known/acme-challenge/" + token))
    assert chall["error"]["type"] == PROBLEM + "connection"
    assert "redirect loop" in chall["error"]["detail"]
    assert len(chall["validationRecord"]) == 1  # stopped before fetching it again


def test_http01_redirect_outside_loopback_is_refused(acme_server, acme_http01_responder):
    chall = http01_failure(acme_server, lambda token, ka: acme_http01_responder.redirect(
        token, "http://192.0.2.10/.well-known/acme-challenge/x"))
    assert chall["error"]["type"] == PROBLEM + "connection"
    assert "refusing to connect to 192.0.2.10" in chall["error"]["detail"]
    assert "validation_allow" in chall["error"]["detail"]


def test_http01_connection_refused(acme_server):
    acme_server.reconfigure(http01_port=spare_port())
    chall = http01_failure(acme_server, lambda token, ka: None)
    assert chall["error"]["type"] == PROBLEM + "connection"
    assert "connection refused" in chall["error"]["detail"]
    assert f"127.0.0.1:{acme_server.config.http01_port}" in chall["error"]["detail"]


@pytest.mark.acme(validation_timeout=0.3)
def test_http01_timeout(acme_server):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the TCP connection, never answers
    try:
        acme_server.reconfigure(http01_port=silent.getsockname()[1])
        chall = http01_failure(acme_server, lambda token, ka: None)
    finally:
        silent.close()
    assert chall["error"]["type"] == PROBLEM + "connection"
    assert "timed out after 0.3 s" in chall["error"]["detail"]


def test_http01_dns_servfail(acme_server, acme_http01_responder, acme_dns):
    acme_dns.set_servfail("h.example.test")
    chall = http01_failure(acme_server, acme_http01_responder.publish)
    assert chall["error"]["type"] == PROBLEM + "dns"
    assert "SERVFAIL" in chall["error"]["detail"] and "h.example.test" in chall["error"]["detail"]


def test_guard_refuses_a_name_that_resolves_outside_loopback(acme_server, acme_http01_responder,
                                                             acme_dns):
    acme_dns.add_a("h.example.test", "198.51.100.7")
    chall = http01_failure(acme_server, acme_http01_responder.publish)
    assert chall["error"]["type"] == PROBLEM + "connection"
    assert "refusing to connect to 198.51.100.7" in chall["error"]["detail"]
    assert chall["validationRecord"][0]["addressesResolved"] == ["198.51.100.7"]


def test_guard_refuses_an_ip_identifier_outside_loopback(acme_server, acme_http01_responder):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["192.0.2.1"]))
    chall = start(acme, acme_server, order.authorizations[0], "http-01")
    assert chall["error"]["type"] == PROBLEM + "connection"
    assert "refusing to connect to 192.0.2.1" in chall["error"]["detail"]


def test_cname_is_followed(acme_server, acme_http01_responder, acme_dns):
    acme_dns.set_cname("h.example.test", "target.example.test")
    acme_dns.add_a("target.example.test", "127.0.0.2")
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["h.example.test"]))
    (authz,) = order.authorizations
    acme_http01_responder.publish(token(acme, authz, "http-01"),
                                  key_authorization(acme, authz, "http-01"))
    acme_server.reconfigure(http01_port=acme_http01_responder.port)
    chall = start(acme, acme_server, authz, "http-01")
    # The responder listens on 127.0.0.1 only, so 127.0.0.2 is refused: proof the
    # CNAME's A record was used.
    assert chall["validationRecord"][0]["addressesResolved"] == ["127.0.0.2"]


# -- dns-01 failures ----------------------------------------------------------------


def dns01_result(acme_server, prepare) -> Dict[str, Any]:
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["d.example.test"]))
    (authz,) = order.authorizations
    prepare(key_authorization(acme, authz, "dns-01"))
    return start(acme, acme_server, authz, "dns-01")


def test_dns01_missing_txt_is_unauthorized(acme_server):
    chall = dns01_result(acme_server, lambda ka: None)
    assert chall["error"]["type"] == PROBLEM + "unauthorized"
    assert "no TXT record found at _acme-challenge.d.example.test" in chall["error"]["detail"]


def test_dns01_wrong_txt_is_unauthorized(acme_server, acme_dns):
    chall = dns01_result(acme_server, lambda ka: acme_dns.set_txt(
        "_acme-challenge.d.example.test", "wrong-value"))
    assert chall["error"]["type"] == PROBLEM + "unauthorized"  # as Boulder and Pebble
    assert "'wrong-value'" in chall["error"]["detail"]


def test_dns01_one_right_value_among_others_passes(acme_server, acme_dns):
    def prepare(ka):
        acme_dns.set_txt("_acme-challenge.d.example.test", "something-else")
        acme_dns.set_txt("_acme-challenge.d.example.test", dns01_txt(ka))

    assert dns01_result(acme_server, prepare)["status"] == "valid"


def test_dns01_servfail_is_dns(acme_server, acme_dns):
    chall = dns01_result(acme_server, lambda ka: acme_dns.set_servfail(
        "_acme-challenge.d.example.test"))
    assert chall["error"]["type"] == PROBLEM + "dns"


def test_dns01_through_an_external_dns_server(acme_server):
    zone = Zone()
    with DnsServer(zone) as dns:
        address = f"127.0.0.1:{dns.port}"
        acme_server.reconfigure(dns_server=address)
        chall = dns01_result(acme_server, lambda ka: zone.set_txt(
            "_acme-challenge.d.example.test", dns01_txt(ka)))
        assert chall["status"] == "valid"
        zone.set_servfail("_acme-challenge.e.example.test")
        acme = account_client(acme_server)
        order = acme.new_order(make_csr(["e.example.test"]))
        failed = start(acme, acme_server, order.authorizations[0], "dns-01")
    assert failed["error"]["type"] == PROBLEM + "dns"
    assert address in failed["error"]["detail"]


# -- tls-alpn-01 failures -------------------------------------------------------------


def tlsalpn01_result(acme_server, prepare, name="t.example.test") -> Dict[str, Any]:
    acme = account_client(acme_server)
    order = acme.new_order(make_csr([name]))
    (authz,) = order.authorizations
    prepare(key_authorization(acme, authz, "tls-alpn-01"))
    return start(acme, acme_server, authz, "tls-alpn-01")


def test_tlsalpn01_wrong_digest_is_unauthorized(acme_server, acme_tlsalpn01_responder):
    chall = tlsalpn01_result(acme_server, lambda ka: acme_tlsalpn01_responder.publish(
        "t.example.test", ka + "x"))
    assert chall["error"]["type"] == PROBLEM + "unauthorized"  # as Boulder and Pebble
    assert "SHA-256 of the key authorization" in chall["error"]["detail"]


def test_tlsalpn01_unknown_name_is_a_tls_problem(acme_server, acme_tlsalpn01_responder):
    chall = tlsalpn01_result(acme_server, lambda ka: None)
    assert chall["error"]["type"] == PROBLEM + "tls"
    assert "handshake" in chall["error"]["detail"] and "SNI t.example.test" in chall["error"]["detail"]


def test_tlsalpn01_certificate_for_another_name_is_unauthorized(acme_server,
                                                                 acme_tlsalpn01_responder):
    def prepare(ka):
        cert, key = tls_alpn01_certificate("other.example.test", ka)
        acme_tlsalpn01_responder.publish_certificate(
            "t.example.test", cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))

    chall = tlsalpn01_result(acme_server, prepare)
    assert chall["error"]["type"] == PROBLEM + "unauthorized"
    assert "exactly one subjectAltName, dNSName 't.example.test'" in chall["error"]["detail"]
    assert "other.example.test" in chall["error"]["detail"]


def test_tlsalpn01_certificate_that_is_not_self_signed(acme_server, acme_tlsalpn01_responder):
    def prepare(ka):
        ca = trustme.CA()
        leaf = ca.issue_cert("t.example.test")
        acme_tlsalpn01_responder.publish_certificate(
            "t.example.test", leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())

    chall = tlsalpn01_result(acme_server, prepare)
    assert chall["error"]["type"] == PROBLEM + "unauthorized"
    assert "not self-signed" in chall["error"]["detail"]


def test_tlsalpn01_nothing_listening_is_connection(acme_server):
    acme_server.reconfigure(tlsalpn01_port=spare_port())
    chall = tlsalpn01_result(acme_server, lambda ka: None)
    assert chall["error"]["type"] == PROBLEM + "connection"
    assert "connection refused" in chall["error"]["detail"]


def test_tlsalpn01_server_without_alpn_is_unauthorized(acme_server):
    """A plain HTTPS server (no acme-tls/1) fails the ALPN check."""
    import ssl
    import threading

    ca = trustme.CA()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("t.example.test").configure_cert(ctx)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve_once():
        conn, _ = listener.accept()
        try:
            ctx.wrap_socket(conn, server_side=True).close()
        except (ssl.SSLError, OSError):
            conn.close()

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    acme_server.reconfigure(tlsalpn01_port=listener.getsockname()[1])
    try:
        chall = tlsalpn01_result(acme_server, lambda ka: None)
    finally:
        thread.join(5)
        listener.close()
    assert chall["error"]["type"] == PROBLEM + "unauthorized"
    assert "did not negotiate the ALPN protocol 'acme-tls/1'" in chall["error"]["detail"]


# -- timing -----------------------------------------------------------------------------


def test_pending_and_processing_carry_retry_after(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["slow.example.test"]))
    response = acme.net.post(order.authorizations[0].uri, None)
    assert response.headers["Retry-After"] == "1"


@pytest.mark.acme(validation_delay=30)
def test_validation_delay_is_measured_on_the_server_clock(acme_server, acme_dns):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["later.example.test"]))
    (authz,) = order.authorizations
    url = challenge(acme, authz, "dns-01")["url"]
    acme_dns.set_txt("_acme-challenge.later.example.test",
                     dns01_txt(key_authorization(acme, authz, "dns-01")))
    acme.net.post(url, _Empty())
    with pytest.raises(TimeoutError):
        acme_server.wait_idle(timeout=0.2)  # waiting for server time, not real time
    response = acme.net.post(url, None)
    assert response.json()["status"] == "processing"
    assert response.headers["Retry-After"] == "30"  # when the check is due
    acme_server.clock.advance(30)
    acme_server.wait_idle()
    assert read(acme, url)["status"] == "valid"


# -- the DNS server -------------------------------------------------------------------


def test_the_zone_is_served_over_udp_and_tcp(acme_server, acme_dns):
    import dns.message
    import dns.query

    acme_dns.set_txt("_acme-challenge.q.example.test", "hello")
    host, port = acme_server.dns_address.rsplit(":", 1)
    query = dns.message.make_query("_acme-challenge.q.example.test", "TXT")
    for send in (dns.query.udp, dns.query.tcp):
        reply = send(query, host, port=int(port), timeout=5)
        (answer,) = reply.answer
        assert [b"".join(r.strings) for r in answer] == [b"hello"]
    reply = dns.query.udp(dns.message.make_query("anything.example.test", "A"), host,
                          port=int(port), timeout=5)
    assert [r.address for r in reply.answer[0]] == ["127.0.0.1"]


def test_always_valid_mode_needs_no_responder(acme_server):
    acme_server.reconfigure(validation="always_valid")
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["free.example.test"]))
    assert start(acme, acme_server, order.authorizations[0], "http-01")["status"] == "valid"


def test_chain_of_a_real_validated_order_verifies(acme_server, acme_dns):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["v.example.test"]))
    (authz,) = order.authorizations
    acme_dns.set_txt("_acme-challenge.v.example.test",
                     dns01_txt(key_authorization(acme, authz, "dns-01")))
    start(acme, acme_server, authz, "dns-01")
    order = acme.begin_finalization(acme.poll_authorizations(order, deadline()))
    verify_chain(split_chain(acme.net.post(order.body.certificate, None).content),
                 acme_server.roots_pem)


def test_set_txt_adds_and_replace_txt_replaces(acme_server, acme_dns):
    """``set_txt`` adds a value next to those already there (the DNS server answers
    both); ``replace_txt`` leaves only the new one, and dns-01 validates with it."""
    import dns.message
    import dns.query

    name = "_acme-challenge.r.example.test"
    host, port = acme_server.dns_address.rsplit(":", 1)

    def served():
        reply = dns.query.udp(dns.message.make_query(name, "TXT"), host, port=int(port),
                              timeout=5)
        return sorted(b"".join(r.strings).decode() for answer in reply.answer for r in answer)

    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["r.example.test"]))
    (authz,) = order.authorizations
    acme_dns.set_txt(name, "stale-one")
    acme_dns.set_txt(name, "stale-two")
    assert served() == ["stale-one", "stale-two"]
    digest = dns01_txt(key_authorization(acme, authz, "dns-01"))
    acme_dns.replace_txt(name, digest)
    assert served() == [digest]
    assert acme_dns.txt(name) == [digest]
    assert start(acme, acme_server, authz, "dns-01")["status"] == "valid"
    with pytest.raises(ValueError, match="255 bytes"):
        acme_dns.replace_txt(name, "x" * 256)
    assert acme_dns.txt(name) == [digest]
