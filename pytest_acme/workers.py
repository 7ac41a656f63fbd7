"""Background work (validations, asynchronous issuance) that tests and polls can wait for."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterable, Optional


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
        #: key -> how many of its jobs are queued or running
        self._keyed: Dict[str, int] = {}
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., Any], *args: Any, key: Optional[str] = None) -> None:
        """Run ``fn(*args)`` on a worker; ``key`` (a challenge's or an order's id)
        names the job for :meth:`wait_for`."""
        with self._idle:
            self._unfinished += 1
            if key is not None:
                self._keyed[key] = self._keyed.get(key, 0) + 1
        try:
            self._pool.submit(self._run, fn, args, key)
        except BaseException:
            self._done(key)
            raise

    def _run(self, fn: Callable[..., Any], args: tuple, key: Optional[str]) -> None:
        try:
            fn(*args)
        except BaseException as e:  # noqa: BLE001 - reported to the test, not lost
            self._on_error(e)
        finally:
            self._done(key)

    def _done(self, key: Optional[str]) -> None:
        with self._idle:
            self._unfinished -= 1
            if key is not None:
                left = self._keyed[key] - 1
                if left:
                    self._keyed[key] = left
                else:
                    del self._keyed[key]
            self._idle.notify_all()

    def wait_for(self, keys: Iterable[str], timeout: float) -> bool:
        """Block until no job named by one of ``keys`` is queued or running, for at
        most ``timeout`` seconds; False if some still is.

        This is how a poll finds finished the work that the request before it
        started: the caller must hold no lock that the jobs need.
        """
        keys = tuple(keys)
        if not keys:
            return True
        deadline = time.monotonic() + timeout
        with self._idle:
            while any(k in self._keyed for k in keys):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
            return True

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
