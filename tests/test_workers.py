"""Workers: jobs named by a key can be waited for, alone, for a bounded time."""

from __future__ import annotations

import threading

from pytest_acme.workers import Workers


def test_wait_for_waits_for_its_keys_only_and_gives_up_in_time():
    errors: list = []
    workers = Workers(errors.append, threads=2)
    release, other = threading.Event(), threading.Event()
    workers.submit(release.wait, 10, key="a")
    workers.submit(other.wait, 10, key="b")
    assert workers.wait_for(["a"], timeout=0.01) is False
    assert workers.wait_for([], timeout=0) is True
    release.set()
    assert workers.wait_for(["a", "c"], timeout=10) is True  # "b" still runs
    assert workers.busy == 1
    other.set()
    assert workers.wait_idle(10)
    workers.shutdown()
    assert errors == []


def test_a_failed_job_is_reported_and_no_longer_waited_for():
    errors: list = []
    workers = Workers(errors.append, threads=1)

    def fail() -> None:
        raise ValueError("boom")

    workers.submit(fail, key="x")
    assert workers.wait_for(["x"], timeout=10)
    workers.shutdown()
    assert [type(e) for e in errors] == [ValueError]
