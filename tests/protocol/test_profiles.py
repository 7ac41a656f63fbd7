"""Profiles (pytest_acme.protocol.profiles), as plain calls."""

from __future__ import annotations

import pytest

from pytest_acme.protocol import problems
from pytest_acme.protocol.profiles import DEFAULT_PROFILES, Profile, choose_profile, parse_profiles


def test_defaults_and_explicit_profiles():
    assert parse_profiles(None) == DEFAULT_PROFILES
    assert parse_profiles({}) == {}
    parsed = parse_profiles({"a": {"validity": 60, "common_name": False}, "b": Profile("B")})
    assert parsed["a"] == Profile("a", 60, False) and parsed["b"].lifetime(99) == 99


@pytest.mark.parametrize("bad", [[], {"": {}}, {"a": 5}, {"a": {"validity": -1}},
                                 {"a": {"validity": True}}, {"a": {"x": 1}}])
def test_bad_profiles(bad):
    with pytest.raises(ValueError):
        parse_profiles(bad)


def test_choose_profile():
    profiles = parse_profiles(None)
    assert choose_profile(profiles, "classic", None) == "classic"
    assert choose_profile(profiles, "classic", "") == "classic"
    assert choose_profile(profiles, "classic", "shortlived") == "shortlived"
    with pytest.raises(problems.InvalidProfile, match="classic, shortlived"):
        choose_profile(profiles, "classic", "tlsserver")
    with pytest.raises(problems.Malformed):
        choose_profile(profiles, "classic", ["classic"])
    with pytest.raises(problems.InvalidProfile, match="no profiles"):
        choose_profile({}, None, "classic")
