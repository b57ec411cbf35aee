"""What the measuring core reads: tracked people on the floor, one frame at a time.

Produced by tracking + geometry from observations, or directly by tests. Floor coordinates are metres in
the calibrated floor frame; headings are radians, counter-clockwise from the floor's +x axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from kiosk.vocabulary import ROLES, ZONES, Role, ZoneName


@dataclass(frozen=True)
class TrackedPerson:
    """One tracked person in one frame.

    track_id: a number that lives while the person is in view; never stored.
    role: "staff" while in the staff zone, else "customer".
    zone: the zone they stand in, or None when outside every zone.
    position_m: floor position (x, y) in metres, or None when too few keypoints were seen.
    head_heading_rad: facing direction of the head on the floor, or None when the face was not seen.
    body_heading_rad: facing direction of the shoulders, or None.
    range_sd_m: how unsure the position is along ``range_axis_rad``, the direction from the camera to the
        person (one camera knows direction well and range poorly); 0 = certain.
    """

    track_id: int
    role: Role
    zone: ZoneName | None
    position_m: tuple[float, float] | None
    head_heading_rad: float | None = None
    body_heading_rad: float | None = None
    range_sd_m: float = 0.0
    range_axis_rad: float = 0.0
    head_heading_sd_rad: float = 0.0

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"TrackedPerson.role must be one of {ROLES}, got {self.role!r}")
        if self.zone is not None and self.zone not in ZONES:
            raise ValueError(f"TrackedPerson.zone must be one of {ZONES} or None, got {self.zone!r}")
        if self.position_m is not None and not all(math.isfinite(v) for v in self.position_m):
            raise ValueError(f"TrackedPerson.position_m must be finite metres, got {self.position_m!r}")
        if not (math.isfinite(self.head_heading_sd_rad) and self.head_heading_sd_rad >= 0):
            raise ValueError(f"TrackedPerson.head_heading_sd_rad must be finite radians >= 0, got {self.head_heading_sd_rad!r}")
        if not (math.isfinite(self.range_sd_m) and self.range_sd_m >= 0):
            raise ValueError(f"TrackedPerson.range_sd_m must be finite metres >= 0, got {self.range_sd_m!r}")

    def plausible_positions(self) -> tuple[tuple[float, float], ...]:
        """The position and, when it is uncertain, one standard deviation nearer and farther along the camera's
        line of sight."""
        if self.position_m is None:
            return ()
        if self.range_sd_m == 0:
            return (self.position_m,)
        dx, dy = math.cos(self.range_axis_rad) * self.range_sd_m, math.sin(self.range_axis_rad) * self.range_sd_m
        x, y = self.position_m
        return ((x, y), (x - dx, y - dy), (x + dx, y + dy))

    @property
    def heading_rad(self) -> float | None:
        """Head heading when seen, else shoulders (DESIGN §4: "head or shoulder yaw")."""
        return self.head_heading_rad if self.head_heading_rad is not None else self.body_heading_rad

    @property
    def heading_sd_rad(self) -> float:
        """Uncertainty of :attr:`heading_rad` (0 when it comes from the shoulders, whose spread is unknown)."""
        return self.head_heading_sd_rad if self.head_heading_rad is not None else 0.0


@dataclass(frozen=True)
class SceneFrame:
    """Everyone tracked at time ``t`` (seconds on the video clock)."""

    t: float
    people: tuple[TrackedPerson, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not math.isfinite(self.t):
            raise ValueError(f"SceneFrame.t must be finite seconds, got {self.t!r}")
        ids = [p.track_id for p in self.people]
        if len(ids) != len(set(ids)):
            raise ValueError(f"SceneFrame at t={self.t} lists a track twice: {sorted(ids)}")
