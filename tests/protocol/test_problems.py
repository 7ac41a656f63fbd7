"""RFC 8555 §6.7 problem documents (pytest_acme.protocol.problems)."""

from __future__ import annotations

import json

import pytest

from pytest_acme.protocol import problems
from pytest_acme.protocol.problems import BY_TYPE, URN_PREFIX, Problem, from_type

# (class name, short type, HTTP status): RFC 8555 §6.7 plus the drafts' additions,
# with the statuses Boulder and Pebble use.
EXPECTED = [
    ("AccountDoesNotExist", "accountDoesNotExist", 400),
    ("AgreementRequired", "agreementRequired", 403),  # Pebble's, from the ACME drafts
    ("AlreadyReplaced", "alreadyReplaced", 409),
    ("AlreadyRevoked", "alreadyRevoked", 400),
    ("BadCSR", "badCSR", 400),
    ("BadNonce", "badNonce", 400),
    ("BadPublicKey", "badPublicKey", 400),
    ("BadRevocationReason", "badRevocationReason", 400),
    ("BadSignatureAlgorithm", "badSignatureAlgorithm", 400),
    ("CAA", "caa", 403),
    ("Compound", "compound", 400),
    ("Connection", "connection", 400),
    ("DNS", "dns", 400),
    ("ExternalAccountRequired", "externalAccountRequired", 400),
    ("IncorrectResponse", "incorrectResponse", 400),
    ("InvalidContact", "invalidContact", 400),
    ("InvalidProfile", "invalidProfile", 400),
    ("Malformed", "malformed", 400),
    ("OrderNotReady", "orderNotReady", 403),
    ("RateLimited", "rateLimited", 429),
    ("RejectedIdentifier", "rejectedIdentifier", 400),
    ("ServerInternal", "serverInternal", 500),
    ("TLS", "tls", 400),
    ("Unauthorized", "unauthorized", 403),
    ("UnsupportedContact", "unsupportedContact", 400),
    ("UnsupportedIdentifier", "unsupportedIdentifier", 400),
    ("UserActionRequired", "userActionRequired", 403),
]


@pytest.mark.parametrize("name,type_,status", EXPECTED, ids=[e[0] for e in EXPECTED])
def test_class_has_urn_and_http_status(name, type_, status):
    cls = getattr(problems, name)
    assert issubclass(cls, Problem)
    assert issubclass(cls, Exception)
    assert cls.type == type_
    assert cls.status == status
    p = cls("what went wrong")
    assert p.urn == f"urn:ietf:params:acme:error:{type_}"
    assert p.status == status
    assert p.to_json() == {
        "type": f"urn:ietf:params:acme:error:{type_}",
        "detail": "what went wrong",
        "status": status,
    }
    assert cls.__doc__, f"{name} has no docstring"


def test_every_rfc_8555_type_is_known_and_nothing_else():
    assert set(BY_TYPE) == {t for _, t, _ in EXPECTED}
    for _, type_, _ in EXPECTED:
        assert BY_TYPE[type_].type == type_


def test_as_pebble_takes_pebbles_type_status_and_detail_and_keeps_headers():
    p = problems.BadCSR("the CSR's subjectAltName must list exactly ...",
                        headers={"Retry-After": "3"},
                        pebble=("unauthorized", 'CSR is missing Order domain "a.test"'))
    q = p.as_pebble()
    assert type(q) is problems.Unauthorized and q.status == 403
    assert q.to_json() == {"type": "urn:ietf:params:acme:error:unauthorized", "status": 403,
                           "detail": 'CSR is missing Order domain "a.test"'}
    assert q.headers == {"Retry-After": "3"}
    plain = problems.Malformed("no Pebble wording")
    assert plain.as_pebble() is plain


def test_urn_prefix():
    assert URN_PREFIX == "urn:ietf:params:acme:error:"


def test_detail_is_the_exception_message():
    p = problems.Malformed("the body is not JSON")
    assert p.detail == "the body is not JSON"
    assert str(p) == "the body is not JSON"
    assert repr(p) == "Malformed('the body is not JSON')"
    with pytest.raises(problems.Malformed, match="not JSON"):
        raise p


