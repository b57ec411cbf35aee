"""The standard-body check that runs before placement (issue 11): impossible skeletons keep only what is
consistent. Keypoints are built in pixels of a 640x480 picture and normalised, as the pose model gives them."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.core.plausibility import check_skeleton

W, H = 640, 480


def _upright(top_px: float = 100.0, height_px: float = 300.0, x_px: float = 320.0) -> np.ndarray:
    """A person standing upright, facing the camera: head top at ``top_px``, soles ``height_px`` lower."""
    share = {0: 0.926, 2: 0.94, 5: 0.94, 7: 0.929, 8: 0.929, 9: 0.9, 10: 0.9, 11: 0.818, 12: 0.818,
             23: 0.53, 24: 0.53, 25: 0.285, 26: 0.285, 27: 0.039, 28: 0.039}
    side = {2: 0.02, 5: -0.02, 7: 0.045, 8: -0.045, 9: 0.015, 10: -0.015, 11: 0.112, 12: -0.112, 23: 0.06,
            24: -0.06, 25: 0.06, 26: -0.06, 27: 0.06, 28: -0.06}
    kp = np.zeros((33, 3))
    for i, s in share.items():
        kp[i] = ((x_px + side.get(i, 0.0) * height_px) / W, (top_px + (1.0 - s) * height_px) / H, 0.99)
    return kp


def _check(kp: np.ndarray):
    return check_skeleton(kp, 0.5, W / H)


def test_an_upright_person_keeps_every_level() -> None:
    checked = _check(_upright())
    assert checked.dropped == ()
    assert checked.legs_seen


def test_a_body_squeezed_above_the_counter_keeps_head_and_shoulders_only() -> None:
    # The failure of issue 11: the model squeezes all 33 points into the visible upper body, hips a little
    # below the shoulders, knees beside them, ankles at chest height, every point "visible".
    kp = _upright(top_px=200.0, height_px=120.0)
    head_to_shoulders = kp[11, 1] - kp[0, 1]
    kp[[23, 24], 1] = kp[11, 1] + 0.6 * head_to_shoulders
    kp[[25, 26], 1] = kp[23, 1] - 0.01
    kp[[27, 28], 1] = kp[11, 1] + 0.02
    checked = _check(kp)
    assert checked.dropped == ("hips", "knees", "feet")
    assert (checked.keypoints[[23, 24, 25, 26, 27, 28], 2] == 0).all()
    assert (checked.keypoints[[0, 7, 8, 11, 12], 2] > 0.5).all()
    assert not checked.legs_seen


def test_a_torso_lying_sideways_is_dropped() -> None:
    kp = _upright()
    kp[[23, 24], 0] += 0.4  # hips far to the side of the shoulders, at a plausible depth below them
    assert "hips" in _check(kp).dropped


def test_shoulders_level_with_the_face_are_dropped_with_everything_below() -> None:
    kp = _upright()
    kp[[11, 12], 1] = kp[0, 1] + 0.002
    assert _check(kp).dropped == ("shoulders", "hips", "knees", "feet")


def test_knees_above_the_hips_are_dropped_but_the_torso_stays() -> None:
    kp = _upright()
    kp[[25, 26], 1] = kp[23, 1] - 0.02
    checked = _check(kp)
    assert checked.dropped == ("knees", "feet")
    assert (checked.keypoints[[23, 24], 2] > 0.5).all()


def test_ankles_at_the_knees_are_dropped() -> None:
    kp = _upright()
    kp[[27, 28], 1] = kp[25, 1] + 0.001
    assert _check(kp).dropped == ("feet",)


def test_a_back_view_without_a_face_is_checked_against_the_shoulder_width() -> None:
    kp = _upright()
    kp[0:11, 2] = 0.1  # the face is not seen from behind
    assert _check(kp).dropped == ()


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_point_counts_as_unseen(bad: float) -> None:
    kp = _upright()
    kp[25, 0] = bad
    checked = _check(kp)
    assert checked.keypoints[25, 2] == 0
    assert np.isfinite(checked.keypoints).all()


def test_the_input_keypoints_are_not_changed() -> None:
    kp = _upright()
    kp[[25, 26], 1] = kp[23, 1] - 0.02
    before = kp.copy()
    _check(kp)
    assert np.array_equal(kp, before)


def test_a_wrong_shape_is_refused_with_its_shape() -> None:
    with pytest.raises(ValueError, match=r"\(17, 3\)"):
        check_skeleton(np.zeros((17, 3)), 0.5, W / H)
