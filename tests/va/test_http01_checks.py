"""http-01 (RFC 8555 §8.3) checked as Let's Encrypt checks it: the body, its
whitespace and size, and which redirects are followed (Boulder's ``va/http.go``).

Each case publishes an answer on the http-01 responder on loopback, answers the
challenge with certbot's ``acme`` library and reads the challenge back: every
refusal is one Boulder makes, with its problem type; every accept test is a form
Boulder takes, so the server refuses no more than Let's Encrypt does."""

from __future__ import annotations

import queue
import socket
import threading
from typing import Any, Callable, Dict

import pytest

from helpers import challenge_refused, validate

CHALLENGE = "/.well-known/acme-challenge/"


def outcome(acme_server, prepare: Callable[[str, str], None],
            name: str = "h.example.test") -> Dict[str, Any]:
    """Order ``name``, call ``prepare(token, key_authorization)``, answer http-01."""
    return validate(acme_server, name, "http-01", prepare)


# -- the body --------------------------------------------------------------------------


@pytest.mark.parametrize("before", ["\n", " ", "\t", "\ufeff"], ids=["lf", "space", "tab", "bom"])
def test_leading_whitespace_is_refused(acme_server, acme_http01_responder, before):
    chall = outcome(acme_server, lambda token, ka: acme_http01_responder.respond(
        token, before + ka))
    challenge_refused(chall, "unauthorized", "does not match")


def test_leading_whitespace_gets_a_hint(acme_server, acme_http01_responder):
    chall = outcome(acme_server, lambda token, ka: acme_http01_responder.respond(
        token, "\r\n" + ka))
    challenge_refused(chall, "unauthorized", "only whitespace at the end of the body is ignored")


@pytest.mark.parametrize("after", ["\n", "\r\n", " \t ", "\v\f", "\u00a0\u3000\u2028"],
                         ids=["lf", "crlf", "blanks", "vt-ff", "unicode-spaces"])
def test_trailing_whitespace_is_ignored(acme_server, acme_http01_responder, after):
    chall = outcome(acme_server, lambda token, ka: acme_http01_responder.respond(
        token, (ka + after).encode("utf-8")))
    assert chall["status"] == "valid", chall


def test_a_trailing_control_character_go_does_not_call_space_is_refused(
        acme_server, acme_http01_responder):
    # U+001C is whitespace to Python's str.strip(), not to Go's unicode.IsSpace.
    chall = outcome(acme_server, lambda token, ka: acme_http01_responder.respond(
        token, ka + "\x1c"))
    challenge_refused(chall, "unauthorized", "does not match")


def test_a_body_of_128_bytes_passes(acme_server, acme_http01_responder):
    chall = outcome(acme_server, lambda token, ka: acme_http01_responder.respond(
        token, ka + " " * (128 - len(ka))))
    assert chall["status"] == "valid", chall


def test_a_body_over_128_bytes_is_refused_even_if_only_whitespace_follows(
        acme_server, acme_http01_responder):
    chall = outcome(acme_server, lambda token, ka: acme_http01_responder.respond(
        token, ka + " " * (129 - len(ka))))
    challenge_refused(chall, "unauthorized", "longer than 128 bytes")


# -- redirects: which are followed ---------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_the_four_redirects_of_the_baseline_requirements_are_followed(
        acme_server, acme_http01_responder, status):
    def prepare(token, ka):
        acme_http01_responder.redirect(token, CHALLENGE + "moved", status=status)
        acme_http01_responder.publish("moved", ka)

    assert outcome(acme_server, prepare)["status"] == "valid"


@pytest.mark.parametrize("status", [300, 303])
def test_other_redirects_are_refused(acme_server, acme_http01_responder, status):
    def prepare(token, ka):
        acme_http01_responder.redirect(token, CHALLENGE + "moved", status=status)
        acme_http01_responder.publish("moved", ka)

    chall = outcome(acme_server, prepare)
    challenge_refused(chall, "connection", f"HTTP {status}", "only 301, 302, 307 and 308")
    assert len(chall["validationRecord"]) == 1


def test_a_redirect_without_location_is_refused(acme_server, acme_http01_responder):
    chall = outcome(acme_server, lambda token, ka: acme_http01_responder.respond(
        token, "", status=302))
    challenge_refused(chall, "connection", "HTTP 302 without a Location header")


def _chain(responder, token: str, ka: str, hops: int) -> None:
    """``token`` -> hop1 -> ... -> hop<hops>, which holds the key authorization."""
    names = [token] + [f"hop{i}" for i in range(1, hops + 1)]
    for here, there in zip(names, names[1:]):
        responder.redirect(here, CHALLENGE + there)
    responder.publish(names[-1], ka)


def test_nine_redirects_are_followed(acme_server, acme_http01_responder):
    chall = outcome(acme_server, lambda token, ka: _chain(acme_http01_responder, token, ka, 9))
    assert chall["status"] == "valid", chall
    assert len(chall["validationRecord"]) == 10


