"""Background threads of the app, so the UI thread never waits on SQLite, the disk or a hash.

Results go back through a ``deliver`` callable; the app passes one that hops to Kivy's main thread
(``Clock.schedule_once``), so widgets are only touched there (STYLE: results reach widgets via @mainthread).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from kiosk.terminal.ratings import RatingRecord, ReasonRecord

log = logging.getLogger(__name__)
T = TypeVar("T")


class RatingWriter:
    """One thread that stores :class:`RatingRecord` (``store.add_rating``) and :class:`ReasonRecord`
    (``store.add_reason``) values in tap order.

    ``put`` never blocks. A failed write is logged and counted in ``errors`` (shown on the staff screen).
    """

    def __init__(self, store: Any) -> None:
        self._store = store
        self._queue: queue.Queue[RatingRecord | ReasonRecord | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="kiosk-rating-writer", daemon=True)
        self._idle = threading.Event()
        self._idle.set()
        self.errors = 0
        self.stored = 0
        self._thread.start()

    def put(self, record: RatingRecord | ReasonRecord) -> None:
        self._idle.clear()
        self._queue.put(record)

    def drain(self, timeout_s: float = 5.0) -> bool:
        """Wait until every record put so far is written (or failed); True if done in time."""
        return self._idle.wait(timeout_s)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            record = self._queue.get()
            if record is None:
                self._idle.set()
                return
            try:
                if isinstance(record, ReasonRecord):
                    self._store.add_reason(record.reason, record.at)
                else:
                    self._store.add_rating(record.value, record.rated_at, interaction_id=record.interaction_id,
                                           no_customer=record.no_customer)
                self.stored += 1
            except Exception:  # a full disk must not end the writer; staff see the count
                self.errors += 1
                log.exception("could not store %s", record)
            if self._queue.empty():
                self._idle.set()


class Periodic(Generic[T]):
    """Calls ``work()`` in its own thread now and every ``period_s``, handing each result to ``deliver``.

    A failing ``work`` is logged and retried next period. ``trigger()`` runs it again at once.
    """

    def __init__(self, name: str, work: Callable[[], T], deliver: Callable[[T], None], period_s: float) -> None:
        self._work, self._deliver, self._period = work, deliver, period_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"kiosk-{name}", daemon=True)
        self.name = name

    def start(self) -> None:
        self._thread.start()

    def trigger(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                result = self._work()
            except Exception:  # keep the period going; the log has the trace
                log.exception("background task %s failed", self.name)
            else:
                if not self._stop.is_set():
                    self._deliver(result)
            self._wake.wait(self._period)
            self._wake.clear()


def run_once(name: str, work: Callable[[], T], deliver: Callable[[T], None]) -> threading.Thread:
    """Run ``work`` once in a thread and hand its result to ``deliver`` (e.g. a PIN check)."""
    def target() -> None:
        try:
            result = work()
        except Exception:  # logged; the caller simply gets no result
            log.exception("background task %s failed", name)
            return
        deliver(result)
    t = threading.Thread(target=target, name=f"kiosk-{name}", daemon=True)
    t.start()
    return t
