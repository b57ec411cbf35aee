"""Which way a head and a torso face, from pose landmarks alone (pure numpy, no pixels).

Head yaw comes from fitting a small anatomical 3D head (nose, eyes, ears, mouth corners, in centimetres) to
the pose model's 11 face keypoints: for every candidate (yaw, pitch) the model is projected orthographically
and aligned to the observed points by a 2D similarity (scale, roll, shift), and the candidate that explains
the points best wins. Left and right are labelled in the pose topology, so the fit tells "facing image right"
from "facing image left" and the front from the back, and it needs no camera calibration: a face is small
enough that orthographic projection holds.

The pose model reports every face point as visible, even the far eye and ear of a head in profile, whose
places it only guesses (it tends to stack them onto the near side). So once the first fit says which side is
turned away, that side's points count a quarter and the fit runs again. The guesses still pull a
three-quarter view towards profile (by up to 25 degrees when they are stacked exactly, in the tests); that,
more than the head model, limits accuracy on real frames.

Conventions (kiosk.core.observation.HeadPose): yaw 0 = facing the camera, +90 = nose pointing to image right,
-90 = to image left, ±180 = back turned; pitch positive = looking up, relative to the camera's line of sight
(a camera 2 m up sees a level gaze as pitched down).
"""

from __future__ import annotations

import math

import numpy as np

from kiosk.core.angles import wrap_deg
from kiosk.core.observation import LEFT_SHOULDER, NOSE, RIGHT_SHOULDER, HeadPose

# Face keypoints in MediaPipe pose order: nose, left eye inner/centre/outer, right eye inner/centre/outer,
# left ear, right ear, mouth left, mouth right ("left" is the person's left).
FACE_POINTS = np.arange(0, 11)

# Adult head, centimetres, origin between the ears (tragion). Columns: lateral (+ = the person's left),
# up, forward. Adult anthropometric means: bitragion width 14.6, interpupillary 6.3, eye fissure 3,
# nose tip 11 in front of the ears and 4 below the eyes, mouth 5 wide and 7 below the eyes.
HEAD_MODEL_CM = np.array(
    [
        [0.0, -4.0, 11.0],  # nose tip
        [1.6, 0.0, 7.8],  # left eye inner
        [3.15, 0.0, 8.0],  # left eye
        [4.5, 0.0, 6.5],  # left eye outer
        [-1.6, 0.0, 7.8],  # right eye inner
        [-3.15, 0.0, 8.0],  # right eye
        [-4.5, 0.0, 6.5],  # right eye outer
        [7.3, -1.0, 0.0],  # left ear
        [-7.3, -1.0, 0.0],  # right ear
        [2.5, -7.0, 8.5],  # mouth left
        [-2.5, -7.0, 8.5],  # mouth right
    ]
)

_MAX_ROLL_DEG = 50.0  # heads tilt sideways, but a fit that turns the face upside down is a mirror artefact
_PITCH_LIMIT_DEG = 60.0
_ROLL_PRICE = 0.01  # cost of a 30-degree roll, in shares of the face's spread left unexplained
_FAR_SIDE_FROM_DEG = 30.0  # beyond this turn the far side of the face is partly hidden
_FAR_SIDE_WEIGHT = 0.25
_LEFT_SIDE = np.array([False, True, True, True, False, False, False, True, False, True, False])
_RIGHT_SIDE = np.array([False, False, False, False, True, True, True, False, True, False, True])
_MIN_FACE_POINTS = 5  # below this the fit has more freedom than data
_MIN_SHOULDER_SPAN_M = 0.05  # a shoulder line shorter than this in the floor plane has no direction
_NOSE_FRONT_MARGIN_M = 0.02  # the nose must sit this far behind the shoulder line to overrule the labels


