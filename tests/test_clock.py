"""The server clock (pytest_acme.clock): real time plus an offset tests move forward."""

from __future__ import annotations

import datetime as dt

import pytest

from pytest_acme.clock import Clock

BASE = dt.datetime(2030, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


class FrozenSource:
    """A real-time source that only moves when the test says so (no sleeping)."""

    def __init__(self, when: dt.datetime = BASE) -> None:
        self.when = when

    def __call__(self) -> dt.datetime:
        return self.when


@pytest.fixture
def source() -> FrozenSource:
    return FrozenSource()


@pytest.fixture
def clock(source) -> Clock:
    return Clock(source)


def test_starts_at_real_time(clock):
    assert clock.now() == BASE
    assert clock.offset == dt.timedelta(0)


def test_follows_its_source(clock, source):
    source.when = BASE + dt.timedelta(seconds=3)
    assert clock.now() == BASE + dt.timedelta(seconds=3)


@pytest.mark.parametrize(
    "amount,delta",
    [
        (3600, dt.timedelta(hours=1)),
        (1.5, dt.timedelta(seconds=1.5)),
        (0, dt.timedelta(0)),
        (dt.timedelta(days=2), dt.timedelta(days=2)),
        (dt.timedelta(microseconds=1), dt.timedelta(microseconds=1)),
    ],
)
def test_advance_by_number_or_timedelta(clock, amount, delta):
    returned = clock.advance(amount)
    assert returned == BASE + delta
    assert clock.now() == BASE + delta
    assert clock.offset == delta


def test_advances_add_up(clock):
    clock.advance(60)
    clock.advance(dt.timedelta(minutes=1))
    clock.advance(0.5)
    assert clock.offset == dt.timedelta(seconds=120.5)
    assert clock.now() == BASE + dt.timedelta(seconds=120.5)


def test_offset_survives_real_time_moving(clock, source):
    clock.advance(100)
    source.when = BASE + dt.timedelta(seconds=10)
    assert clock.now() == BASE + dt.timedelta(seconds=110)


@pytest.mark.parametrize("amount", [-1, -0.001, dt.timedelta(seconds=-1),
                                    dt.timedelta(microseconds=-1)])
def test_refuses_to_go_back(clock, amount):
    clock.advance(10)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(amount)
    assert clock.offset == dt.timedelta(seconds=10)


@pytest.mark.parametrize(
    "amount",
    ["60", None, True, False, [1], b"1", dt.datetime(2030, 1, 1), "1.5", object()],
    ids=lambda v: "object" if type(v) is object else repr(v),
)
def test_refuses_non_numbers(clock, amount):
    with pytest.raises(TypeError) as info:
        clock.advance(amount)
    assert "seconds" in str(info.value)
    assert repr(amount) in str(info.value)
    assert clock.offset == dt.timedelta(0)


@pytest.mark.parametrize("amount", [float("nan"), float("inf"), 1e300], ids=repr)
def test_refuses_amounts_that_are_not_a_time(clock, amount):
    with pytest.raises((ValueError, OverflowError)):
        clock.advance(amount)
    assert clock.offset == dt.timedelta(0)
    assert clock.now() == BASE


def test_reset_goes_back_to_real_time(clock, source):
    clock.advance(dt.timedelta(days=3))
    clock.reset()
    assert clock.offset == dt.timedelta(0)
    assert clock.now() == BASE
    clock.advance(5)  # still usable after a reset
    assert clock.now() == BASE + dt.timedelta(seconds=5)


def test_default_now_is_timezone_aware_utc():
    clock = Clock()
    now = clock.now()
    assert now.tzinfo is not None
    assert now.utcoffset() == dt.timedelta(0)
    real = dt.datetime.now(dt.timezone.utc)
    assert abs(real - now) < dt.timedelta(minutes=1)


def test_default_advance_moves_real_time_forward():
    clock = Clock()
    later = clock.advance(dt.timedelta(days=1))
    assert later.utcoffset() == dt.timedelta(0)
    real = dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(hours=23) < later - real <= dt.timedelta(days=1)


def test_repr_shows_time_and_offset(clock):
    clock.advance(60)
    assert repr(clock) == "<Clock 2030-01-01T12:01:00+00:00 (real time + 0:01:00)>"


@pytest.mark.acme(validation="always_valid", validation_delay=30)
def test_validation_delay_counts_from_the_answer_not_from_the_worker(acme_server):
    """The clock moved past the delay before a worker picked the job up: the
    validation is due at once, not 30 s after the worker started."""
    import threading

    from helpers import account_client, make_csr

    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["queued.example.test"]))
    challb = order.authorizations[0].body.challenges[0]
    busy = threading.Event()
    for _ in range(8):  # every worker thread busy, more jobs queued behind them
        acme_server.app.workers.submit(busy.wait, 10)
    acme.answer_challenge(challb, challb.chall.response(acme.net.key))
    acme_server.clock.advance(31)
    busy.set()
    acme_server.wait_idle(timeout=5)  # raises if the validation still waits
    status = acme._post_as_get(challb.uri).json()["status"]
    assert status == "valid"
