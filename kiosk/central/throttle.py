"""Brakes on guessing secrets: a per-key failure count with exponential lock-outs, and a cap on the password
hashes running at once.

In memory, so they brake one server process; that is the deployment of DESIGN §8 (one machine per region).
``clock`` is injectable so tests step time instead of sleeping.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass
class _Record:
    failures: int
    last_failure: float
    locked_until: float


class FailureThrottle:
    """After ``free_failures`` failures for a key, each further failure locks the key out for ``backoff_s``,
    doubling up to ``max_backoff_s``. A key without a failure for ``max_backoff_s`` starts afresh.

    Only failures count: a success does not unlock a key (``forget`` does, for the account that just signed in),
    so a caller holding one valid secret cannot reset its own address's count between guesses.
    """

    def __init__(self, free_failures: int, backoff_s: float, max_backoff_s: float,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.free_failures = free_failures
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.clock = clock
        self.max_keys = max_keys
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def wait_s(self, key: str) -> float:
        """Seconds until ``key`` may try again; 0 when it may now."""
        with self._lock:
            rec = self._current(key, self.clock())
            return 0.0 if rec is None else max(0.0, rec.locked_until - self.clock())

    def failed(self, key: str) -> float:
        """Count a failure for ``key``; returns the lock-out it starts (0 while failures are still free)."""
        with self._lock:
            now = self.clock()
            rec = self._current(key, now) or _Record(0, now, now)
            rec.failures += 1
            rec.last_failure = now
            over = rec.failures - self.free_failures
            lock = 0.0 if over < 0 else min(self.max_backoff_s, self.backoff_s * 2.0 ** min(over, 60))
            rec.locked_until = now + lock
            self._records[key] = rec
            if len(self._records) > self.max_keys:
                self._prune(now)
            return lock

    def forget(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)

    def _current(self, key: str, now: float) -> _Record | None:
        rec = self._records.get(key)
        if rec is not None and now >= rec.locked_until and now - rec.last_failure > self.max_backoff_s:
            del self._records[key]
            return None
        return rec

    def _prune(self, now: float) -> None:
        # Many keys means many guessed names: drop the stale ones, then the oldest, so memory stays bounded.
        for key in [k for k, r in self._records.items() if now >= r.locked_until and now - r.last_failure > self.max_backoff_s]:
            del self._records[key]
        while len(self._records) > self.max_keys:
            del self._records[next(iter(self._records))]


class Busy(Exception):
    """No hash slot came free in time."""


class HashGate:
    """At most ``slots`` password hashes at once (argon2 takes 64 MiB each); a caller waits ``wait_s`` for a slot."""

    def __init__(self, slots: int, wait_s: float = 5.0) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self.wait_s = wait_s

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Raises: Busy when no slot is free within ``wait_s``."""
        if not self._slots.acquire(timeout=self.wait_s):
            raise Busy
        try:
            yield
        finally:
            self._slots.release()


def retry_after(wait_s: float) -> str:
    """A Retry-After value: whole seconds, rounded up, at least 1."""
    return str(max(1, int(wait_s + 0.999)))
