"""What the terminal app needs from the vision pipeline: a snapshot it can read on a clock (STYLE habit 10).

The pipeline (``kiosk.device.pipeline``) runs in its own worker thread or process and publishes its latest state as one
frozen :class:`PipelineSnapshot`; the UI polls :meth:`PipelineFeed.snapshot` every ``terminal.snapshot_poll_s``
and never waits on the pipeline. ``preview_bgr`` is filled only while the staff screen asked for it through
:meth:`PipelineFeed.set_preview`; it lives in memory only (DESIGN §6) and is never stored, logged or sent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

import numpy as np

Status = Literal["starting", "running", "camera_error", "stopped"]
STATUSES: tuple[Status, ...] = ("starting", "running", "camera_error", "stopped")


@dataclass(frozen=True)
class PipelineSnapshot:
    """The pipeline's latest state.

    Attributes:
        status: ``starting`` | ``running`` | ``camera_error`` | ``stopped``.
        message: human-readable status, e.g. the camera error (shown to staff; the customer sees an icon).
        fps: frames analysed per second, recent average.
        customer_at_service: someone stands at the service spot now (only meaningful while ``running``).
        last_ended: (interaction id, wall-clock UTC end) of the latest finished interaction, or None.
        preview_bgr: the latest frame, (height, width, 3) uint8 BGR, only while a preview was asked for.
    """

    status: Status
    message: str = ""
    fps: float = 0.0
    customer_at_service: bool = False
    last_ended: tuple[str, datetime] | None = None
    preview_bgr: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"PipelineSnapshot.status must be one of {STATUSES}, got {self.status!r}")
        if not (math.isfinite(self.fps) and self.fps >= 0):
            raise ValueError(f"PipelineSnapshot.fps must be a finite number >= 0, got {self.fps!r}")
        if self.last_ended is not None:
            iid, at = self.last_ended
            if not iid or at.tzinfo is None:
                raise ValueError(f"PipelineSnapshot.last_ended must be (non-empty id, aware datetime), got {self.last_ended!r}")
        if self.preview_bgr is not None:
            f = self.preview_bgr
            if f.ndim != 3 or f.shape[2] != 3 or f.dtype != np.uint8:
                raise ValueError(f"PipelineSnapshot.preview_bgr must be (h, w, 3) uint8, got {f.shape} {f.dtype}")

    @property
    def camera_ok(self) -> bool:
        """The camera delivers frames, so ``customer_at_service`` can be trusted."""
        return self.status == "running"


@runtime_checkable
class PipelineFeed(Protocol):
    """The vision pipeline as the app sees it. Every method returns at once; none raises for a camera fault
    (that is ``status == "camera_error"`` with a ``message``)."""

    def start(self) -> None:
        """Start the worker thread or process; never blocks."""

    def stop(self) -> None:
        """Stop the worker; bounded wait."""

    def snapshot(self) -> PipelineSnapshot:
        """The latest state: cheap and thread-safe."""

    def set_preview(self, enabled: bool) -> None:
        """Ask for (or stop) ``preview_bgr`` in snapshots; only the staff screen does, and only while open."""
