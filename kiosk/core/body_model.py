"""A standing person as 33 MediaPipe-topology points in 3D, for simulated scenes.

Offsets are (forward, left, up) in metres for a 1.70 m adult, scaled by height; heights of the main joints
follow the anthropometric shares geometry.py assumes, but the points are not on the body axis (shoulders
and ears sit to the sides, the nose in front), so the floor placement meets realistic model error.
"""

from __future__ import annotations

import math

import numpy as np

from kiosk.core.observation import N_KEYPOINTS

_REF_HEIGHT_M = 1.70
# index: (forward, left, up) for a 1.70 m person
_OFFSETS: dict[int, tuple[float, float, float]] = {
    0: (0.10, 0.00, 1.575),                                   # nose
    1: (0.08, 0.015, 1.60), 2: (0.08, 0.032, 1.60), 3: (0.075, 0.045, 1.60),     # left eye inner/centre/outer
    4: (0.08, -0.015, 1.60), 5: (0.08, -0.032, 1.60), 6: (0.075, -0.045, 1.60),  # right eye
    7: (0.0, 0.075, 1.58), 8: (0.0, -0.075, 1.58),           # ears
    9: (0.085, 0.022, 1.53), 10: (0.085, -0.022, 1.53),      # mouth
    11: (0.0, 0.19, 1.39), 12: (0.0, -0.19, 1.39),           # shoulders
    13: (0.03, 0.22, 1.08), 14: (0.03, -0.22, 1.08),         # elbows
    15: (0.10, 0.20, 0.84), 16: (0.10, -0.20, 0.84),         # wrists
    17: (0.12, 0.21, 0.78), 18: (0.12, -0.21, 0.78),         # pinkies
    19: (0.13, 0.19, 0.77), 20: (0.13, -0.19, 0.77),         # index fingers
    21: (0.12, 0.18, 0.80), 22: (0.12, -0.18, 0.80),         # thumbs
    23: (0.0, 0.10, 0.90), 24: (0.0, -0.10, 0.90),           # hips
    25: (0.02, 0.10, 0.485), 26: (0.02, -0.10, 0.485),       # knees
    27: (0.0, 0.10, 0.066), 28: (0.0, -0.10, 0.066),         # ankles
    29: (-0.05, 0.10, 0.03), 30: (-0.05, -0.10, 0.03),       # heels
    31: (0.15, 0.11, 0.01), 32: (0.15, -0.11, 0.01),         # foot index
}
_HEAD = tuple(range(0, 11))


def skeleton_points(position_m: tuple[float, float], body_heading_rad: float, head_heading_rad: float,
                    height_m: float, width_factor: float = 1.0, torso_factor: float = 1.0) -> np.ndarray:
    """World points (33, 3) of a person standing at ``position_m`` whose body and head face the given headings.

    ``width_factor`` widens shoulders and hips; ``torso_factor`` lengthens the hip-to-shoulder span (people are
    not the standard body the placement assumes).
    """
    s = height_m / _REF_HEIGHT_M
    pts = np.zeros((N_KEYPOINTS, 3))
    neck = np.array([position_m[0], position_m[1], 1.45 * s])
    for i, (fwd, left, up) in _OFFSETS.items():
        heading = head_heading_rad if i in _HEAD else body_heading_rad
        f = np.array([math.cos(heading), math.sin(heading)])
        lft = np.array([-math.sin(heading), math.cos(heading)])
        if i in _HEAD:  # the head turns about the neck, not about the body axis
            xy = neck[:2] + (f * fwd + lft * left) * s
        else:
            xy = np.asarray(position_m) + (f * fwd + lft * left * width_factor) * s
        if 11 <= i <= 22:  # shoulders and arms move with the torso's length above the hips
            up = 0.90 + (up - 0.90) * torso_factor
        pts[i] = (xy[0], xy[1], up * s)
    return pts


def side_visibility(body_heading_rad: float, head_heading_rad: float, to_camera_rad: float) -> np.ndarray:
    """Visibility (33,) from self-occlusion: points on the side turned away from the camera are mostly hidden."""
    vis = np.ones(N_KEYPOINTS)
    for i, (_, left, _) in _OFFSETS.items():
        if abs(left) < 0.02:
            if i == 0:  # the nose hides when the head is turned away
                vis[i] = 0.9 if math.cos(head_heading_rad - to_camera_rad) > -0.5 else 0.2
            continue
        heading = head_heading_rad if i in _HEAD else body_heading_rad
        side = heading + (math.pi / 2 if left > 0 else -math.pi / 2)
        facing_cam = math.cos(side - to_camera_rad)
        vis[i] = 0.95 if facing_cam > -0.3 else 0.3
    return vis
