"""Copy me: configure the server for every test under this directory in code.

The plugin reads its settings from the ``acme_server_config`` fixture; override
it in a ``conftest.py`` with a session-scoped fixture that returns an
:class:`pytest_acme.AcmeConfig`.  Here the tests want a server that behaves
like Let's Encrypt (Boulder's rules), asks clients to poll a processing order
(asynchronous finalize) after 2 seconds, and lets orders live 10 minutes.

A single test can still change a setting with ``@pytest.mark.acme(...)``; the
marker's settings go on top of these, for that test only.
"""

import pytest

from pytest_acme import AcmeConfig


@pytest.fixture(scope="session")
def acme_server_config():
    return AcmeConfig(boulder=True, finalize="async", retry_after=2, order_expiry=600)
