import os

import pytest

CLIENTS = os.path.join(os.path.dirname(__file__), "clients")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clients", action="store_true",
        help="also run tests/clients: real ACME client programs (lego, certbot, dehydrated, "
        "acme-tiny) against the server; `tox -e clients` does this",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if config.getoption("--clients"):
        return
    skipped = [item for item in items if str(item.fspath).startswith(CLIENTS + os.sep)]
    if skipped:
        config.hook.pytest_deselected(items=skipped)
        items[:] = [item for item in items if item not in skipped]
