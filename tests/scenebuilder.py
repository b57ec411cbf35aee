"""Plain-data frames for the core's tests: people placed on the floor at 10 frames per second.

Layout used throughout: staff stand at y = 0.4, the service spot is y = 1.6, the queue y = 2.8.
"""

from __future__ import annotations

import math
from typing import Callable

from kiosk.core.scene import SceneFrame, TrackedPerson

FPS = 10.0
STAFF_AT = (0.0, 0.4)
SERVICE_AT = (0.0, 1.6)
QUEUE_AT = (0.0, 2.8)
TOWARD_CUSTOMERS = math.pi / 2   # staff facing +y
TOWARD_STAFF = -math.pi / 2      # customers facing -y
AWAY = 0.0                        # facing along the counter


def staff(tid: int, at=STAFF_AT, heading: float | None = TOWARD_CUSTOMERS) -> TrackedPerson:
    return TrackedPerson(tid, "staff", "staff", at, heading, heading)


def customer(tid: int, zone: str | None, at, heading: float | None = TOWARD_STAFF, head: bool = True) -> TrackedPerson:
    return TrackedPerson(tid, "customer", zone, at, heading if head else None, heading)


def frames(duration_s: float, people_at: Callable[[float], list[TrackedPerson]]) -> list[SceneFrame]:
    """One frame every 1/FPS s from t=0, with whoever ``people_at(t)`` returns."""
    n = int(round(duration_s * FPS))
    return [SceneFrame(t=i / FPS, people=tuple(people_at(i / FPS))) for i in range(n + 1)]
