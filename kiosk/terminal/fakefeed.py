"""A stand-in pipeline for tests and for running the terminal without a camera (``kiosk run`` with no source).

:class:`FakeFeed` implements :class:`~kiosk.device.feed.PipelineFeed`. Tests script it directly
(:meth:`customer_arrives`, :meth:`customer_leaves`, :meth:`camera_fails`); with ``demo=True`` its worker thread
plays a customer stepping up and leaving every ``cycle_s`` seconds. Its preview is a drawn test card (grey
floor, moving figure), made with numpy only: no camera, no pixels of anyone.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import numpy as np

from kiosk.clock import utc_now
from kiosk.device.feed import PipelineSnapshot

log = logging.getLogger(__name__)


class FakeFeed:
    """A scriptable, thread-safe :class:`PipelineFeed`.

    Args:
        demo: play arrivals and departures by itself (``cycle_s`` apart) once started.
        fps: the frame rate it reports while running.
        size_px: (width, height) of the preview test card.
        clock: wall-clock UTC source for ``last_ended`` (tests pass a fixed one).
    """

    def __init__(self, *, demo: bool = False, cycle_s: float = 20.0, fps: float = 10.0,
                 size_px: tuple[int, int] = (640, 480), clock: Callable[[], datetime] | None = None) -> None:
        self._lock = threading.Lock()
        self._snap = PipelineSnapshot(status="stopped", message="not started")
        self._demo, self._cycle_s, self._fps = demo, cycle_s, fps
        self._size = size_px
        self._clock = clock or utc_now
        self._preview = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tick = 0
        self.ended_ids: list[str] = []

    # ---- PipelineFeed ----------------------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            self._snap = replace(self._snap, status="running", message="simulated camera (no source)", fps=self._fps)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kiosk-fakefeed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        with self._lock:
            self._snap = replace(self._snap, status="stopped", message="stopped", fps=0.0, preview_bgr=None)

    def snapshot(self) -> PipelineSnapshot:
        with self._lock:
            return self._snap

    def set_preview(self, enabled: bool) -> None:
        with self._lock:
            self._preview = enabled
            if not enabled:
                self._snap = replace(self._snap, preview_bgr=None)

    @property
    def preview_requested(self) -> bool:
        with self._lock:
            return self._preview

    # ---- scripting -------------------------------------------------------------------------------------------

    def customer_arrives(self) -> None:
        with self._lock:
            self._snap = replace(self._snap, customer_at_service=True)

    def customer_leaves(self, *, at: datetime | None = None) -> str:
        """The customer at the service spot leaves: their interaction ends now (or ``at``); returns its id."""
        iid = uuid.uuid4().hex
        with self._lock:
            self._snap = replace(self._snap, customer_at_service=False, last_ended=(iid, at or self._clock()))
            self.ended_ids.append(iid)
        return iid

    def camera_fails(self, message: str = "camera not found: /dev/video0") -> None:
        with self._lock:
            self._snap = replace(self._snap, status="camera_error", message=message, fps=0.0,
                                 customer_at_service=False, preview_bgr=None)

    def camera_recovers(self) -> None:
        with self._lock:
            self._snap = replace(self._snap, status="running", message="simulated camera (no source)", fps=self._fps)

    # ---- worker ----------------------------------------------------------------------------------------------

    def _run(self) -> None:
        period = 1.0 / max(self._fps, 0.1)
        next_switch = self._cycle_s / 2
        elapsed = 0.0
        while not self._stop.wait(period):
            elapsed += period
            self._tick += 1
            if self._demo and elapsed >= next_switch and self.snapshot().status == "running":
                next_switch += self._cycle_s / 2
                if self.snapshot().customer_at_service:
                    self.customer_leaves()
                else:
                    self.customer_arrives()
            with self._lock:
                if self._preview and self._snap.status == "running":
                    self._snap = replace(self._snap, preview_bgr=_test_card(self._size, self._tick))


def _test_card(size: tuple[int, int], tick: int) -> np.ndarray:
    """A (h, w, 3) BGR picture: floor gradient and a moving block figure, so the live view visibly updates."""
    w, h = size
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = np.linspace(40, 110, h, dtype=np.uint8)[:, None, None]
    x = int((tick * 7) % max(w - 60, 1))
    img[h // 3: h // 3 + 160, x + 15: x + 45] = (60, 140, 200)   # body
    img[h // 3 - 40: h // 3, x + 15: x + 45] = (150, 180, 220)   # head
    return img
