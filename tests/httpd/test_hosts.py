"""pytest_acme/httpd/hosts.py: the Host values HTTP refuses, and those no URL can be
built on."""

from __future__ import annotations

import pytest

from pytest_acme.httpd.hosts import syntax_problem, url_problem

GOOD = ["localhost", "LOCALHOST", "localhost.", "a-b.example.test", "127.0.0.1",
        "127.0.0.1:14000", "[::1]", "[::1]:443", "[2001:db8::1]", "x" * 63 + ".test",
        ".".join(["a" * 62] * 4), "localhost:65535", "xn--bcher-kva.test"]

#: Valid as HTTP (RFC 3986 uri-host [":" port]) but no URL of this server can be built on.
SYNTAX_ONLY = ["", ".", "a..b", "a" * 64, "a.test:", "a.test:0", "a.test:080", "a.test:99999",
               "-a.test", "a-.test", "under_score.test", "a%2eb", "a,b", "[v1.x]",
               "[fe80::1%25eth0]", ".".join(["a" * 63] * 4) + "a"]

#: Not a Host field value at all: a 400 from the HTTP layer (RFC 9112 §3.2).
INVALID = ["a b", "[", "[::1", "[::1]x", "[zz]", "a.test:x", "user@a.test", "bücher.test",
           "a/b", "a\tb", "a.test:1:2"]


@pytest.mark.parametrize("host", GOOD)
def test_good_hosts(host):
    assert syntax_problem(host) is None and url_problem(host) is None


@pytest.mark.parametrize("host", SYNTAX_ONLY)
def test_hosts_http_allows_but_urls_cannot_use(host):
    assert syntax_problem(host) is None
    problem = url_problem(host)
    assert problem and "Host header" in problem


@pytest.mark.parametrize("host", INVALID)
def test_invalid_host_values(host):
    problem = syntax_problem(host)
    assert problem and "Host header" in problem
    assert url_problem(host) == problem


def test_the_message_is_bounded():
    assert len(url_problem("a" * 100_000) or "") < 300
    assert len(syntax_problem(" " * 100_000) or "") < 300
