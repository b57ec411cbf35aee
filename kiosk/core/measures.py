"""The four measures of DESIGN §4, computed from an episode's timeline. Pure functions over plain values."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Iterable, Literal

from kiosk.settings.tree import ServiceSettings

DistanceBand = Literal["intimate", "personal", "social", "public"]


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


def distance_band(distance_m: float, settings: ServiceSettings) -> DistanceBand:
    """Hall's proxemic band of a distance (edges are settings)."""
    if distance_m < settings.intimate_below_m:
        return "intimate"
    if distance_m < settings.personal_below_m:
        return "personal"
    if distance_m < settings.social_below_m:
        return "social"
    return "public"


def elapsed(start: float | None, end: float | None) -> float | None:
    """end - start in seconds, None when either is unknown."""
    if start is None or end is None:
        return None
    return max(0.0, end - start)
