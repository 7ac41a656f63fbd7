"""Identifier parsing and normalisation (pytest_acme.protocol.identifiers)."""

from __future__ import annotations

import pytest

from pytest_acme.protocol import problems
from pytest_acme.protocol.identifiers import (
    MAX_IDENTIFIERS,
    MAX_LABELS,
    Identifier,
    identifiers_from_names,
    normalise_dns,
    normalise_ip,
    parse_identifier,
    parse_identifiers,
)


def dns(value):
    return {"type": "dns", "value": value}


def ip(value):
    return {"type": "ip", "value": value}


# -- dns ------------------------------------------------------------------------

# A name of exactly 253 characters: three 63-character labels and one of 61.
NAME_253 = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
assert len(NAME_253) == 253


@pytest.mark.parametrize(
    "value,expected",
    [
        ("example.com", "example.com"),
        ("Example.COM", "example.com"),
        ("WWW.Example.Com", "www.example.com"),
        ("*.example.com", "*.example.com"),
        ("*.Example.COM", "*.example.com"),
        ("a-b.example.com", "a-b.example.com"),
        ("0.example.com", "0.example.com"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a" * 63 + ".example", "a" * 63 + ".example"),
        (NAME_253, NAME_253),
        (".".join("abcdefghi") + ".example", ".".join("abcdefghi") + ".example"),
    ],
)
def test_dns_accepted_and_normalised(value, expected):
    assert normalise_dns(value) == expected
    ident = parse_identifier(dns(value))
    assert ident == Identifier("dns", expected)


@pytest.mark.parametrize(
    "value,fragment",
    [
        ("", "empty"),
        (".", "ends in a dot"),
        ("example.com.", "ends in a dot"),
        ("*.Example.COM.", "ends in a dot"),
        (NAME_253 + ".", "ends in a dot"),
        ("*.*.example.com", "wildcard"),
        ("a.*.example.com", "wildcard"),
        ("*example.com", "wildcard"),
        ("ex*ample.com", "wildcard"),
        ("example.*", "wildcard"),
        ("*.com", "two labels"),
        ("*", "two labels"),
        ("example", "two labels"),
        ("localhost", "two labels"),
        ("a..example.com", "empty label"),
        (".example.com", "empty label"),
        ("example.com..", "ends in a dot"),
        ("a" * 64 + ".example", "longer than 63"),
        (NAME_253 + "e", "at most 253"),
        ("a" + NAME_253, "at most 253"),
        ("a_b.example.com", "underscores"),
        ("_acme-challenge.example.com", "underscores"),
        ("a b.example.com", "spaces"),
        ("a.example.com:443", "ports"),
        ("example.com/path", "paths"),
        ("https://example.com", "letters, digits"),
        ("-a.example.com", "inner hyphens"),
        ("a-.example.com", "inner hyphens"),
        ("ab--cd.example.com", "'--' in positions 3 and 4"),
        ("bücher.example", "A-label"),
        ("bücher.example", "punycode"),
        ("xn--zz.example", "not valid punycode"),
        ("127.0.0.1", "type 'ip'"),
        ("example.123", "type 'ip'"),
    ],
)
def test_dns_refused(value, fragment):
    with pytest.raises(ValueError) as info:
        normalise_dns(value)
    assert fragment in str(info.value)
    with pytest.raises(problems.RejectedIdentifier) as info2:
        parse_identifier(dns(value))
    p = info2.value
    assert p.identifier == {"type": "dns", "value": value}
    assert fragment in p.detail
    assert repr(value) in p.detail
    assert p.to_json()["type"] == "urn:ietf:params:acme:error:rejectedIdentifier"


@pytest.mark.parametrize("value,max_labels", [
    (".".join("abcdefghij") + ".example", 10),  # 11 labels
    ("*." + ".".join("abcdefghi") + ".example", 10),  # the '*' counts, as at Boulder
    ("a.b.c.example", 3),
])
def test_a_name_with_more_labels_than_the_rules_allow_is_refused(value, max_labels):
    with pytest.raises(problems.RejectedIdentifier) as info:
        parse_identifier(dns(value), max_labels)
    assert f"at most {max_labels} are allowed" in info.value.detail
    assert parse_identifier(dns(value)) == Identifier("dns", value)  # no limit given


def test_the_label_limits_are_boulders_and_pebbles():
    assert MAX_LABELS == {"letsencrypt": 10, "pebble": None}
    ten = ".".join("abcdefghi") + ".example"
    assert parse_identifiers([dns(ten)], MAX_LABELS["letsencrypt"]) == [Identifier("dns", ten)]
    with pytest.raises(problems.RejectedIdentifier, match="2 of 2 identifiers"):
        parse_identifiers([dns("x." + ten), dns("y." + ten)], MAX_LABELS["letsencrypt"])


@pytest.mark.parametrize("value", ["127.0.0.1", "10.0.0.1", "2001:db8::1", "::1"])
def test_ip_sent_as_dns_says_use_type_ip(value):
    with pytest.raises(problems.RejectedIdentifier) as info:
        parse_identifier(dns(value))
    assert "identifiers of type 'ip'" in info.value.detail


def test_wildcard_properties():
    w = Identifier("dns", "*.example.com")
    assert w.wildcard
    assert w.base == "example.com"
    plain = Identifier("dns", "example.com")
    assert not plain.wildcard
    assert plain.base == "example.com"
    assert not Identifier("ip", "10.0.0.1").wildcard
    assert w.to_json() == {"type": "dns", "value": "*.example.com"}
    assert str(w) == "dns:*.example.com"


# -- ip -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,expected",
    [
        ("127.0.0.1", "127.0.0.1"),
        ("192.0.2.10", "192.0.2.10"),
        ("::1", "::1"),
        ("2001:DB8::0:1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("FE80::ABCD", "fe80::abcd"),
    ],
)
def test_ip_accepted_and_canonicalised(value, expected):
    assert normalise_ip(value) == expected
    assert parse_identifier(ip(value)) == Identifier("ip", expected)


@pytest.mark.parametrize(
    "value,fragment",
    [
        ("1.2.3", "dotted-decimal"),
        ("256.1.1.1", "dotted-decimal"),
        ("01.2.3.4", "dotted-decimal"),
        ("1.2.3.4 ", "dotted-decimal"),
        ("example.com", "dotted-decimal"),
        ("", "dotted-decimal"),
        ("::1%eth0", "zone"),
        ("fe80::1%1", "zone"),
        ("1.2.3.4/32", "dotted-decimal"),
    ],
)
def test_ip_refused(value, fragment):
    with pytest.raises(ValueError) as info:
        normalise_ip(value)
    assert fragment in str(info.value)
    with pytest.raises(problems.RejectedIdentifier) as info2:
        parse_identifier(ip(value))
    assert info2.value.identifier == {"type": "ip", "value": value}
    assert fragment in info2.value.detail


# -- one identifier object ------------------------------------------------------------


@pytest.mark.parametrize("type_", ["email", "DNS", "uri", ""])
def test_unknown_type_is_unsupported(type_):
    with pytest.raises(problems.UnsupportedIdentifier) as info:
        parse_identifier({"type": type_, "value": "x.example"})
    assert repr(type_) in info.value.detail
    assert "'dns' and 'ip'" in info.value.detail


@pytest.mark.parametrize(
    "obj",
    [
        "example.com",
        None,
        ["dns", "example.com"],
        {"type": "dns"},
        {"value": "example.com"},
        {"type": "dns", "value": 5},
        {"type": 1, "value": "example.com"},
    ],
)
def test_malformed_identifier_object(obj):
    with pytest.raises(problems.Malformed) as info:
        parse_identifier(obj)
    assert "each identifier must be an object" in info.value.detail


# -- the identifiers array ------------------------------------------------------------


def test_parse_identifiers_normalises_in_order():
    got = parse_identifiers(
        [dns("B.example.com"), ip("2001:DB8::1"), dns("*.example.com"), dns("a.example.com")]
    )
    assert got == [
        Identifier("dns", "b.example.com"),
        Identifier("ip", "2001:db8::1"),
        Identifier("dns", "*.example.com"),
        Identifier("dns", "a.example.com"),
    ]


def test_duplicates_removed_keeping_first_position():
    got = parse_identifiers(
        [
            dns("b.example.com"),
            dns("a.example.com"),
            dns("B.EXAMPLE.COM"),
            ip("2001:db8::1"),
            ip("2001:DB8:0::1"),
            dns("a.example.com"),
        ]
    )
    assert got == [
        Identifier("dns", "b.example.com"),
        Identifier("dns", "a.example.com"),
        Identifier("ip", "2001:db8::1"),
    ]


def test_wildcard_and_its_base_are_different_identifiers():
    got = parse_identifiers([dns("*.example.com"), dns("example.com")])
    assert got == [Identifier("dns", "*.example.com"), Identifier("dns", "example.com")]


@pytest.mark.parametrize("value", [None, {}, "example.com", [], {"identifiers": []}, 3])
def test_non_list_or_empty_is_malformed(value):
    with pytest.raises(problems.Malformed) as info:
        parse_identifiers(value)
    assert "non-empty array" in info.value.detail


def test_more_than_100_identifiers_is_malformed():
    assert MAX_IDENTIFIERS == 100
    many = [dns(f"h{i}.example.com") for i in range(101)]
    with pytest.raises(problems.Malformed) as info:
        parse_identifiers(many)
    assert "101 identifiers" in info.value.detail
    assert "at most 100" in info.value.detail


def test_exactly_100_identifiers_is_fine():
    got = parse_identifiers([dns(f"h{i}.example.com") for i in range(100)])
    assert len(got) == 100


def test_one_bad_identifier_is_its_own_problem():
    with pytest.raises(problems.RejectedIdentifier) as info:
        parse_identifiers([dns("ok.example.com"), dns("bad_name.example.com")])
    p = info.value
    assert p.subproblems == []
    assert p.identifier == {"type": "dns", "value": "bad_name.example.com"}


def test_several_rejected_identifiers_give_one_problem_with_subproblems():
    request = [
        dns("ok.example.com"),
        dns("a_b.example.com"),
        ip("256.1.1.1"),
        dns("*.*.example.com"),
    ]
    with pytest.raises(problems.RejectedIdentifier) as info:
        parse_identifiers(request)
    p = info.value
    assert "3 of 4 identifiers were refused" in p.detail
    assert [type(s) for s in p.subproblems] == [problems.RejectedIdentifier] * 3
    assert [s.identifier for s in p.subproblems] == [
        dns("a_b.example.com"),
        ip("256.1.1.1"),
        dns("*.*.example.com"),
    ]
    # The first refusal whole, the others counted: each subproblem says its own why
    # (as Boulder: "... (and 2 more problems. Refer to sub-problems ...)").
    assert p.subproblems[0].detail in p.detail and "(and 2 more: see the subproblems" in p.detail
    assert not any(sub.detail in p.detail for sub in p.subproblems[1:])
    doc = p.to_json()
    assert doc["type"] == "urn:ietf:params:acme:error:rejectedIdentifier"
    assert [s["identifier"] for s in doc["subproblems"]] == [
        dns("a_b.example.com"),
        ip("256.1.1.1"),
        dns("*.*.example.com"),
    ]


def test_several_unsupported_identifiers_give_one_unsupported_problem():
    with pytest.raises(problems.UnsupportedIdentifier) as info:
        parse_identifiers([{"type": "email", "value": "a@b.c"}, {"type": "uri", "value": "x:y"}])
    assert len(info.value.subproblems) == 2
    assert all(isinstance(s, problems.UnsupportedIdentifier) for s in info.value.subproblems)


def test_mixed_refusals_give_compound():
    with pytest.raises(problems.Compound) as info:
        parse_identifiers(
            [dns("a_b.example.com"), {"type": "email", "value": "a@b.c"}, ip("1.2.3")]
        )
    p = info.value
    assert p.status == 400
    assert [type(s) for s in p.subproblems] == [
        problems.RejectedIdentifier,
        problems.UnsupportedIdentifier,
        problems.RejectedIdentifier,
    ]
    # The rejected ones say which identifier they are about.
    assert p.subproblems[0].identifier == dns("a_b.example.com")
    assert p.subproblems[2].identifier == ip("1.2.3")
    # The unsupported one carries no "identifier" member (certbot's library cannot
    # parse an identifier of a type it does not know), so its detail names it.
    assert p.subproblems[1].identifier is None
    assert "'email'" in p.subproblems[1].detail
    assert "'a@b.c'" in p.subproblems[1].detail
    assert p.to_json()["type"] == "urn:ietf:params:acme:error:compound"


def test_a_malformed_entry_fails_the_whole_request():
    with pytest.raises(problems.Malformed):
        parse_identifiers([dns("a_b.example.com"), "example.com"])


# -- names from a CSR ---------------------------------------------------------------


def test_an_ipv4_mapped_address_in_a_csr_is_a_bad_name_not_an_exception():
    found, bad = identifiers_from_names([], ["::ffff:192.0.2.1", "192.0.2.2"])
    assert found == [Identifier("ip", "192.0.2.2")]
    assert bad == ["::ffff:192.0.2.1 (this is an IPv4-mapped IPv6 address; send the IPv4 "
                   "address 192.0.2.1 instead)"]


def test_identifiers_from_names():
    found, bad = identifiers_from_names(
        ["Example.com", "bad_name.example", "*.example.com"], ["2001:db8:0::1", "10.0.0.1"]
    )
    assert found == [
        Identifier("dns", "example.com"),
        Identifier("dns", "*.example.com"),
        Identifier("ip", "2001:db8::1"),
        Identifier("ip", "10.0.0.1"),
    ]
    assert bad == ["bad_name.example"]
