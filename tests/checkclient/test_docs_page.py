"""docs/check-client.md lists every scenario, with the words of scenarios.py."""

from __future__ import annotations

import pathlib
import re

from pytest_acme.checkclient import SCENARIOS, listing

PAGE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "check-client.md"


def test_the_page_lists_every_scenario_as_the_code_does():
    rows = re.findall(r"^\| `([a-z-]+)` \| (.+?) \| (?:the certificate|either|a clean failure) \|$",
                      PAGE.read_text(), flags=re.M)
    assert rows == [(s.name, s.what) for s in SCENARIOS]


def test_the_listing_is_the_table_of_scenarios():
    assert [line.split(None, 1) for line in listing().splitlines()] == [
        [s.name, s.what] for s in SCENARIOS]
