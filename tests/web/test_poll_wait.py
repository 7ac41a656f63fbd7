"""A poll finds finished the validation its client started (``poll_wait``).

Clients poll the way RFC 8555 §7.5.1 says: answer the challenge, then read the
authorization (or the order) until its status is final, sleeping between reads
(certbot's ``acme`` a whole second, lego ``Retry-After``).  These tests drive
the server with certbot's ``acme`` library against an http-01 responder that
answers a little late, as a real one does, and check that the first read finds
the validation done, while work that stays unfinished by design still reads
unfinished with an honest ``Retry-After``.
"""

from __future__ import annotations

import http.server
import threading
from typing import Dict, Iterator

import pytest

from helpers import account_client, challenge, deadline, make_csr, post, read


class SlowResponder:
    """An http-01 responder that answers each request once ``gate`` opens, or after
    ``delay`` seconds if it never does (a responder a little slower than the
    server's own reply)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.gate = threading.Event()
        self.answers: Dict[str, str] = {}
        self.hits = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                outer.hits += 1
                outer.gate.wait(outer.delay)
                token = self.path.rsplit("/", 1)[-1]
                body = outer.answers.get(token, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def close(self) -> None:
        self.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def slow_responder(acme_server) -> Iterator[SlowResponder]:
    responder = SlowResponder(delay=0.1)
    acme_server.reconfigure(http01_port=responder.port)
    yield responder
    responder.close()
    acme_server.wait_idle()


def _answer(acme, responder: SlowResponder, order) -> list:
    """Answer every authorization's http-01 challenge; the challenges' replies."""
    replies = []
    for authz in order.authorizations:
        challb = next(c for c in authz.body.challenges if c.chall.typ == "http-01")
        response, key_authorization = challb.chall.response_and_validation(acme.net.key)
        responder.answers[challb.chall.encode("token")] = key_authorization
        replies.append(post(acme, challb.uri, {}))
    return replies


def _reads(server, kind: str) -> int:
    return sum(1 for r in server.requests if r.method == "POST" and f"/{kind}/" in r.path)


@pytest.mark.acme(poll_wait=5)
def test_acme_library_finds_each_authorization_valid_at_its_first_read(acme_server,
                                                                        slow_responder):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["a.example.test", "b.example.test"]))
    replies = _answer(acme, slow_responder, order)
    # Nothing about the protocol changes: the answer still reads processing; the
    # next read waits for the validation, so there is no reason to sleep first.
    assert [r.json()["status"] for r in replies] == ["processing", "processing"]
    assert [r.headers["Retry-After"] for r in replies] == ["0", "0"]
    before = _reads(acme_server, "authz")
    order = acme.poll_and_finalize(order, deadline())
    assert order.fullchain_pem
    # One read per authorization: none was pending, so the client never slept there.
    assert _reads(acme_server, "authz") - before == 2


@pytest.mark.acme(poll_wait=5)
def test_the_order_reads_ready_and_the_challenge_valid_at_once(acme_server, slow_responder):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["c.example.test"]))
    reply, = _answer(acme, slow_responder, order)
    assert reply.json()["status"] == "processing"
    assert read(acme, order.uri)["status"] == "ready"
    assert read(acme, reply.json()["url"])["status"] == "valid"


@pytest.mark.acme(poll_wait=0.05)
def test_a_responder_slower_than_the_wait_still_reads_pending(acme_server, slow_responder):
    slow_responder.delay = 30  # until the gate opens
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["d.example.test"]))
    reply, = _answer(acme, slow_responder, order)
    authz_url = order.body.authorizations[0]
    first = post(acme, authz_url, None)
    assert first.json()["status"] == "pending"
    assert first.headers["Retry-After"] == "1"  # the configured value: the end is unknown
    assert read(acme, order.uri)["status"] == "pending"
    assert read(acme, reply.json()["url"])["status"] == "processing"
    slow_responder.gate.set()
    acme_server.reconfigure(poll_wait=5)
    assert read(acme, authz_url)["status"] == "valid"


@pytest.mark.acme(poll_wait=0)
def test_poll_wait_zero_answers_at_once(acme_server, slow_responder):
    slow_responder.delay = 30
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["e.example.test"]))
    reply, = _answer(acme, slow_responder, order)
    assert reply.headers["Retry-After"] == "1"  # no read waits: the configured value
    assert read(acme, order.body.authorizations[0])["status"] == "pending"
    slow_responder.gate.set()


@pytest.mark.acme(validation="always_valid", validation_delay=30)
def test_a_delayed_validation_is_not_waited_for_and_says_when_it_ends(acme_server):
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["f.example.test"]))
    challb = challenge(order.authorizations[0])
    reply = post(acme, challb.uri, {})
    assert reply.json()["status"] == "processing"
    assert reply.headers["Retry-After"] == "30"
    authz = post(acme, order.body.authorizations[0], None)
    assert authz.json()["status"] == "pending"
    assert authz.headers["Retry-After"] == "30"
    acme_server.clock.advance(28.5)
    assert post(acme, challb.uri, None).headers["Retry-After"] == "2"
    acme_server.clock.advance(1)
    # Less than a second left: say 0, not the configured 1.
    for url in (challb.uri, order.body.authorizations[0], order.uri):
        response = post(acme, url, None)
        assert response.json()["status"] in ("pending", "processing")
        assert response.headers["Retry-After"] == "0"
    acme_server.clock.advance(1)
    # Due now: the read waits for the validation instead of reading it unfinished.
    assert read(acme, order.uri)["status"] == "ready"