def test_to_json_with_identifier_subproblems_and_extra():
    sub1 = problems.RejectedIdentifier(
        "no .local", identifier={"type": "dns", "value": "a.local"}
    )
    sub2 = problems.UnsupportedIdentifier(
        "no email", identifier={"type": "email", "value": "a@b.c"}
    )
    p = problems.Compound(
        "two refused",
        subproblems=[sub1, sub2],
        identifier={"type": "dns", "value": "outer.example"},
        extra={"instance": "https://acme.test/x"},
    )
    doc = p.to_json()
    assert doc == {
        "type": "urn:ietf:params:acme:error:compound",
        "detail": "two refused",
        "status": 400,
        "identifier": {"type": "dns", "value": "outer.example"},
        "subproblems": [
            {
                "type": "urn:ietf:params:acme:error:rejectedIdentifier",
                "detail": "no .local",
                "status": 400,
                "identifier": {"type": "dns", "value": "a.local"},
            },
            {
                "type": "urn:ietf:params:acme:error:unsupportedIdentifier",
                "detail": "no email",
                "status": 400,
                "identifier": {"type": "email", "value": "a@b.c"},
            },
        ],
        "instance": "https://acme.test/x",
    }
    json.dumps(doc)  # it is a JSON document


def test_extra_members_such_as_algorithms():
    p = problems.BadSignatureAlgorithm(
        "HS256 is not supported", extra={"algorithms": ["ES256", "RS256"]}
    )
    doc = p.to_json()
    assert doc["algorithms"] == ["ES256", "RS256"]
    assert doc["type"] == "urn:ietf:params:acme:error:badSignatureAlgorithm"


def test_no_identifier_or_subproblems_members_when_absent():
    doc = problems.Malformed("x").to_json()
    assert "identifier" not in doc
    assert "subproblems" not in doc


def test_headers_are_kept_but_not_rendered():
    p = problems.RateLimited("slow down", headers={"Retry-After": "10"})
    assert p.headers == {"Retry-After": "10"}
    assert "Retry-After" not in p.to_json()
    assert p.to_json()["status"] == 429


def test_status_override_is_per_instance():
    p = problems.Malformed("no such order", status=404)
    assert p.status == 404
    assert p.to_json()["status"] == 404
    assert problems.Malformed.status == 400
    assert problems.Malformed("other").status == 400


def test_arguments_are_copied():
    ident = {"type": "dns", "value": "a.example"}
    subs = [problems.Malformed("a")]
    extra = {"algorithms": ["ES256"]}
    p = problems.Compound("x", identifier=ident, subproblems=subs, extra=extra)
    ident["value"] = "changed"
    subs.append(problems.Malformed("b"))
    extra["more"] = 1
    assert p.identifier == {"type": "dns", "value": "a.example"}
    assert len(p.subproblems) == 1
    assert p.extra == {"algorithms": ["ES256"]}


def test_base_problem_is_server_internal():
    assert Problem("x").to_json()["type"] == "urn:ietf:params:acme:error:serverInternal"
    assert Problem("x").status == 500


@pytest.mark.parametrize("name,type_,status", EXPECTED, ids=[e[0] for e in EXPECTED])
def test_from_type_short_and_full_names(name, type_, status):
    short = from_type(type_, "d1")
    full = from_type(URN_PREFIX + type_, "d2")
    assert type(short) is getattr(problems, name)
    assert type(full) is getattr(problems, name)
    assert short.detail == "d1" and full.detail == "d2"
    assert full.status == status


def test_from_type_passes_keyword_arguments():
    p = from_type("dns", "no TXT record", identifier={"type": "dns", "value": "a.example"})
    assert isinstance(p, problems.DNS)
    assert p.to_json()["identifier"] == {"type": "dns", "value": "a.example"}


@pytest.mark.parametrize(
    "bad",
    ["nope", "urn:ietf:params:acme:error:nope", "BADNONCE", "", "urn:ietf:params:acme:error:"],
)
def test_from_type_refuses_unknown_types(bad):
    with pytest.raises(ValueError) as info:
        from_type(bad, "x")
    assert repr(bad) in str(info.value)
    assert "badNonce" in str(info.value)  # lists the known ones
