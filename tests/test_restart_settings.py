"""The settings that need a new server are listed once, in
:data:`pytest_acme.config.RESTART_SETTINGS`; the server, the plugin and the
documentation take them from there."""

from __future__ import annotations

import pathlib
import re

import pytest

from pytest_acme import AcmeServer, config, plugin, server

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"


def test_every_restart_setting_is_a_setting():
    assert config.RESTART_SETTINGS - set(config.FIELD_NAMES) == set()


def test_server_and_plugin_use_the_one_list():
    assert server.RESTART_SETTINGS is config.RESTART_SETTINGS
    assert plugin.RESTART_SETTINGS is config.RESTART_SETTINGS


@pytest.mark.parametrize("page", ["fixtures.md", "configuration.md"])
def test_reference_pages_generate_the_list(page):
    text = (DOCS / "reference" / page).read_text()
    assert "```{restart-settings}\n```" in text
    # no list written by hand next to it: three of the names in a row
    assert not re.search(r"`(host|port|tls)`, `\w+`, `\w+`", text)


def test_reconfigure_refuses_a_restart_setting():
    with AcmeServer(tls=False, dns_port=None) as acme:
        with pytest.raises(ValueError, match="chain_length cannot change on a running server"):
            acme.reconfigure(chain_length=2)
        acme.reconfigure(order_expiry=60)
        assert acme.config.order_expiry == 60