def test_a_tenth_redirect_is_not(acme_server, acme_http01_responder):
    chall = outcome(acme_server, lambda token, ka: _chain(acme_http01_responder, token, ka, 10))
    challenge_refused(chall, "connection", "too many redirects", "after 10 requests")
    assert len(chall["validationRecord"]) == 10


def test_a_loop_is_stopped_when_it_comes_back(acme_server, acme_http01_responder):
    def prepare(token, ka):
        acme_http01_responder.redirect(token, CHALLENGE + "a")
        acme_http01_responder.redirect("a", CHALLENGE + token)

    chall = outcome(acme_server, prepare)
    challenge_refused(chall, "connection", "redirect loop", "which was already fetched")
    assert len(chall["validationRecord"]) == 2


# -- redirects: where they may go -------------------------------------------------------


def test_an_upper_case_host_is_followed_in_lower_case(acme_server, acme_http01_responder):
    def prepare(token, ka):
        acme_http01_responder.redirect(token, "http://Other.EXAMPLE.test" + CHALLENGE + "moved")
        acme_http01_responder.publish("moved", ka)

    chall = outcome(acme_server, prepare)
    assert chall["status"] == "valid", chall
    assert chall["validationRecord"][1]["hostname"] == "other.example.test"
    assert ("GET", CHALLENGE + "moved", f"other.example.test:{acme_http01_responder.port}") \
        in acme_http01_responder.requests


def test_a_redirect_without_port_goes_to_the_http01_port(acme_server, acme_http01_responder):
    def prepare(token, ka):
        acme_http01_responder.redirect(token, "http://127.0.0.1" + CHALLENGE + "moved")
        acme_http01_responder.publish("moved", ka)

    chall = outcome(acme_server, prepare)
    assert chall["status"] == "valid", chall
    assert chall["validationRecord"][1]["url"] == \
        f"http://127.0.0.1:{acme_http01_responder.port}{CHALLENGE}moved"


def test_an_https_redirect_without_port_goes_to_the_https_port(acme_server,
                                                               acme_http01_responder):
    chall = outcome(acme_server, lambda token, ka: acme_http01_responder.redirect(
        token, "https://other.example.test" + CHALLENGE + "x"))
    port = acme_server.config.tlsalpn01_port
    assert chall["validationRecord"][1]["port"] == str(port)
    assert chall["validationRecord"][1]["url"] == f"https://other.example.test:{port}{CHALLENGE}x"


def test_a_redirect_to_another_port_is_refused(acme_server, acme_http01_responder):
    chall = outcome(acme_server, lambda token, ka: acme_http01_responder.redirect(
        token, "http://other.example.test:1" + CHALLENGE + "x"))
    challenge_refused(chall, "connection", "port 1 is neither the HTTP port",
                      f"({acme_http01_responder.port}, http01_port)")
    assert len(chall["validationRecord"]) == 1


@pytest.mark.parametrize("location,fragment", [
    ("ftp://other.example.test/x", "only http and https URLs, not 'ftp'"),
    ("http:///no-host", "the URL has no host"),
    ("http://other.example.test.well-known/acme-challenge/x", "missing the '/'"),
    ("http://localhost/x", "'localhost' is a single-label name"),
    ("http://other.example.test/" + "a" * 2001, "longer than 2000 bytes"),
    ("http://[fe80::1%25eth0]/x", "scope zone"),
], ids=["scheme", "no-host", "well-known", "single-label", "long-path", "zone"])
def test_redirects_boulder_does_not_follow(acme_server, acme_http01_responder, location,
                                           fragment):
    chall = outcome(acme_server, lambda token, ka: acme_http01_responder.redirect(
        token, location))
    challenge_refused(chall, "connection", fragment)
    assert len(chall["validationRecord"]) == 1


# -- the connection ----------------------------------------------------------------------


@pytest.fixture
def one_shot_server(acme_server):
    """A server on 127.0.0.1 that answers one request with the bytes it is given."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    acme_server.reconfigure(http01_port=listener.getsockname()[1])
    answers: "queue.Queue[bytes]" = queue.Queue()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(answers.get(timeout=10))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield answers
    thread.join(10)
    listener.close()


def test_a_200_whose_body_breaks_off_is_unauthorized(acme_server, one_shot_server):
    # The key authorization, then the connection closes 100 - len(ka) bytes early:
    # Go's reader (so Let's Encrypt) reports the short body instead of using it.
    chall = outcome(acme_server, lambda token, ka: one_shot_server.put(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + ka.encode()))
    challenge_refused(chall, "unauthorized", "error reading the response body", "IncompleteRead")


def test_a_body_without_content_length_ends_with_the_connection(acme_server, one_shot_server):
    chall = outcome(acme_server, lambda token, ka: one_shot_server.put(
        b"HTTP/1.0 200 OK\r\n\r\n" + ka.encode()))
    assert chall["status"] == "valid", chall


def test_a_short_body_after_another_status_is_judged_by_the_status(acme_server,
                                                                   one_shot_server):
    chall = outcome(acme_server, lambda token, ka: one_shot_server.put(
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 100\r\n\r\nnot here"))
    challenge_refused(chall, "unauthorized", "HTTP 404")
