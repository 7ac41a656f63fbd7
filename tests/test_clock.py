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

    from helpers import account_client, challenge, make_csr

    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["queued.example.test"]))
    challb = challenge(order.authorizations[0])
    busy = threading.Event()
    for _ in range(8):  # every worker thread busy, more jobs queued behind them
        acme_server.app.workers.submit(busy.wait, 10)
    acme.answer_challenge(challb, challb.chall.response(acme.net.key))
    acme_server.clock.advance(31)
    busy.set()
    acme_server.wait_idle(timeout=5)  # raises if the validation still waits
    status = acme._post_as_get(challb.uri).json()["status"]
    assert status == "valid"


# -- pinning time: set, freeze, resume, frozen() ----------------------------------


def test_set_jumps_forward_to_an_instant(clock, source):
    later = BASE + dt.timedelta(days=30, seconds=5)
    assert clock.set(later) == later
    assert clock.now() == later
    source.when = BASE + dt.timedelta(seconds=2)  # a running clock runs on from there
    assert clock.now() == later + dt.timedelta(seconds=2)


def test_set_takes_any_timezone_and_answers_utc(clock):
    plus_two = dt.timezone(dt.timedelta(hours=2))
    when = clock.set(dt.datetime(2030, 1, 1, 15, 0, tzinfo=plus_two))
    assert when == dt.datetime(2030, 1, 1, 13, 0, tzinfo=dt.timezone.utc)
    assert when.utcoffset() == dt.timedelta(0) and clock.now().utcoffset() == dt.timedelta(0)


def test_set_backward_raises_naming_both_instants(clock):
    clock.advance(60)
    with pytest.raises(ValueError) as info:
        clock.set(BASE)
    message = str(info.value)
    assert "only moves forward" in message and "clock_start" in message
    assert "2030-01-01T12:01:00+00:00" in message and "2030-01-01T12:00:00+00:00" in message
    assert clock.now() == BASE + dt.timedelta(seconds=60)


@pytest.mark.parametrize("when, error", [
    (dt.datetime(2031, 1, 1), ValueError),  # no timezone: which 2031?
    ("2031-01-01T00:00:00Z", TypeError),
    (1_900_000_000, TypeError),
])
def test_set_refuses_what_is_not_an_aware_instant(clock, when, error):
    with pytest.raises(error):
        clock.set(when)
    assert clock.now() == BASE


def test_freeze_stops_following_real_time(clock, source):
    assert not clock.is_frozen
    assert clock.freeze() == BASE
    assert clock.is_frozen
    source.when = BASE + dt.timedelta(hours=1)
    assert clock.now() == BASE
    assert clock.freeze() == BASE  # a second freeze changes nothing


def test_a_frozen_clock_moves_only_when_told(clock, source):
    clock.freeze()
    source.when = BASE + dt.timedelta(hours=1)
    assert clock.advance(30) == BASE + dt.timedelta(seconds=30)
    assert clock.set(BASE + dt.timedelta(days=1)) == BASE + dt.timedelta(days=1)
    assert clock.is_frozen and clock.now() == BASE + dt.timedelta(days=1)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.set(BASE + dt.timedelta(hours=2))


def test_resume_runs_on_from_the_frozen_instant_without_a_jump(clock, source):
    clock.freeze()
    source.when = BASE + dt.timedelta(hours=1)
    assert clock.resume() == BASE  # no jump to where real time went meanwhile
    assert not clock.is_frozen
    source.when += dt.timedelta(seconds=5)
    assert clock.now() == BASE + dt.timedelta(seconds=5)
    assert clock.offset == dt.timedelta(hours=-1)
    assert clock.resume() == clock.now()  # resuming a running clock changes nothing


def test_frozen_block(clock, source):
    with clock.frozen() as now:
        assert now == BASE and clock.is_frozen
        source.when = BASE + dt.timedelta(minutes=1)
        assert clock.now() == BASE
        clock.advance(10)
    assert not clock.is_frozen
    assert clock.now() == BASE + dt.timedelta(seconds=10)


def test_frozen_block_inside_a_frozen_clock_leaves_it_frozen(clock, source):
    clock.freeze()
    with clock.frozen():
        pass
    source.when = BASE + dt.timedelta(minutes=1)
    assert clock.is_frozen and clock.now() == BASE


def test_reset_may_start_anywhere_and_frozen(clock, source):
    clock.advance(dt.timedelta(days=3))
    start = dt.datetime(2020, 6, 1, tzinfo=dt.timezone.utc)
    clock.reset(start, frozen=True)
    source.when = BASE + dt.timedelta(hours=1)
    assert clock.now() == start and clock.is_frozen
    clock.reset()
    assert not clock.is_frozen and clock.now() == source.when


