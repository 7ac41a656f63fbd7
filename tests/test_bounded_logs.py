"""The event timeline and the request log are bounded, and say what they dropped:
in ``AcmeServer.logs()``, ``describe()``, ``describe_requests()`` and the
management API."""

from __future__ import annotations

import pytest
import requests
from acme import messages
from werkzeug.test import Client

from helpers import account_client
from pytest_acme import AcmeConfig
from pytest_acme.standalone.management import make_management_app
from pytest_acme.store import BoundedLog


def test_a_bounded_log_keeps_the_newest_and_counts_the_rest():
    log: BoundedLog[int] = BoundedLog(3)
    for i in range(10):
        log.append(i)
    assert list(log) == [7, 8, 9]
    assert log.status() == {"kept": 3, "limit": 3, "dropped": 7}
    smaller = log.resized(2)
    assert list(smaller) == [8, 9] and smaller.dropped == 8
    log.clear()
    assert log.status() == {"kept": 0, "limit": 3, "dropped": 0}


def test_log_sizes_are_validated():
    with pytest.raises(ValueError, match="request_log_size"):
        AcmeConfig(request_log_size=0)


def _nonces(server, n):
    url = requests.get(server.directory_url, verify=server.ca_bundle, timeout=10).json()[
        "newNonce"]
    for _ in range(n):
        requests.head(url, verify=server.ca_bundle, timeout=10)


@pytest.mark.acme(request_log_size=5)
def test_a_full_request_log_drops_the_oldest_and_says_so(acme_server):
    _nonces(acme_server, 7)  # with the directory: 8 requests
    assert acme_server.logs()["requests"] == {"kept": 5, "limit": 5, "dropped": 3}
    assert [r.method for r in acme_server.requests] == ["HEAD"] * 5
    assert acme_server.describe_requests(last=5).splitlines()[0] == "Requests (last 5 of 8):"


@pytest.mark.acme(event_log_size=3)
def test_describe_says_when_events_were_dropped(acme_server):
    acme = account_client(acme_server)

    for name in ("a.test", "b.test"):
        acme.net.post(acme.directory["newOrder"], messages.NewOrder(identifiers=[
            messages.Identifier(typ=messages.IDENTIFIER_FQDN, value=name)]))
    logs = acme_server.logs()["events"]
    assert logs["kept"] == 3 and logs["dropped"] > 0
    assert f"{logs['dropped']} older event(s) were dropped" in acme_server.describe()
    mgmt = Client(make_management_app(acme_server))
    assert mgmt.get("/pytest-acme/logs").get_json()["events"] == logs
    events = mgmt.get("/pytest-acme/events")
    assert len(events.get_json()) == 3
    assert events.headers["Pytest-Acme-Dropped"] == str(logs["dropped"])
    index = mgmt.get("/pytest-acme/").get_json()["endpoints"]
    assert any(e["path"] == "/pytest-acme/logs" for e in index)


@pytest.mark.acme(request_log_size=4)
def test_management_requests_say_how_many_were_dropped(acme_server):
    _nonces(acme_server, 6)
    mgmt = Client(make_management_app(acme_server))
    response = mgmt.get("/pytest-acme/requests")
    assert len(response.get_json()) == 4
    assert response.headers["Pytest-Acme-Dropped"] == "3"  # 7 requests, 4 kept


def test_nothing_dropped_means_no_note(acme_server):
    assert acme_server.logs()["events"]["dropped"] == 0
    assert "dropped" not in acme_server.describe()
