"""Angle remainders, the one place they are written: headings on the floor in radians, yaws in degrees.

Example:
    >>> wrap_rad(3 * math.pi / 2)
    -1.5707963267948966
    >>> wrap_deg(190.0), wrap_deg(180.0), wrap_deg(-180.0)
    (-170.0, 180.0, -180.0)
"""

from __future__ import annotations

import math


def wrap_rad(a: float) -> float:
    """``a`` radians as the same direction within -pi..pi (pi itself comes back as -pi)."""
    return (a + math.pi) % (2 * math.pi) - math.pi


def wrap_deg(a: float) -> float:
    """``a`` degrees as the same direction within -180..180; a half turn keeps its sign (+180 stays +180, a
    yaw of exactly +180 reads as turned right, not left)."""
    wrapped = (a + 180.0) % 360.0 - 180.0
    return 180.0 if wrapped == -180.0 and a > 0 else wrapped