def _grid(yaws_deg: np.ndarray, pitches_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project the head model for every (yaw, pitch); returns yaw, pitch (n,) and points (2, n, 11): image x
    and y, each contiguous for the fit's matrix products."""
    yaw, pitch = np.meshgrid(np.radians(yaws_deg), np.radians(pitches_deg), indexing="ij")
    yaw, pitch = yaw.ravel(), pitch.ravel()
    lat, up, fwd = HEAD_MODEL_CM.T
    # Pitch turns the face about its own ear-to-ear axis, then yaw turns the head about the vertical.
    up_p = up[None, :] * np.cos(pitch)[:, None] + fwd[None, :] * np.sin(pitch)[:, None]
    fwd_p = fwd[None, :] * np.cos(pitch)[:, None] - up[None, :] * np.sin(pitch)[:, None]
    x = lat[None, :] * np.cos(yaw)[:, None] + fwd_p * np.sin(yaw)[:, None]
    y = -up_p  # image y grows downwards
    return yaw, pitch, np.stack([x, y])


_COARSE_STEP_DEG = 5.0
_COARSE_YAWS = np.arange(-180.0, 180.0, _COARSE_STEP_DEG)
_COARSE_YAW, _COARSE_PITCH, _COARSE_POINTS = _grid(
    _COARSE_YAWS, np.arange(-_PITCH_LIMIT_DEG, _PITCH_LIMIT_DEG + 1.0, 10.0)
)
_YAW_COST_SLACK = 0.02  # residual a pixel of keypoint noise leaves on a small face: fits within it are as good
_NOISE_SPREAD_DEG = 15.0  # the spread a well-fitted face shows from keypoint noise alone
# A turned head's far eye and ear are guesses that pull a three-quarter view towards profile by up to 25
# degrees (see above): between frontal and profile that bias is part of the yaw's uncertainty.
_THREE_QUARTER_SD_DEG = 12.0
_TURNED_FROM_DEG = 20.0


def _fit(points: np.ndarray, observed: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted 2D similarity fit of each candidate to the observation.

    Args:
        points: (2, n, k) projected model candidates, x then y.
        observed: (k, 2) observed points, isotropic units (any for a point of weight 0).
        weights: (k,) non-negative; a point of weight 0 is left out.

    Returns:
        residual (n,) as the share of the observation's spread left unexplained (0 = perfect), and roll (n,)
        in radians of the fitted similarity.
    """
    w = weights / weights.sum()
    ox, oy = (observed - w @ observed).T  # a point of weight 0 drops out of every product below
    # Closed-form least squares for x' = a*x - b*y, y' = b*x + a*y (complex multiplication by a + ib). The
    # observation is centred, so only the model's spread needs centring; as matrix products over the points
    # (a frame fits some 2000 candidates per person).
    mx, my = points
    norm = (mx * mx + my * my) @ w - np.square(mx @ w) - np.square(my @ w)
    a = (mx @ (w * ox) + my @ (w * oy)) / norm
    b = (mx @ (w * oy) - my @ (w * ox)) / norm
    spread = w @ (ox**2 + oy**2)
    residual = np.clip(spread - (a**2 + b**2) * norm, 0.0, None) / spread
    return residual, np.arctan2(b, a)


def _cost(residual: np.ndarray, roll: np.ndarray) -> np.ndarray:
    # A small price on roll: heads nod far more than they tilt, and in profile a nod and a tilt look alike.
    cost = residual + _ROLL_PRICE * (roll / math.radians(30.0)) ** 2
    return np.where(np.abs(roll) <= math.radians(_MAX_ROLL_DEG), cost, np.inf)


def _yaw_spread(cost: np.ndarray, best: int) -> float:
    """Half the width (degrees) of the run of coarse yaws around the winner that explain the points about as
    well: the yaw's uncertainty as the points themselves give it."""
    per_yaw = cost.reshape(len(_COARSE_YAWS), -1).min(axis=1)
    i = best // (cost.size // len(_COARSE_YAWS))
    good = per_yaw <= per_yaw[i] + max(_YAW_COST_SLACK, 0.5 * per_yaw[i])
    n, width = len(per_yaw), 1
    for step in (1, -1):
        j = i
        while width < n and good[(j + step) % n]:
            j += step
            width += 1
    return 0.5 * width * _COARSE_STEP_DEG


def _search_with_spread(observed: np.ndarray, weights: np.ndarray) -> tuple[float, float, float, float]:
    """Best (yaw, pitch) in degrees, its cost (inf when no candidate fits) and the yaw's spread (degrees): a
    5-degree grid, then 1 degree around the winner. ``observed`` (11, 2) and ``weights`` (11,) cover every
    face point, weight 0 for those not seen."""
    cost = _cost(*_fit(_COARSE_POINTS, observed, weights))
    i = int(np.argmin(cost))
    spread = _yaw_spread(cost, i)
    yaw0, pitch0 = math.degrees(_COARSE_YAW[i]), math.degrees(_COARSE_PITCH[i])
    fine_pitch = np.clip(np.arange(pitch0 - 9.0, pitch0 + 9.5, 1.0), -_PITCH_LIMIT_DEG, _PITCH_LIMIT_DEG)
    yaw_f, pitch_f, points_f = _grid(np.arange(yaw0 - 4.0, yaw0 + 4.5, 1.0), np.unique(fine_pitch))
    cost_f = _cost(*_fit(points_f, observed, weights))
    j = int(np.argmin(cost_f))
    if cost_f[j] <= cost[i]:
        return math.degrees(yaw_f[j]), math.degrees(pitch_f[j]), float(cost_f[j]), spread
    return yaw0, pitch0, float(cost[i]), spread


def head_pose_from_keypoints(
    keypoints: np.ndarray, min_visibility: float = 0.5, aspect_ratio: float = 1.0
) -> HeadPose | None:
    """Estimate head yaw and pitch from one person's pose keypoints.

    Args:
        keypoints: (33, 3) MediaPipe pose keypoints (x, y normalised 0..1, visibility 0..1).
        min_visibility: face keypoints below this visibility are left out of the fit.
        aspect_ratio: image width / height, so that normalised x and y become the same unit.

    Returns:
        HeadPose (degrees; confidence 0..1 from how well the head model explains the points and how visible
        they were), or None when the nose or too few face points were seen.

    Example:
        >>> pose = head_pose_from_keypoints(obs.keypoints, 0.5, aspect_ratio=640 / 480)
        >>> pose.yaw_deg > 45  # looking towards image right
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.shape != (33, 3):
        raise ValueError(f"keypoints must have shape (33, 3), got {kp.shape}")
    if not 0.0 <= min_visibility <= 1.0:
        raise ValueError(f"min_visibility must be within 0..1, got {min_visibility!r}")
    if not aspect_ratio > 0.0:
        raise ValueError(f"aspect_ratio must be positive, got {aspect_ratio!r}")
    face = kp[FACE_POINTS]
    seen = (face[:, 2] >= min_visibility) & np.isfinite(face).all(axis=1)
    # Without the nose there is no front to the head: a back view or a hidden face says nothing reliable.
    if not seen[NOSE] or seen.sum() < _MIN_FACE_POINTS:
        return None
    observed = np.where(seen[:, None], face[:, :2], 0.0) * np.array([aspect_ratio, 1.0])
    if np.ptp(observed[seen], axis=0).max() <= 0.0:
        return None
    weights = np.where(seen, np.clip(face[:, 2], 1e-3, 1.0), 0.0)

    yaw_deg, pitch_deg, res, spread = _search_with_spread(observed, weights)
    # In a turned head the far eye, ear and mouth corner are hidden and the pose model only guesses them
    # (it still calls them visible): trust the near side more and fit again.
    if _FAR_SIDE_FROM_DEG < abs(yaw_deg) < 180.0 - _FAR_SIDE_FROM_DEG:
        far = _LEFT_SIDE if yaw_deg > 0 else _RIGHT_SIDE
        reweighted = weights * np.where(far, _FAR_SIDE_WEIGHT, 1.0)
        yaw_deg, pitch_deg, res, spread = _search_with_spread(observed, reweighted)
    if not math.isfinite(res):
        return None
    # What frames do not average away: fits nearly as good over a wide run of yaws, and the far-side bias.
    yaw_sd = max(spread - _NOISE_SPREAD_DEG, 0.0)
    if _TURNED_FROM_DEG < abs(yaw_deg) < 180.0 - _TURNED_FROM_DEG:  # a measured profile may be a 3/4 view
        yaw_sd = math.hypot(yaw_sd, _THREE_QUARTER_SD_DEG)

    # A residual of a quarter of the face's spread means the points hardly look like a head.
    fit_quality = max(0.0, 1.0 - res / 0.25)
    confidence = float(np.clip(fit_quality * weights[seen].mean() * seen.mean(), 0.0, 1.0))
    return HeadPose(yaw_deg=wrap_deg(yaw_deg), pitch_deg=float(np.clip(pitch_deg, -90, 90)), confidence=confidence,
                    yaw_sd_deg=float(min(yaw_sd, 180.0)))


def torso_yaw_from_world(
    world: np.ndarray, visibility: np.ndarray | None = None, min_visibility: float = 0.5
) -> float | None:
    """Facing direction of the shoulder line, from MediaPipe's metric world landmarks.

    Args:
        world: (33, 3) pose_world_landmarks in metres (x to image right, y down, z away from the camera,
            origin between the hips).
        visibility: (33,) keypoint visibility, or None to trust every point.
        min_visibility: both shoulders must be at least this visible.

    Returns:
        Yaw in degrees (HeadPose convention: 0 facing the camera, +90 facing image right, ±180 back turned), or
        None when the shoulders were not seen or their line is nearly along the camera's view.

    The shoulder line gives the axis; its left/right labels give which side is the front. The nose, being in
    front of the shoulders, overrules the labels when it clearly sits behind the line (a mislabelled back).
    """
    w = np.asarray(world, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != 33 or w.shape[1] < 3:
        raise ValueError(f"world landmarks must have shape (33, 3), got {w.shape}")
    if visibility is not None:
        vis = np.asarray(visibility, dtype=np.float64)
        if vis[LEFT_SHOULDER] < min_visibility or vis[RIGHT_SHOULDER] < min_visibility:
            return None
    # Work in the floor plane (x, z); the person's left lies along (cos yaw, sin yaw) in it.
    left_to = w[LEFT_SHOULDER, [0, 2]] - w[RIGHT_SHOULDER, [0, 2]]
    if not np.all(np.isfinite(left_to)) or float(np.hypot(*left_to)) < _MIN_SHOULDER_SPAN_M:
        return None
    yaw = math.atan2(left_to[1], left_to[0])
    forward = np.array([math.sin(yaw), -math.cos(yaw)])
    nose_offset = w[NOSE, [0, 2]] - (w[LEFT_SHOULDER, [0, 2]] + w[RIGHT_SHOULDER, [0, 2]]) / 2.0
    nose_seen = visibility is None or np.asarray(visibility)[NOSE] >= min_visibility
    if nose_seen and float(nose_offset @ forward) < -_NOSE_FRONT_MARGIN_M:
        yaw += math.pi
    return wrap_deg(math.degrees(yaw))
