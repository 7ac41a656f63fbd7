"""The in-memory DNS data: pebble-challtestsrv's semantics (a default address
for every name, explicit records override, CNAMEs followed)."""

import threading

import pytest

from pytest_acme.va.zone import MAX_CNAME_HOPS, CaaRecord, CnameLoop, Zone, ZoneError, ZoneServfail


def test_every_name_has_the_default_ipv4_and_no_aaaa():
    zone = Zone()
    assert zone.resolve_a("anything.example") == ["127.0.0.1"]
    assert zone.resolve_aaaa("anything.example") == []


def test_defaults_are_configurable():
    zone = Zone()
    zone.set_default_ipv4("10.1.2.3")
    zone.set_default_ipv6("::1")
    assert zone.resolve_a("x.example") == ["10.1.2.3"]
    assert zone.resolve_aaaa("x.example") == ["::1"]
    zone.set_default_ipv6(None)
    assert zone.resolve_aaaa("x.example") == []


def test_defaults_are_validated():
    zone = Zone()
    with pytest.raises(ValueError):
        zone.set_default_ipv4("::1")
    with pytest.raises(ValueError):
        zone.set_default_ipv6("127.0.0.1")
    with pytest.raises(ValueError):
        zone.add_a("x.example", "not an address")


def test_explicit_a_replaces_the_default_for_that_name_only():
    zone = Zone()
    zone.add_a("web.example", "10.0.0.7")
    zone.add_a("web.example", "10.0.0.8")
    zone.add_a("web.example", "10.0.0.8")  # no duplicates
    assert zone.resolve_a("web.example") == ["10.0.0.7", "10.0.0.8"]
    assert zone.resolve_a("other.example") == ["127.0.0.1"]
    zone.clear_a("web.example")
    assert zone.resolve_a("web.example") == ["127.0.0.1"]


def test_explicit_aaaa_is_normalised_and_clearable():
    zone = Zone()
    zone.add_aaaa("web.example", "2001:DB8:0:0::1")
    assert zone.resolve_aaaa("web.example") == ["2001:db8::1"]
    zone.clear_aaaa("web.example")
    assert zone.resolve_aaaa("web.example") == []


def test_names_are_case_insensitive_and_trailing_dot_is_ignored():
    zone = Zone()
    zone.add_a("WEB.Example.", "10.0.0.7")
    zone.set_txt("_ACME-challenge.web.example", "v")
    assert zone.resolve_a("web.example") == ["10.0.0.7"]
    assert zone.txt("_acme-challenge.WEB.EXAMPLE.") == ["v"]


def test_txt_holds_several_values():
    zone = Zone()
    assert zone.txt("_acme-challenge.example.com") == []
    zone.set_txt("_acme-challenge.example.com", "one")
    zone.set_txt("_acme-challenge.example.com", "two")
    assert zone.txt("_acme-challenge.example.com") == ["one", "two"]
    zone.clear_txt("_acme-challenge.example.com")
    assert zone.txt("_acme-challenge.example.com") == []


def test_txt_value_longer_than_one_character_string_is_refused():
    with pytest.raises(ValueError):
        Zone().set_txt("x.example", "a" * 256)


def test_caa_records():
    zone = Zone()
    zone.add_caa("example.com", 0, "ISSUE", "pytest-acme.test")
    zone.add_caa("example.com", 128, "issuewild", ";")
    assert zone.caa("example.com") == [
        CaaRecord(0, "issue", "pytest-acme.test"),
        CaaRecord(128, "issuewild", ";"),
    ]
    assert zone.caa("sub.example.com") == []  # no climbing: the caller's job
    zone.clear_caa("example.com")
    assert zone.caa("example.com") == []
    with pytest.raises(ValueError):
        zone.add_caa("example.com", 256, "issue", "x")


def test_cname_is_followed_and_hides_the_default():
    zone = Zone()
    zone.add_a("web.example", "10.0.0.7")
    zone.set_txt("web.example", "t")
    zone.set_cname("www.example", "web.example")
    assert zone.resolve_a("www.example") == ["10.0.0.7"]
    assert zone.txt("www.example") == ["t"]
    answer = zone.lookup("www.example", "A")
    assert answer.cnames == (("www.example", "web.example"),)
    assert answer.owner == "web.example"
    assert zone.cname("www.example") == "web.example"
    assert zone.cname("web.example") is None


def test_cname_target_without_records_gets_the_default():
    zone = Zone()
    zone.set_cname("www.example", "elsewhere.example")
    assert zone.resolve_a("www.example") == ["127.0.0.1"]


def test_records_of_a_name_with_a_cname_are_ignored_until_it_is_cleared():
    zone = Zone()
    zone.add_a("www.example", "10.0.0.1")
    zone.add_a("web.example", "10.0.0.2")
    zone.set_cname("www.example", "web.example")
    assert zone.resolve_a("www.example") == ["10.0.0.2"]
    zone.clear_cname("www.example")
    assert zone.resolve_a("www.example") == ["10.0.0.1"]


