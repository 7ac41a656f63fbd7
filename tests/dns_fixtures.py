"""Fixtures for the tests of the DNS side (pytest_acme.va.zone and .dnsserver), in
folders of their own: an empty zone, and the DNS server answering from it on a free
loopback port.  A test module imports the ones it uses, by their function names
(``from dns_fixtures import fixture_server, fixture_zone``); tests ask for them
as ``server`` and ``zone``."""

from __future__ import annotations

from typing import Iterator

import pytest

from pytest_acme.va.dnsserver import DnsServer
from pytest_acme.va.zone import Zone


@pytest.fixture(name="zone")
def fixture_zone() -> Zone:
    return Zone()


@pytest.fixture(name="server")
def fixture_server(zone: Zone) -> Iterator[DnsServer]:
    with DnsServer(zone) as dns_server:
        yield dns_server
