"""Who faces whom on the floor. Pure angle arithmetic; headings are radians CCW from the floor's +x axis."""

from __future__ import annotations

import math

from kiosk.core.angles import wrap_rad

Point = tuple[float, float]


def bearing(src: Point, dst: Point) -> float:
    """Direction (radians) of the line from ``src`` to ``dst``."""
    return math.atan2(dst[1] - src[1], dst[0] - src[0])


def angle_off(heading_rad: float, src: Point, dst: Point) -> float:
    """How far (radians, 0..pi) a person at ``src`` facing ``heading_rad`` looks away from ``dst``."""
    return abs(wrap_rad(heading_rad - bearing(src, dst)))


def faces(src: Point, heading_rad: float | None, dst: Point, tolerance_deg: float) -> bool:
    """True when a person at ``src`` with ``heading_rad`` faces ``dst`` within ``tolerance_deg``."""
    if heading_rad is None:
        return False
    return angle_off(heading_rad, src, dst) <= math.radians(tolerance_deg)


def distance(a: Point, b: Point) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])