def test_cname_chain_within_the_limit_is_followed():
    zone = Zone()
    for i in range(MAX_CNAME_HOPS):
        zone.set_cname(f"n{i}.example", f"n{i + 1}.example")
    zone.add_a(f"n{MAX_CNAME_HOPS}.example", "10.9.9.9")
    assert zone.resolve_a("n0.example") == ["10.9.9.9"]


def test_cname_chain_too_long_is_an_error():
    zone = Zone()
    for i in range(MAX_CNAME_HOPS + 1):
        zone.set_cname(f"n{i}.example", f"n{i + 1}.example")
    with pytest.raises(CnameLoop, match="longer than"):
        zone.resolve_a("n0.example")


def test_cname_loop_is_a_clear_error():
    zone = Zone()
    zone.set_cname("a.example", "b.example")
    zone.set_cname("b.example", "a.example")
    with pytest.raises(CnameLoop, match="a.example -> b.example -> a.example") as info:
        zone.txt("a.example")
    assert isinstance(info.value, ZoneError)
    assert info.value.chain == ["a.example", "b.example", "a.example"]


def test_servfail_applies_to_every_lookup_and_through_cnames():
    zone = Zone()
    zone.set_servfail("Broken.example.")
    zone.set_cname("alias.example", "broken.example")
    for lookup in (zone.resolve_a, zone.resolve_aaaa, zone.txt, zone.caa, zone.cname):
        with pytest.raises(ZoneServfail) as info:
            lookup("broken.example")
        assert info.value.name == "broken.example"
    with pytest.raises(ZoneServfail):
        zone.resolve_a("alias.example")
    zone.clear_servfail("broken.example")
    assert zone.resolve_a("alias.example") == ["127.0.0.1"]


def test_reset_forgets_everything():
    zone = Zone()
    zone.set_default_ipv4("10.0.0.1")
    zone.set_default_ipv6("::1")
    zone.add_a("a.example", "10.0.0.2")
    zone.add_aaaa("a.example", "::2")
    zone.set_cname("c.example", "a.example")
    zone.set_txt("a.example", "t")
    zone.add_caa("a.example", 0, "issue", "x")
    zone.set_servfail("s.example")
    zone.reset()
    assert zone.resolve_a("a.example") == ["127.0.0.1"]
    assert zone.resolve_aaaa("a.example") == []
    assert zone.cname("c.example") is None
    assert zone.txt("a.example") == []
    assert zone.caa("a.example") == []
    assert zone.resolve_a("s.example") == ["127.0.0.1"]


def test_unknown_record_type_is_refused():
    with pytest.raises(ValueError):
        Zone().lookup("x.example", "MX")


def test_concurrent_edits_and_lookups():
    zone = Zone()
    errors = []

    def edit(n):
        try:
            for i in range(200):
                zone.set_txt(f"t{n}.example", str(i))
                zone.txt(f"t{n}.example")
                zone.clear_txt(f"t{n}.example")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_records_lists_what_was_set_by_name_then_type():
    zone = Zone()
    assert zone.records() == []
    zone.set_txt("_acme-challenge.B.test.", "v1")
    zone.set_txt("_acme-challenge.b.test", "v2")
    zone.add_a("a.test", "10.0.0.1")
    zone.add_aaaa("a.test", "::2")
    zone.set_cname("www.a.test", "a.test")
    zone.add_caa("a.test", 128, "ISSUE", "ca.test")
    zone.set_servfail("broken.test")
    assert zone.records() == [
        ("_acme-challenge.b.test", "TXT", "v1"), ("_acme-challenge.b.test", "TXT", "v2"),
        ("a.test", "A", "10.0.0.1"), ("a.test", "AAAA", "::2"),
        ("a.test", "CAA", "128 issue ca.test"),
        ("broken.test", "SERVFAIL", ""), ("www.a.test", "CNAME", "a.test")]
    zone.clear_txt("_acme-challenge.b.test")
    zone.reset()
    assert zone.records() == []


def test_rrset_in_use_and_delete_see_only_the_names_own_records():
    zone = Zone()
    assert zone.rrset("n.example", "A") == [] and not zone.in_use("n.example")  # default only
    zone.add_a("n.example", "10.0.0.1")
    zone.add_a("n.example", "10.0.0.2")
    zone.add_caa("n.example", 0, "issue", "ca.example")
    zone.set_cname("alias.example", "n.example")
    assert zone.rrset("alias.example", "CNAME") == ["n.example"]
    assert zone.rrset("alias.example", "A") == []  # not followed
    zone.delete("n.example", "A", "10.0.0.1")
    assert zone.rrset("N.example.", "A") == ["10.0.0.2"]
    zone.delete("n.example", "A", "10.9.9.9")  # absent: no error
    zone.delete("n.example", "A")
    assert zone.resolve_a("n.example") == ["127.0.0.1"] and zone.in_use("n.example")
    zone.delete("n.example", "CAA", CaaRecord(0, "issue", "ca.example"))
    zone.delete("alias.example", "CNAME", "elsewhere.example")  # not its target: stays
    assert zone.in_use("alias.example") and not zone.in_use("n.example")
    with pytest.raises(ValueError, match="MX"):
        zone.rrset("n.example", "MX")
