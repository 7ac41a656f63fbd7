"""Hostile newOrder requests (RFC 8555 §7.4, §7.1.4, RFC 8738): identifiers of
every wrong shape, and wrong types for every other field."""

from __future__ import annotations

import pytest

from wsgi_world import case, run_case


def order(w, payload):
    return w.signed(w.who("alice"), w.directory["newOrder"], payload)


def dns(*values):
    return lambda w: order(w, {"identifiers": [{"type": "dns", "value": v} for v in values]})


def ip(value):
    return lambda w: order(w, {"identifiers": [{"type": "ip", "value": value}]})


def idents(value):
    return lambda w: order(w, {"identifiers": value})


SHAPE = [
    case("identifiers-missing", lambda w: order(w, {}), "malformed", 400, "non-empty array"),
    case("identifiers-null", idents(None), "malformed", 400, "non-empty array"),
    case("identifiers-empty", idents([]), "malformed", 400, "non-empty array"),
    case("identifiers-object", idents({"type": "dns", "value": "a.test"}), "malformed", 400),
    case("identifiers-string", idents("a.test"), "malformed", 400),
    case("identifiers-strings", idents(["a.test"]), "malformed", 400, "must be an object"),
    case("identifier-no-type", idents([{"value": "a.test"}]), "malformed", 400),
    case("identifier-no-value", idents([{"type": "dns"}]), "malformed", 400),
    case("identifier-value-number", idents([{"type": "dns", "value": 1}]), "malformed", 400),
    case("identifier-type-number", idents([{"type": 1, "value": "a.test"}]), "malformed", 400),
    case("too-many-identifiers", idents([{"type": "dns", "value": f"n{i}.test"}
                                         for i in range(1001)]), "malformed", 400, "at most"),
    case("type-email", idents([{"type": "email", "value": "a@a.test"}]),
         "unsupportedIdentifier", 400, "not supported"),
    case("type-uppercase-DNS", idents([{"type": "DNS", "value": "a.test"}]),
         "unsupportedIdentifier", 400),
    case("payload-post-as-get", lambda w: order(w, None), "malformed", 400,
         "needs a JSON object"),
]

DNS_NAMES = [
    case("dns-empty", dns(""), "rejectedIdentifier", 400, "empty"),
    case("dns-too-long", dns(".".join(["a" * 60] * 5)), "rejectedIdentifier", 400, "253"),
    case("dns-label-too-long", dns("a" * 64 + ".test"), "rejectedIdentifier", 400, "63"),
    case("dns-idn-unicode", dns("bücher.test"), "rejectedIdentifier", 400),
    case("dns-bad-punycode", dns("xn--zz-zzzzzzzz.test"), "rejectedIdentifier", 400,
         "punycode"),
    case("dns-double-hyphen", dns("ab--cd.test"), "rejectedIdentifier", 400, "'--'"),
    case("dns-port", dns("a.test:443"), "rejectedIdentifier", 400),
    case("dns-path", dns("a.test/path"), "rejectedIdentifier", 400),
    case("dns-url", dns("https://a.test"), "rejectedIdentifier", 400),
    case("dns-space", dns("a b.test"), "rejectedIdentifier", 400),
    case("dns-leading-space", dns(" a.test"), "rejectedIdentifier", 400),
    case("dns-nul", dns("a\x00.test"), "rejectedIdentifier", 400),
    case("dns-newline", dns("a.test\n"), "rejectedIdentifier", 400),
    case("dns-underscore", dns("_a.test"), "rejectedIdentifier", 400),
    case("dns-single-label", dns("localhost"), "rejectedIdentifier", 400, "two labels"),
    case("dns-empty-label", dns("a..test"), "rejectedIdentifier", 400, "empty label"),
    case("dns-leading-dot", dns(".a.test"), "rejectedIdentifier", 400),
    case("dns-leading-hyphen", dns("-a.test"), "rejectedIdentifier", 400),
    case("dns-wildcard-twice", dns("*.*.a.test"), "rejectedIdentifier", 400),
    case("dns-wildcard-inner", dns("a.*.test"), "rejectedIdentifier", 400),
    case("dns-wildcard-partial", dns("a*.b.test"), "rejectedIdentifier", 400),
    case("dns-wildcard-alone", dns("*"), "rejectedIdentifier", 400),
    case("dns-wildcard-tld", dns("*.test"), "rejectedIdentifier", 400),
    case("dns-ipv4-in-dns", dns("192.0.2.1"), "rejectedIdentifier", 400),
    case("dns-ipv6-in-dns", dns("2001:db8::1"), "rejectedIdentifier", 400),
    case("dns-two-refused-subproblems", dns("a b.test", "c..test"), "rejectedIdentifier",
         400, "2 of 2"),
]

IPS = [
    case("ip-name", ip("a.test"), "rejectedIdentifier", 400),
    case("ip-empty", ip(""), "rejectedIdentifier", 400),
    case("ip-prefix", ip("192.0.2.0/24"), "rejectedIdentifier", 400),
    case("ip-zone", ip("fe80::1%eth0"), "rejectedIdentifier", 400, "zone"),
    case("ip-octal-ish", ip("010.0.0.1"), "rejectedIdentifier", 400),
    case("ip-with-port", ip("192.0.2.1:80"), "rejectedIdentifier", 400),
    case("ip-bracketed", ip("[2001:db8::1]"), "rejectedIdentifier", 400),
]

FIELDS = [
    case("not-before-number", lambda w: order(w, {"identifiers": [
        {"type": "dns", "value": "a.test"}], "notBefore": 5}), "malformed", 400, "RFC 3339"),
    case("not-after-garbage", lambda w: order(w, {"identifiers": [
        {"type": "dns", "value": "a.test"}], "notAfter": "tomorrow"}), "malformed", 400,
         "RFC 3339"),
    case("not-after-no-zone", lambda w: order(w, {"identifiers": [
        {"type": "dns", "value": "a.test"}], "notAfter": "2099-01-01T00:00:00"}),
         "malformed", 400, "time zone"),
    case("not-after-in-past", lambda w: order(w, {"identifiers": [
        {"type": "dns", "value": "a.test"}], "notAfter": "2000-01-01T00:00:00Z"}),
         "malformed", 400, "past"),
    case("profile-unknown", lambda w: order(w, {"identifiers": [
        {"type": "dns", "value": "a.test"}], "profile": "nope"}), "invalidProfile", 400),
]


@pytest.mark.parametrize("send,type_,status,words", SHAPE + DNS_NAMES + IPS + FIELDS)
def test_hostile_new_order(world, send, type_, status, words):
    run_case(world, send, type_, status, words)


def test_mixed_refusals_are_compound_with_subproblems(world):
    doc = run_case(world, idents([{"type": "dns", "value": "a b.test"},
                                  {"type": "email", "value": "x@y.test"}]),
                   "compound", 400, ["2 of 2"])
    assert [p["type"].rsplit(":", 1)[1] for p in doc["subproblems"]] == [
        "rejectedIdentifier", "unsupportedIdentifier"]
