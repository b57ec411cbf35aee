"""The camera from tape marks, the floor homography and a person's place on the floor (kiosk.core.geometry).

A known camera looks at known floor marks; what it would see is fed back, and the pose, homography and floor
positions must come out as they went in. Marks no camera could have seen are refused with the text that tells
the installer what to check.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from kiosk.core.body_model import skeleton_points
from kiosk.core.geometry import (
    CameraModel,
    GeometryError,
    apply_homography,
    camera_from_floor_points,
    homography,
    intrinsics_from_hfov,
    locate_person,
)

W, H = 640, 480
K = intrinsics_from_hfov(W, H, 90.0)
CAMERA = CameraModel.look_at((0.0, -1.0, 2.0), (0.0, 2.0, 0.5), K, W, H)  # 2 m up, tilted down at the floor
MARKS = np.array([[-1.0, 0.5], [1.0, 0.5], [1.0, 2.5], [-1.0, 2.5], [0.0, 1.5]])  # a 2 m square and its centre


def seen(camera: CameraModel, floor_m: np.ndarray) -> np.ndarray:
    """Where ``camera`` sees floor points (n, 2), in pixels."""
    return camera.project(np.c_[floor_m, np.zeros(len(floor_m))])[0]


IMAGE = seen(CAMERA, MARKS)


def test_the_pose_from_tape_marks_is_the_camera_that_saw_them():
    camera = camera_from_floor_points(IMAGE, MARKS, K, W, H)
    assert camera.center_m == pytest.approx([0.0, -1.0, 2.0], abs=1e-6)
    assert camera.R == pytest.approx(CAMERA.R, abs=1e-6)


def test_the_homography_maps_the_image_back_onto_the_floor():
    H_if = homography(IMAGE, MARKS)
    other = np.array([[0.3, 0.9], [-0.7, 2.1]])
    assert apply_homography(H_if, seen(CAMERA, other)) == pytest.approx(other, abs=1e-9)


@pytest.mark.parametrize("case, image_px, floor_m, message", [
    ("three marks", IMAGE[:3], MARKS[:3], "4 or more matching point pairs"),
    ("marks on one line", seen(CAMERA, np.array([[-1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])),
     np.array([[-1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0]]), "collinear or repeated"),
    ("one mark given four times", np.repeat(IMAGE[:1], 4, axis=0), np.repeat(MARKS[:1], 4, axis=0),
     "collinear or repeated"),
    # A mirrored floor (x measured the other way round) fits the picture only with the camera under the floor.
    ("mirrored floor coordinates", IMAGE, MARKS * [-1.0, 1.0], "camera below the floor"),
    ("marks seen from under the floor",
     seen(CameraModel.look_at((0.0, -1.0, -2.0), (0.0, 2.0, -0.5), K, W, H), MARKS), MARKS, "camera below the floor"),
])
def test_impossible_tape_marks_are_refused_saying_what_to_check(case, image_px, floor_m, message):
    with pytest.raises(GeometryError, match=message):
        camera_from_floor_points(image_px, floor_m, K, W, H)


@pytest.mark.parametrize("case, at, height_m, heading", [
    ("near, facing the camera", (0.2, 1.0), 1.70, -math.pi / 2),
    ("far, in profile", (-0.5, 2.5), 1.82, 0.0),
    ("short, turned away", (0.6, 1.8), 1.55, math.pi / 2),
])
def test_a_standing_person_is_placed_where_they_stand(case, at, height_m, heading):
    uv, _ = CAMERA.project(skeleton_points(at, heading, heading, height_m))
    keypoints = np.c_[uv / [W, H], np.ones(len(uv))]
    fix = locate_person(CAMERA, keypoints, mean_height_m=1.70, height_sd_m=0.08, min_visibility=0.5,
                        body_heading_rad=heading, head_heading_rad=heading)
    assert fix is not None
    assert fix.position_m == pytest.approx(at, abs=0.03) and fix.height_m == pytest.approx(height_m, abs=0.03)


def test_a_person_seen_only_above_the_counter_is_placed_with_a_larger_range_uncertainty():
    at, heading = (0.0, 1.5), -math.pi / 2
    uv, _ = CAMERA.project(skeleton_points(at, heading, heading, 1.70))
    whole = np.c_[uv / [W, H], np.ones(len(uv))]
    upper = whole.copy()
    upper[23:, 2] = 0.0  # hips, legs and feet behind the counter
    kw = dict(mean_height_m=1.70, height_sd_m=0.08, min_visibility=0.5, body_heading_rad=heading,
              head_heading_rad=heading)
    full, cut = locate_person(CAMERA, whole, **kw), locate_person(CAMERA, upper, **kw)
    assert full is not None and cut is not None
    assert cut.position_m == pytest.approx(at, abs=0.05)
    assert cut.range_sd_m > full.range_sd_m


def test_nobody_is_placed_from_no_visible_landmark():
    keypoints = np.zeros((33, 3))
    assert locate_person(CAMERA, keypoints, mean_height_m=1.70, height_sd_m=0.08, min_visibility=0.5) is None
