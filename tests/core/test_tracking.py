"""Tracks on the floor (kiosk.core.tracking.FloorTracker): who is who from frame to frame, from plain keypoints.

People are drawn with the standard body at known floor positions and projected by a known camera, so each
case states where everyone stands and the tracker must keep one id per person.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from kiosk.core.body_model import skeleton_points
from kiosk.core.geometry import CameraModel, intrinsics_from_hfov
from kiosk.core.observation import Observation
from kiosk.core.tracking import FloorTracker, ZoneMap
from kiosk.settings.tree import BodySettings, TrackingSettings

W, H = 640, 480
FPS = 10.0
CAMERA = CameraModel.look_at((0.0, -1.0, 2.0), (0.0, 2.0, 0.8), intrinsics_from_hfov(W, H, 90.0), W, H)
ZONES = ZoneMap((("service", np.array([[-3.0, 0.0], [3.0, 0.0], [3.0, 6.0], [-3.0, 6.0]])),))
TOWARD_CAMERA = -math.pi / 2

Where = Callable[[float], dict[str, tuple[float, float]]]  # t -> person -> floor position (m)


def observe(t: float, at: tuple[float, float], height_m: float = 1.75) -> Observation:
    uv, _ = CAMERA.project(skeleton_points(at, TOWARD_CAMERA, TOWARD_CAMERA, height_m))
    xy = uv / [W, H]
    kp = np.c_[xy, np.ones(len(xy))]
    return Observation(t=t, keypoints=kp, bbox=(*xy.min(axis=0), *xy.max(axis=0)), score=0.9)


def ids_over_time(where: Where, seconds: float) -> dict[str, set[int]]:
    """Which track ids each person was reported under, frame by frame (matched by nearest true position)."""
    tracker = FloorTracker(CAMERA, ZONES, TrackingSettings(), BodySettings(), FPS)
    seen: dict[str, set[int]] = {}
    for i in range(int(seconds * FPS)):
        t = i / FPS
        people = where(t)
        frame = tracker.update(t, [observe(t, xy) for xy in people.values()])
        for p in frame.people:
            assert p.position_m is not None
            name = min(people, key=lambda n: math.dist(people[n], p.position_m))
            seen.setdefault(name, set()).add(p.track_id)
    return seen


def jitter(t: float) -> float:
    """A placement error along the range of +-0.15 m that changes every frame (single-camera depth noise)."""
    return 0.15 * math.sin(37.0 * t)


@pytest.mark.parametrize("case, where", [
    ("standing one behind the other", lambda t: {"near": (0.0, 1.0 + jitter(t)), "far": (0.0, 3.0 - jitter(t))}),
    ("the far one walks across behind the near one",
     lambda t: {"near": (0.0, 1.2), "far": (-1.5 + 0.6 * t, 3.2)}),
    ("both step along the counter, one behind the other",
     lambda t: {"near": (-0.5 + 0.2 * t, 1.0), "far": (-0.5 + 0.2 * t, 2.8)}),
])
def test_two_people_one_behind_the_other_keep_their_ids(case: str, where: Where):
    seen = ids_over_time(where, seconds=5.0)
    assert set(seen) == {"near", "far"}
    assert len(seen["near"]) == 1 and len(seen["far"]) == 1
    assert seen["near"] != seen["far"]


def test_a_new_person_is_reported_only_after_the_tracker_has_seen_them_twice():
    tracker = FloorTracker(CAMERA, ZONES, TrackingSettings(init_frames=2), BodySettings(), FPS)
    first = tracker.update(0.0, [observe(0.0, (0.0, 1.5))])
    later = [tracker.update(i / FPS, [observe(i / FPS, (0.0, 1.5))]) for i in range(1, 4)]
    assert first.people == () and all(len(f.people) == 1 for f in later[1:])


def test_a_placed_person_is_where_they_stand_and_in_their_zone():
    tracker = FloorTracker(CAMERA, ZONES, TrackingSettings(), BodySettings(), FPS)
    frames = [tracker.update(i / FPS, [observe(i / FPS, (0.4, 2.0))]) for i in range(5)]
    [person] = frames[-1].people
    assert person.position_m == pytest.approx((0.4, 2.0), abs=0.05)
    assert person.zone == "service" and person.role == "customer"
