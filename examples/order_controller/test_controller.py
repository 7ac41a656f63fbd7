"""Copy me: test a controller-style ACME client (``controller.py``) against pytest-acme.

Each ``reconcile()`` takes one step and polls the CA once; between steps the
tests wait for the server to finish its background work
(``acme_server.wait_idle``), never for the wall clock.  When a test fails,
the controller's ``describe()`` is printed under it (see ``conftest.py``).
"""

import datetime
import textwrap
from pathlib import Path

import pytest
from controller import Certificate

from pytest_acme.faults import fail_challenge

_HERE = Path(__file__).parent


def reconcile_until_settled(controller, cert, server, steps=10):
    """Reconcile until the current Order is invalid, or valid with its certificate."""
    for _ in range(steps):
        order = controller.reconcile(cert)
        if order.state == "invalid" or order.chain_pem is not None:
            return order
        server.wait_idle()
    return order


def test_an_order_goes_to_valid_and_describe_tells_its_story(controller, acme_server):
    cert = Certificate("example-com", ("test1.example.test", "test2.example.test"))
    order = reconcile_until_settled(controller, cert, acme_server)

    assert order.state == "valid"
    assert order.chain_pem.count("BEGIN CERTIFICATE") == 2
    text = controller.describe(order)
    assert f"State:         valid\nURL:           {order.url}\n" in text
    assert [e.reason for e in order.events] == ["Created", "Created", "Finalized", "Complete"]
    assert f'Created Challenge resource "{order.name}-0" for domain "test1.example.test"' in text
    assert f'Created Challenge resource "{order.name}-1" for domain "test2.example.test"' in text
    # The controller's URL is the server's order, and the server agrees it is valid.
    assert acme_server.lookup(order.url).status.value == "valid"


@pytest.mark.acme(faults=[fail_challenge("flaky.example.test", problem="dns")])
def test_a_failed_order_is_reported_and_a_new_one_made(controller, acme_server):
    cert = Certificate("flaky", ("flaky.example.test",))
    failed = reconcile_until_settled(controller, cert, acme_server)

    assert failed.state == "invalid"
    assert failed.reason.startswith("urn:ietf:params:acme:error:dns: ")
    assert "Warning  Failed" in controller.describe(failed)

    # An Order is not retried in place: the next step makes a new one.
    retry = reconcile_until_settled(controller, cert, acme_server)
    assert (retry.name, retry.url) != (failed.name, failed.url)
    assert retry.state == "valid"  # the fault fired once
    assert retry.events[0].message == f"Replaces Order {failed.name!r}: Order {failed.name!r} is invalid"
    assert failed.state == "invalid" and acme_server.lookup(failed.url).status.value == "invalid"


def test_changed_names_make_a_new_order_and_leave_the_old_one(controller, acme_server):
    cert = Certificate("site", ("site.example.test",))
    first = reconcile_until_settled(controller, cert, acme_server)
    cert.dns_names = ("site.example.test", "www.site.example.test")
    second = reconcile_until_settled(controller, cert, acme_server)

    assert first.state == second.state == "valid"
    assert first.url != second.url
    assert first.dns_names == ("site.example.test",)
    assert "the certificate's names changed" in second.events[0].message
    assert [o.name for o in controller.orders] == [first.name, second.name]


def test_an_order_that_expires_before_it_is_finalized_is_replaced(controller, acme_server):
    cert = Certificate("late", ("late.example.test",))
    order = controller.reconcile(cert)        # created, challenges answered
    acme_server.wait_idle()                   # validated: the order is ready ...
    acme_server.clock.advance(datetime.timedelta(days=2))  # ... until it expires
    order = controller.reconcile(cert)

    assert order.state == "invalid"
    assert "expire" in order.reason
    assert "Warning  Failed" in controller.describe(order)
    assert controller.reconcile(cert).url != order.url


def test_a_failing_test_shows_the_controllers_describe(pytester):
    """What a failure looks like: the describe() section under the traceback."""
    here = pytester.path
    for name in ("controller.py", "conftest.py"):
        (here / name).write_text((_HERE / name).read_text())
    pytester.makepyfile(test_fails=textwrap.dedent("""
        from controller import Certificate
        from pytest_acme.faults import fail_challenge
        import pytest

        @pytest.mark.acme(faults=[fail_challenge("broken.example.test")])
        def test_expects_valid(controller, acme_server):
            cert = Certificate("broken", ("broken.example.test",))
            order = controller.reconcile(cert)
            acme_server.wait_idle()
            order = controller.reconcile(cert)
            assert order.state == "valid"
    """))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*- order controller: describe -*",
        "Name:          broken-*",
        "State:         invalid",
        "*Warning  Failed *Order failed: urn:ietf:params:acme:error:connection: *",
    ])

