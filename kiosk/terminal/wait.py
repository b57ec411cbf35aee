"""The honest wait estimate shown on the idle screen: "up to N min" (RUBRIC-SOURCES W10/W11, §6).

The figure is an upper percentile of the waits (arrival -> service start) of interactions that started within
``terminal.wait_window_min``, by the nearest-rank method, so it is always a wait someone really had, and rounded
*up* to whole minutes. With fewer than ``terminal.wait_min_samples`` waits there is no estimate: an empty
space, never an invented figure. Customers who left before service have no wait and are not counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from kiosk.core.privacy import TimedInteraction


class InteractionSource(Protocol):
    def interactions(self, start: datetime | None = None, end: datetime | None = None) -> list[TimedInteraction]: ...


def upper_wait_min(waits_s: Sequence[float], percentile: float, min_samples: int) -> int | None:
    """The ``percentile`` (nearest rank) of ``waits_s`` in whole minutes, rounded up, at least 1; or None.

    >>> upper_wait_min([30, 60, 90, 200, 400], 80, 5)
    4
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be within (0, 100], got {percentile!r}")
    if min_samples < 1:
        raise ValueError(f"min_samples must be 1 or more, got {min_samples!r}")
    waits = sorted(w for w in waits_s if w is not None and math.isfinite(w) and w >= 0)
    if len(waits) < min_samples:
        return None
    rank = math.ceil(percentile / 100 * len(waits))  # nearest rank: an observed wait, never interpolated down
    return max(1, math.ceil(waits[rank - 1] / 60))


def recent_waits(source: InteractionSource, now: datetime, window_min: float) -> list[float]:
    """Waits (s) of interactions that started in the last ``window_min`` minutes and reached service."""
    rows = source.interactions(now - timedelta(minutes=window_min), now + timedelta(seconds=1))
    return [r.interaction.wait_s for r in rows if r.interaction.wait_s is not None]
