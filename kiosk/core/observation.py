"""What the vision stage says about one person in one frame (DESIGN §5). Never persisted.

An observation carries no identity: tracking gives it a short-lived number later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

N_KEYPOINTS = 33  # MediaPipe pose topology

# MediaPipe pose indices used outside vision (by geometry and simulation).
NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR = 0, 2, 5, 7, 8
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
LEFT_HIP, RIGHT_HIP = 23, 24
LEFT_KNEE, RIGHT_KNEE = 25, 26
LEFT_ANKLE, RIGHT_ANKLE = 27, 28


@dataclass(frozen=True)
class HeadPose:
    """Head orientation relative to the camera.

    yaw_deg: 0 = facing the camera, +90 = profile facing image right, -90 = facing image left, ±180 = back turned.
    pitch_deg: positive = looking up.
    confidence: 0..1.
    yaw_sd_deg: how unsure the yaw stays over frames (one standard deviation, degrees): a three-quarter view,
        whose far eye and ear the model only guesses, is less certain than a profile or a frontal face. The
        frame-to-frame noise, which the tracker's running median removes, is not part of it.
    """

    yaw_deg: float
    pitch_deg: float = 0.0
    confidence: float = 1.0
    yaw_sd_deg: float = 0.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.yaw_deg) or not -180.0 <= self.yaw_deg <= 180.0:
            raise ValueError(f"HeadPose.yaw_deg must be within -180..180 degrees, got {self.yaw_deg!r}")
        if not math.isfinite(self.pitch_deg) or not -90.0 <= self.pitch_deg <= 90.0:
            raise ValueError(f"HeadPose.pitch_deg must be within -90..90 degrees, got {self.pitch_deg!r}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"HeadPose.confidence must be within 0..1, got {self.confidence!r}")
        if not math.isfinite(self.yaw_sd_deg) or not 0.0 <= self.yaw_sd_deg <= 180.0:
            raise ValueError(f"HeadPose.yaw_sd_deg must be within 0..180 degrees, got {self.yaw_sd_deg!r}")


@dataclass(frozen=True, eq=False)
class Observation:
    """One person in one frame.

    t: seconds on the video's clock.
    keypoints: array (33, 3) of (x, y, visibility); x, y normalised to 0..1 of the image width/height.
        A point with a non-finite coordinate or visibility (a NaN from the model) is kept as invisible,
        (0, 0, 0): it costs that point, never the observation or the pipeline (DESIGN §5).
    bbox: (x0, y0, x1, y1) normalised; a non-finite box is redrawn around the finite visible points.
    score: detection confidence 0..1.
    head: head orientation when the face was seen, else None.
    torso_yaw_deg: shoulder-line orientation, same convention as ``HeadPose.yaw_deg``, when known.
    """

    t: float
    keypoints: np.ndarray
    bbox: tuple[float, float, float, float]
    score: float
    head: HeadPose | None = None
    torso_yaw_deg: float | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.t):
            raise ValueError(f"Observation.t must be a finite number of seconds, got {self.t!r}")
        kp = np.asarray(self.keypoints, dtype=np.float64)
        if kp.shape != (N_KEYPOINTS, 3):
            raise ValueError(f"Observation.keypoints must have shape (33, 3), got {kp.shape}")
        bad = ~np.isfinite(kp).all(axis=1)
        if bad.any():
            kp = kp.copy()
            kp[bad] = 0.0
        object.__setattr__(self, "keypoints", kp)
        if not 0.0 <= self.score <= 1.0:  # also refuses NaN: a person with no score has nothing to go on
            raise ValueError(f"Observation.score must be within 0..1, got {self.score!r}")
        if len(self.bbox) != 4:
            raise ValueError(f"Observation.bbox must be (x0, y0, x1, y1), got {self.bbox!r}")
        if not all(math.isfinite(v) for v in self.bbox):
            object.__setattr__(self, "bbox", _box_around_visible(kp, self.bbox))
        if self.torso_yaw_deg is not None and not -180.0 <= self.torso_yaw_deg <= 180.0:
            raise ValueError(f"Observation.torso_yaw_deg must be within -180..180, got {self.torso_yaw_deg!r}")


def _box_around_visible(kp: np.ndarray, given: tuple[float, ...]) -> tuple[float, float, float, float]:
    seen = kp[kp[:, 2] > 0, :2]
    if len(seen) == 0:
        raise ValueError(f"Observation.bbox {given!r} is not finite and no keypoint is visible to redraw it")
    x0, y0 = np.clip(seen.min(axis=0), 0.0, 1.0)
    x1, y1 = np.clip(seen.max(axis=0), 0.0, 1.0)
    return float(x0), float(y0), float(x1), float(y1)
