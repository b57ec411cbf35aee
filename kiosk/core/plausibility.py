"""Is this skeleton a standing person? Landmarks checked against the standard body before they are placed.

A pose model asked about a body cut by a counter can answer with a confident, impossible skeleton: all 33
points squeezed into the visible upper body, knees above the hips, ankles at chest height, every point
"visible". Placement that trusts those points solves for a tiny, far-away person (issue 11: a staff member
47 px tall placed 9 m away). So before placement each body level is checked, from the head down, against
what an upright person looks like in a camera hung about head height:

- top-to-bottom order: head above shoulders above hips above knees above ankles;
- segment lengths against the head's size, which the model reads best (a rigid object it was trained on):
  the neck, the torso, the thigh and the shin each have a plausible range of lengths;
- uprightness: a torso or a thigh lying sideways in the picture is not a person standing at a counter;
- shoulder width against head size.

A level that fails is dropped with everything below it (a chain: hips that are wrong make knees and ankles
meaningless). Dropped means treated as not seen, never "corrected". Pure numpy, no pixels, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kiosk.core.observation import N_KEYPOINTS

HEAD = tuple(range(0, 11))          # nose, eyes, ears, mouth (MediaPipe pose topology)
SHOULDERS = (11, 12)
ARMS = tuple(range(13, 23))         # elbows, wrists, hands: they hang anywhere, so they place no one
HIPS = (23, 24)
KNEES = (25, 26)
FEET = (27, 28, 29, 30, 31, 32)     # ankles, heels, toes

# Plausible ranges, as multiples of the head's size in the picture (its largest span between face points:
# ear to ear seen from the front, ear to nose in profile, about 0.06-0.09 of standing height). The standard
# body (Drillis & Contini) puts the neck (face to shoulder line) at about 1.4 head sizes, the torso (shoulders
# to hips) at 3.8, thigh and shin at 3.3 each; the bounds are wide because people bow, lean and turn, and
# a camera above head height shortens what is below it.
NECK_MIN = 0.45
TORSO_MIN, TORSO_MAX = 1.6, 12.0  # small faces: the model collapses face points, so the upper bound is loose
LIMB_MIN_OF_TORSO, LIMB_MAX_OF_TORSO = 0.35, 2.0
SHOULDER_WIDTH_MAX = 6.0
SHOULDERS_PER_HEAD = 2.5  # shoulder width of the standard body (0.224 of height) over a frontal head (0.088)
UPRIGHT_TORSO = 1.0   # the torso must drop at least as much as it runs sideways (within 45 degrees of vertical)
UPRIGHT_LIMB = 0.6    # a striding leg leans more than a torso


@dataclass(frozen=True, eq=False)
class CheckedSkeleton:
    """Keypoints (33, 3) with every implausible point's visibility set to 0, and why levels were dropped.

    dropped: names of the dropped levels ("shoulders", "hips", "knees", "feet"), top first.
    reasons: one sentence per dropped level, for logs and the installer's overlay.
    legs_seen: plausible knees or feet were seen, so nothing hides this person's legs.
    """

    keypoints: np.ndarray
    dropped: tuple[str, ...]
    reasons: tuple[str, ...]
    legs_seen: bool


def check_skeleton(keypoints: np.ndarray, min_visibility: float, aspect_ratio: float) -> CheckedSkeleton:
    """Drop the levels of a skeleton that no upright person could show.

    Args:
        keypoints: (33, 3) normalised x, y (0..1 of width and height) and visibility 0..1.
        min_visibility: points below this count as unseen (as in placement).
        aspect_ratio: image width / height, so that x and y are measured in the same unit (pixels).

    Returns:
        the checked skeleton; ``keypoints`` is a new array, the input is not changed.

    Example:
        >>> checked = check_skeleton(obs.keypoints, 0.5, 640 / 480)
        >>> checked.dropped   # ("hips", "knees", "feet") for a body squeezed above a counter
    """
    kp = np.array(keypoints, dtype=np.float64, copy=True)
    if kp.shape != (N_KEYPOINTS, 3):
        raise ValueError(f"keypoints must have shape (33, 3), got {kp.shape}")
    if not aspect_ratio > 0:
        raise ValueError(f"aspect_ratio must be positive, got {aspect_ratio!r}")
    finite = np.isfinite(kp).all(axis=1)
    kp[~finite] = 0.0
    seen = finite & (kp[:, 2] >= min_visibility)
    xy = kp[:, :2] * np.array([aspect_ratio, 1.0])  # x in units of image height, like y

    def level(idx: tuple[int, ...]) -> np.ndarray | None:
        pts = [i for i in idx if seen[i]]
        return xy[pts].mean(axis=0) if pts else None

    dropped: list[str] = []
    reasons: list[str] = []

    def drop(names: list[tuple[str, tuple[int, ...]]], why: str) -> None:
        for name, idx in names:
            if any(seen[i] for i in idx):
                dropped.append(name)
            for i in idx:
                seen[i] = False
        reasons.append(why)

    below_shoulders = [("hips", HIPS), ("knees", KNEES), ("feet", FEET)]
    face = [i for i in HEAD if seen[i]]
    head_size = float(np.ptp(xy[face], axis=0).max()) if len(face) >= 2 else None
    head = np.median(xy[face], axis=0) if face else None
    shoulders = level(SHOULDERS)

    if head is not None and head_size and head_size > 0 and shoulders is not None:
        neck = shoulders[1] - head[1]
        width = float(np.linalg.norm(xy[SHOULDERS[0]] - xy[SHOULDERS[1]])) if seen[list(SHOULDERS)].all() else 0.0
        if neck < NECK_MIN * head_size:
            drop([("shoulders", SHOULDERS)] + below_shoulders,
                 f"shoulders {neck / head_size:.2f} head sizes below the face (an upright person: about 1.4)")
        elif width > SHOULDER_WIDTH_MAX * head_size:
            drop([("shoulders", SHOULDERS)] + below_shoulders,
                 f"shoulders {width / head_size:.1f} head sizes wide (at most {SHOULDER_WIDTH_MAX:g})")
    shoulders = level(SHOULDERS)
    hips = level(HIPS)
    scale = head_size if head_size else None
    if scale is None and seen[list(SHOULDERS)].all():  # a back view hides the face: the shoulders give the scale
        scale = float(np.linalg.norm(xy[SHOULDERS[0]] - xy[SHOULDERS[1]])) / SHOULDERS_PER_HEAD or None
    torso = None
    if hips is not None and shoulders is None and head is not None:
        # Hips under a face with no shoulders to check them against cannot be told from a guess, and a guess
        # is what the model gives for hips behind a counter.
        drop(below_shoulders, "hips seen without shoulders to check them against")
    elif hips is not None and shoulders is not None:
        dy, dx = hips[1] - shoulders[1], abs(hips[0] - shoulders[0])
        if scale is None:
            if dy <= 0:
                drop(below_shoulders, "hips above the shoulders")
            else:
                torso = dy
        elif dy < TORSO_MIN * scale or dy > TORSO_MAX * scale:
            drop(below_shoulders, f"torso {dy / scale:.1f} head sizes long "
                                  f"(an upright person: {TORSO_MIN:g}-{TORSO_MAX:g})")
        elif dy < UPRIGHT_TORSO * dx:
            drop(below_shoulders, "torso lies sideways in the picture")
        else:
            torso = dy
    elif hips is not None:
        torso = None  # a legs-only view: nothing above to compare with; the legs are checked against the hips
    upper, upper_len = (hips, torso) if torso is not None else (None, None)
    for name, idx, rest in (("knees", KNEES, [("knees", KNEES), ("feet", FEET)]), ("feet", FEET, [("feet", FEET)])):
        lower = level(idx)
        if lower is None:
            continue
        if upper is None or upper_len is None:
            drop(rest, f"{name} seen without a plausible body part above them")
            break
        dy, dx = lower[1] - upper[1], abs(lower[0] - upper[0])
        if not (LIMB_MIN_OF_TORSO * torso <= dy <= LIMB_MAX_OF_TORSO * torso) or dy < UPRIGHT_LIMB * dx:  # type: ignore[operator]
            drop(rest, f"{name} {dy / torso:.2f} torso lengths below the joint above them "  # type: ignore[operator]
                       f"(an upright person: {LIMB_MIN_OF_TORSO:g}-{LIMB_MAX_OF_TORSO:g}, below it)")
            break
        upper, upper_len = lower, dy
    kp[~seen & (kp[:, 2] >= min_visibility), 2] = 0.0
    legs_seen = bool(seen[list(KNEES + FEET)].any())
    return CheckedSkeleton(keypoints=kp, dropped=tuple(dropped), reasons=tuple(reasons), legs_seen=legs_seen)
