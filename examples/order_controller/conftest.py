"""Fixtures for the controller's tests: a ``controller`` wired to the
``acme_server`` fixture (its DNS zone for dns-01, its clock for event ages),
and a report section: when a test that uses it fails, pytest shows the
controller's ``describe()`` of every Order under the failure, next to the
server's own report."""

import pytest
from controller import Controller


@pytest.fixture
def controller(acme_server, acme_dns):
    return Controller(acme_server.directory_url, acme_server.ca_bundle, acme_dns.set_txt,
                      now=acme_server.clock.now)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    controller = getattr(item, "funcargs", {}).get("controller")
    if report.failed and controller is not None:
        report.sections.append(("order controller: describe", controller.describe()))
