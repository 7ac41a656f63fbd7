"""Resource floods, bounded in count: pending orders of 100 identifiers from
several accounts.  Each refusal is the right problem with a live nonce, and
what the server keeps stays under its limits.  (The management listings' pages:
tests/standalone/test_management_pages.py; the responders' logs:
tests/test_responder_logs.py.)"""

from __future__ import annotations

from wsgi_world import World, assert_problem

FLOOD = 30


def identifiers(n: int, count: int = 100):
    return [{"type": "dns", "value": f"{i}.{n}.flood.test"} for i in range(count)]


def test_a_pending_order_flood_is_refused_past_the_limits():
    world = World(max_pending_orders_per_account=4, max_pending_orders=10)
    flooders = [world.actor() for _ in range(3)]
    answers = []
    for n in range(FLOOD):
        who = flooders[n % 3]
        response = world.signed(who, world.directory["newOrder"],
                                {"identifiers": identifiers(n)})
        answers.append(response.status_code)
        if response.status_code != 201:
            assert_problem(response, "rateLimited", 429, "too many currently pending orders")
            assert int(response.headers["Retry-After"]) >= 1
            assert world.app.nonces.consume(response.headers["Replay-Nonce"])
        world.check_invariants()
    assert answers.count(201) == 10  # three accounts of four each, ten in all
    assert len(world.app.store.orders) == 10
    assert len(world.app.store.authzs) == 10 * 100
    # A fourth account is refused by the server-wide limit too.
    response = world.signed(world.actor(), world.directory["newOrder"],
                            {"identifiers": identifiers(99, 1)})
    assert_problem(response, "rateLimited", 429, "max_pending_orders")
