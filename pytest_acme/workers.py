"""Background work (validations, asynchronous issuance) that tests can wait for."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable


class Workers:
    """A small thread pool that counts unfinished jobs.

    Args:
        on_error: called with any exception a job raises (the server records it
            so ``AcmeServer.check()`` re-raises it in the test).
        threads: pool size.
    """

    def __init__(self, on_error: Callable[[BaseException], None], threads: int = 4) -> None:
        self._on_error = on_error
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pytest-acme-worker")
        self._unfinished = 0
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._idle:
            self._unfinished += 1
        try:
            self._pool.submit(self._run, fn, args)
        except BaseException:
            self._done()
            raise

    def _run(self, fn: Callable[..., Any], args: tuple) -> None:
        try:
            fn(*args)
        except BaseException as e:  # noqa: BLE001 - reported to the test, not lost
            self._on_error(e)
        finally:
            self._done()

    def _done(self) -> None:
        with self._idle:
            self._unfinished -= 1
            if self._unfinished == 0:
                self._idle.notify_all()

    @property
    def busy(self) -> int:
        """How many jobs are queued or running."""
        return self._unfinished

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no job is queued or running; False if ``timeout`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)