def test_wait_until_with_a_frozen_clock_returns_when_it_is_moved(clock):
    import queue
    import threading

    clock.freeze()
    results: "queue.Queue[bool]" = queue.Queue()
    waiting = threading.Thread(
        target=lambda: results.put(clock.wait_until(BASE + dt.timedelta(seconds=30))))
    waiting.start()
    clock.advance(10)
    with pytest.raises(queue.Empty):  # not yet: 20 s of server time to go, none passing
        results.get(timeout=0.2)
    clock.advance(20)
    assert results.get(timeout=5) is True
    waiting.join(timeout=5)


def test_repr_says_frozen(clock):
    clock.freeze()
    assert repr(clock) == "<Clock 2030-01-01T12:00:00+00:00 (frozen)>"


# -- the settings: clock_start and clock_frozen --------------------------------------


@pytest.mark.parametrize("value", ["2030-01-01", "2030-01-01T00:00:00", "tomorrow", 5,
                                   dt.datetime(2030, 1, 1), "2030-13-01T00:00:00Z"])
def test_clock_start_refuses_what_is_not_an_rfc3339_instant(value):
    from pytest_acme import AcmeConfig

    with pytest.raises(ValueError, match="clock_start"):
        AcmeConfig(clock_start=value)


def test_clock_start_takes_rfc3339_text_and_datetimes():
    from pytest_acme import AcmeConfig

    want = dt.datetime(2029, 12, 31, 22, 0, 0, 500000, tzinfo=dt.timezone.utc)
    assert AcmeConfig(clock_start="2030-01-01T00:00:00.5+02:00").clock_start == want
    assert AcmeConfig(clock_start="2029-12-31t22:00:00.500z").clock_start == want
    assert AcmeConfig(clock_start=want).clock_start == want
    # start_time: the same instant, typed as the datetime it became
    assert AcmeConfig(clock_start="2029-12-31t22:00:00.500z").start_time == want
    assert AcmeConfig().start_time is None
    with pytest.raises(ValueError, match="clock_frozen"):
        AcmeConfig(clock_frozen="yes")


@pytest.mark.acme(clock_start="2030-01-01T00:00:00Z", clock_frozen=True, order_expiry=3600,
                  validation="always_valid")
def test_marker_pins_every_figure_the_server_reports(acme_server):
    """Frozen at a chosen instant, the order's expiry, the certificate's validity,
    Retry-After and describe's ages are exact, however long the test takes."""
    from helpers import account_client, answer_all, deadline, make_csr, split_chain

    start = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    assert acme_server.clock.now() == start and acme_server.clock.is_frozen
    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["pinned.example.test"]))
    assert order.body.expires == start + dt.timedelta(hours=1)
    answer_all(acme, order)
    acme_server.wait_idle()
    order = acme.finalize_order(acme.poll_authorizations(order, deadline()), deadline())
    leaf = split_chain(order.fullchain_pem)[0]
    assert leaf.not_valid_before_utc == start
    assert leaf.not_valid_after_utc == start + dt.timedelta(
        seconds=acme_server.config.certificate_validity)
    assert "Created:      2030-01-01T00:00:00Z (0s ago)" in acme_server.describe(order.uri)
    acme_server.clock.advance(3601)
    assert acme_server.order(order.uri).status.value == "valid"


@pytest.mark.acme(clock_start="2030-01-01T00:00:00Z")
def test_marker_start_runs_on_from_there(acme_server):
    now = acme_server.clock.now()
    assert not acme_server.clock.is_frozen
    assert dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc) <= now < dt.datetime(
        2030, 1, 1, 0, 1, tzinfo=dt.timezone.utc)


def test_each_test_starts_at_real_time_again(acme_server):
    """After the marked tests above, the shared server's clock is real time again."""
    assert not acme_server.clock.is_frozen
    assert abs(acme_server.clock.now() - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(
        minutes=1)


@pytest.mark.acme(validation="always_valid", validation_delay=30, clock_frozen=True)
def test_validation_delay_waits_for_a_frozen_clock_to_be_moved(acme_server):
    """validation_delay counts on the server clock: frozen, the validation waits
    until the test moves the clock, and not a moment longer."""
    from helpers import account_client, challenge, make_csr

    acme = account_client(acme_server)
    order = acme.new_order(make_csr(["frozen.example.test"]))
    challb = challenge(order.authorizations[0])
    acme.answer_challenge(challb, challb.chall.response(acme.net.key))
    with pytest.raises(TimeoutError):
        acme_server.wait_idle(timeout=0.3)  # 30 s of server time to go, none passing
    acme_server.clock.advance(30)
    acme_server.wait_idle(timeout=5)
    assert acme._post_as_get(challb.uri).json()["status"] == "valid"
