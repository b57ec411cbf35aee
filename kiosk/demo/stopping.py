"""Ctrl+C and SIGTERM as a stop request that cannot be lost.

Python runs a signal handler in the main thread between any two bytecodes, and that may be inside a finalizer
(urllib3 closes its connection pools from ``weakref.finalize`` when a ``requests`` call's session is collected).
An exception raised there is printed as "Exception ignored in" and dropped: a handler that only raised let the
demo measure on for minutes after systemd, CI or a person had asked it to stop. So the request is remembered,
raised at once where that works, and raised again at every checkpoint until the demo has stopped.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
POLL_S = 0.2  # how soon a wait notices a request that was dropped on the way
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequests:
    """The signal handler and the checkpoints that read what it was asked."""

    def __init__(self) -> None:
        self.requested: int | None = None
        self._held = 0

    def __call__(self, signum: int, frame: object) -> None:
        self.requested = signum
        if not self._held:
            raise KeyboardInterrupt(f"signal {signum}")

    def check(self) -> None:
        """Raise KeyboardInterrupt if a stop was asked for (and not inside :meth:`held`)."""
        if self.requested is not None and not self._held:
            raise KeyboardInterrupt(f"signal {self.requested}")

    @contextmanager
    def held(self) -> Iterator[None]:
        """A block a stop must not cut in two (a child started but not yet on record): the request waits for its end."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
        self.check()

    def result(self, future: Future[T]) -> T:
        """``future.result()``, checking for a stop while it waits."""
        while True:
            try:
                return future.result(timeout=POLL_S)
            except FutureTimeout:
                self.check()

    def wait(self, proc: subprocess.Popen) -> int:
        """``proc.wait()``, checking for a stop while it waits."""
        while True:
            try:
                return proc.wait(timeout=POLL_S)
            except subprocess.TimeoutExpired:
                self.check()


STOP = StopRequests()  # signal handlers belong to the process, so there is one


@contextmanager
def stop_on_signals() -> Iterator[StopRequests]:
    """Ctrl+C and SIGTERM become :data:`STOP`'s KeyboardInterrupt for the block (so that every ``finally`` runs),
    then the previous handlers and a clear request are back. Off the main thread, where Python cannot install
    handlers, the checkpoints still work and simply never fire."""
    STOP.requested = None
    main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, STOP) for s in STOP_SIGNALS} if main else {}
    try:
        yield STOP
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        STOP.requested = None
