"""The management listings come in pages (``?cursor=``, ``?limit=``, ``Link:
rel="next"``, ``Pytest-Acme-Total``), so one answer stays small however many
orders, accounts, events or requests the server holds; small results keep
their shape.  Orders are made by certbot's ``acme`` library."""

from __future__ import annotations

from typing import Any, List, Tuple

import pytest
from werkzeug.test import Client

from helpers import account_client, new_order
from pytest_acme.standalone.management import base as management_base


def orders(server, count: int, accounts: int = 1) -> List[str]:
    clients = [account_client(server) for _ in range(accounts)]
    return [new_order(clients[i % accounts], [f"o{i}.example.test"]).uri
            for i in range(count)]


def follow(mgmt: Client, path: str) -> Tuple[List[Any], List[str]]:
    """Every entry of a listing, page by page along ``Link: rel="next"``; and the
    paths asked for."""
    entries: List[Any] = []
    asked = []
    while path:
        asked.append(path)
        response = mgmt.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)
        entries += response.get_json()
        link = response.headers.get("Link")
        if link is None:
            break
        assert link.endswith('>;rel="next"') and link.startswith("</pytest-acme/")
        path = link[1:link.index(">")]
        assert len(asked) < 50
    return entries, asked


def test_orders_come_in_pages_along_link_next(server, mgmt):
    made = orders(server, 5)
    entries, asked = follow(mgmt, "/pytest-acme/orders?limit=2")
    assert [o["url"] for o in entries] == made
    assert asked == ["/pytest-acme/orders?limit=2", "/pytest-acme/orders?cursor=2&limit=2",
                     "/pytest-acme/orders?cursor=4&limit=2"]
    first = mgmt.get("/pytest-acme/orders?limit=2")
    assert first.headers["Pytest-Acme-Total"] == "5"
    assert len(first.get_json()) == 2
    # A small listing keeps its shape: the whole array, and no Link.
    whole = mgmt.get("/pytest-acme/orders")
    assert [o["url"] for o in whole.get_json()] == made
    assert "Link" not in whole.headers and whole.headers["Pytest-Acme-Total"] == "5"
    # Past the end: an empty page.
    assert mgmt.get("/pytest-acme/orders?cursor=9").get_json() == []


def test_the_default_page_is_bounded(server, mgmt, monkeypatch):
    monkeypatch.setattr(management_base, "PAGE_SIZE", 3)
    made = orders(server, 4)
    response = mgmt.get("/pytest-acme/orders")
    assert [o["url"] for o in response.get_json()] == made[:3]
    assert response.headers["Link"] == '</pytest-acme/orders?cursor=3&limit=3>;rel="next"'
    assert follow(mgmt, "/pytest-acme/describe.json")[0][3]["url"] == made[3]
    # Smaller entries come in larger pages by default.
    assert len(mgmt.get("/pytest-acme/events").get_json()) > 3
    monkeypatch.setattr(management_base, "SMALL_PAGE_SIZE", 2)
    for path in ("/pytest-acme/events", "/pytest-acme/requests", "/pytest-acme/accounts"):
        response = mgmt.get(path)
        assert len(response.get_json()) == (1 if path.endswith("accounts") else 2)
        assert ("Link" in response.headers) is not path.endswith("accounts")


def test_every_listing_pages(server, mgmt):
    made = orders(server, 3, accounts=3)
    accounts, _ = follow(mgmt, "/pytest-acme/accounts?limit=1")
    assert [a["orders"] for a in accounts] == [[u] for u in made]
    described, _ = follow(mgmt, "/pytest-acme/describe.json?limit=2")
    assert [o["url"] for o in described] == made
    assert all(o["events"] for o in described)
    everything = mgmt.get("/pytest-acme/events").get_json()
    events, asked = follow(mgmt, "/pytest-acme/events?limit=4")
    assert events == everything and len(asked) == -(-len(everything) // 4)
    of_one, _ = follow(mgmt, f"/pytest-acme/events?order={made[1]}&limit=1")
    assert of_one == mgmt.get(f"/pytest-acme/events?order={made[1]}").get_json()
    assert len(of_one) > 1
    requests = mgmt.get("/pytest-acme/requests").get_json()
    paged, _ = follow(mgmt, "/pytest-acme/requests?limit=3")
    assert paged == requests
    # last=N picks the newest N, and they page too; the Link keeps last=.
    response = mgmt.get("/pytest-acme/requests?last=5&limit=2")
    assert response.headers["Link"].startswith("</pytest-acme/requests?last=5&cursor=2")
    assert follow(mgmt, "/pytest-acme/requests?last=5&limit=2")[0] == requests[-5:]


def test_describe_text_pages_and_says_where_the_rest_is(server, mgmt):
    made = orders(server, 3)
    response = mgmt.get("/pytest-acme/describe?limit=2")
    text = response.get_data(as_text=True)
    assert made[0] in text and made[1] in text and made[2] not in text
    assert "GET /pytest-acme/describe?cursor=2&limit=2" in text
    assert response.headers["Link"] == '</pytest-acme/describe?cursor=2&limit=2>;rel="next"'
    rest = mgmt.get("/pytest-acme/describe?cursor=2&limit=2").get_data(as_text=True)
    assert made[2] in rest and "Link" not in mgmt.get("/pytest-acme/describe").headers
    assert "No orders from cursor=7" in mgmt.get(
        "/pytest-acme/describe?cursor=7").get_data(as_text=True)


@pytest.mark.parametrize("query, words", [
    ("cursor=-1", "cursor="), ("cursor=%C2%B2", "cursor="), ("cursor=" + "9" * 5000, "cursor="),
    ("cursor=", "cursor="), ("limit=0", "limit="), ("limit=1001", "1 to 1000"),
    ("limit=x", "limit="),
])
@pytest.mark.parametrize("path", ["/pytest-acme/orders", "/pytest-acme/accounts",
                                  "/pytest-acme/events", "/pytest-acme/requests",
                                  "/pytest-acme/describe", "/pytest-acme/describe.json"])
def test_bad_cursors_and_limits_get_a_400(mgmt, path, query, words):
    response = mgmt.get(f"{path}?{query}")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert words in response.get_json()["error"]
