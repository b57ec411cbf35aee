"""The four measures of DESIGN §4, computed from an episode's timeline. Pure functions over plain values."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Iterable

from kiosk.vocabulary import DISTANCE_BANDS, DistanceBand


@dataclass(frozen=True)
class Sample:
    """What one frame says about a customer and the staff member nearest to them.

    mutual: True/False when both heads were observed, None otherwise (such frames are left out of the ratio).
    distance_m: floor distance between their torsos, None when either position is unknown.
    """

    t: float
    mutual: bool | None
    distance_m: float | None


def _within(samples: Iterable[Sample], start: float, end: float | None) -> list[Sample]:
    return [s for s in samples if s.t >= start and (end is None or s.t <= end)]


def eye_contact_ratio(samples: Iterable[Sample], start: float, end: float | None) -> float | None:
    """Share of service-phase frames with both heads observed in which staff and customer face each other.

    This is mutual facing, the camera's proxy for eye contact. None when no such frame exists.
    """
    seen = [s.mutual for s in _within(samples, start, end) if s.mutual is not None]
    return sum(seen) / len(seen) if seen else None


def distance_stats(samples: Iterable[Sample], start: float, end: float | None) -> tuple[float | None, float | None]:
    """Median and minimum staff-customer floor distance (metres) during service, or (None, None)."""
    ds = [s.distance_m for s in _within(samples, start, end) if s.distance_m is not None]
    if not ds:
        return None, None
    return statistics.median(ds), min(ds)


def distance_band(distance_m: float | None, edges_m: tuple[float, float, float]) -> DistanceBand | None:
    """Hall's proxemic band of a distance (DESIGN §4), None for an unknown distance.

    Args:
        distance_m: a floor distance in metres, or None.
        edges_m: upper edges of the intimate, personal and social bands, increasing (``central.distance_band_edges_m``).

    Example:
        >>> distance_band(1.0, (0.75, 1.2, 3.6))
        'personal'
    """
    if distance_m is None:
        return None
    for name, edge in zip(DISTANCE_BANDS, edges_m, strict=False):
        if distance_m < edge:
            return name
    return DISTANCE_BANDS[-1]


def elapsed(start: float | None, end: float | None) -> float | None:
    """end - start in seconds, None when either is unknown."""
    if start is None or end is None:
        return None
    return max(0.0, end - start)
