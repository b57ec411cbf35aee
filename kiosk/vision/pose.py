"""People in a frame: MediaPipe pose on the full frame and on zone crops, merged into Observations.

:mod:`kiosk.vision.tracker` (backend "tracker") detects rarely and follows each person instead, at a third of
the cost; this per-region estimator is the default ("auto") until the tracker matches its greeting accuracy.

Two back ends, same output:
- ``tasks``: MediaPipe Tasks ``PoseLandmarker`` with ``num_poses`` (several people per image), loaded from the
  bundle :mod:`kiosk.vision.models` builds from the wheel. Preferred.
- ``legacy``: ``mp.solutions.pose.Pose(model_complexity=1)``, one person per image, straight from the wheel.

Either runs once per *region*: the full frame and each crop the caller passes (the calibrated zones'
bounding rectangles). Crops keep close-standing people apart (a staff member and a customer across a counter)
and make small, distant people larger for the detector. One person seen in two regions is merged.

In video mode each region keeps its own landmarker, which tracks between frames; crops are expected to stay
put from frame to frame (zones), and a region whose rectangle changes starts afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, Self

import cv2
import numpy as np
from pydantic import ValidationError

from kiosk.core.observation import Observation
from kiosk.settings.tree import VisionSettings
from kiosk.vision.head import head_pose_from_keypoints, torso_yaw_from_world
from kiosk.vision.models import ModelError, default_bundle_path

logger = logging.getLogger(__name__)

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, x1/y1 exclusive
_MIN_CROP_PX = 32  # smaller regions hold no detectable person and only cost a model run
_UPPER_BODY = slice(0, 25)  # nose to hips: what a counter camera sees; legs are a bonus
# Two detections of one person (full frame and a crop) put keypoints within this share of body height of
# each other; two people standing one behind the other are a shoulder width (a quarter of height) apart or more.
_SAME_PERSON_GAP = 0.15


@dataclass(frozen=True)
class PoseOptions:
    """How :class:`PoseEstimator` finds people.

    backend: "auto" (tasks when the bundle exists, else legacy), "tasks" or "legacy".
    bundle_path: the ``.task`` bundle; None = :func:`kiosk.vision.models.default_bundle_path`.
    video: True for a stream (tracking between frames), False for unrelated stills.
    full_frame: also run on the whole frame, not only the crops.
    max_poses_per_region: people the tasks back end looks for in one region (legacy finds one).
    min_detection_confidence, min_presence_confidence, min_tracking_confidence: MediaPipe thresholds, 0..1.
    min_keypoint_visibility: keypoints below this visibility do not count (bbox, head, merging), 0..1.
    duplicate_overlap: two people whose boxes overlap by this share of the smaller box, and whose
        keypoints agree, are one person, 0..1.
    """

    backend: Literal["auto", "tasks", "legacy"] = "auto"
    bundle_path: Path | None = None
    video: bool = True
    full_frame: bool = True
    max_poses_per_region: int = VisionSettings.model_fields["max_poses_per_region"].default
    min_detection_confidence: float = VisionSettings.model_fields["min_detection_confidence"].default
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    min_keypoint_visibility: float = 0.5
    duplicate_overlap: float = 0.5

    def __post_init__(self) -> None:
        if self.backend not in ("auto", "tasks", "legacy"):
            raise ValueError(f"PoseOptions.backend must be 'auto', 'tasks' or 'legacy', got {self.backend!r}")
        try:  # the setting's own bounds: one rule for the settings file and for code that builds options
            VisionSettings(max_poses_per_region=self.max_poses_per_region)
        except ValidationError:
            raise ValueError(f"PoseOptions.max_poses_per_region must be within vision.max_poses_per_region's "
                             f"bounds (docs/SETTINGS.md), got {self.max_poses_per_region!r}") from None
        for name in (
            "min_detection_confidence",
            "min_presence_confidence",
            "min_tracking_confidence",
            "min_keypoint_visibility",
            "duplicate_overlap",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"PoseOptions.{name} must be within 0..1, got {value!r}")


@dataclass(frozen=True)
class _Person:
    """One landmarker result in region coordinates: keypoints (33, 3) x, y 0..1 of the region + visibility;
    world (33, 3) metres."""

    keypoints: np.ndarray
    world: np.ndarray


class _Runner(Protocol):
    def detect(self, rgb: np.ndarray, t_ms: int) -> list[_Person]: ...

    def close(self) -> None: ...


def _landmark_array(landmarks: Sequence[Any], third: str) -> np.ndarray:
    return np.array([[lm.x, lm.y, getattr(lm, third)] for lm in landmarks], dtype=np.float64)


class _TasksRunner:
    """One Tasks PoseLandmarker (several people per image)."""

    def __init__(self, bundle: Path, options: PoseOptions) -> None:
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        self._video = options.video
        mode = vision.RunningMode.VIDEO if options.video else vision.RunningMode.IMAGE
        self._landmarker = vision.PoseLandmarker.create_from_options(
            vision.PoseLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(bundle)),
                running_mode=mode,
                num_poses=options.max_poses_per_region,
                min_pose_detection_confidence=options.min_detection_confidence,
                min_pose_presence_confidence=options.min_presence_confidence,
                min_tracking_confidence=options.min_tracking_confidence,
                output_segmentation_masks=False,
            )
        )
        self._last_ms = -1

    def detect(self, rgb: np.ndarray, t_ms: int) -> list[_Person]:
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        if self._video:
            # VIDEO mode needs strictly increasing time stamps; two frames in one millisecond get nudged.
            t_ms = max(t_ms, self._last_ms + 1)
            self._last_ms = t_ms
            result = self._landmarker.detect_for_video(image, t_ms)
        else:
            result = self._landmarker.detect(image)
        return [
            _Person(_landmark_array(lms, "visibility"), _landmark_array(world, "z"))
            for lms, world in zip(result.pose_landmarks, result.pose_world_landmarks)
        ]

    def close(self) -> None:
        self._landmarker.close()


class _LegacyRunner:
    """One legacy mp.solutions.pose graph (one person per image; model_complexity=1 is the wheel's model)."""

    def __init__(self, options: PoseOptions) -> None:
        import mediapipe as mp

        self._pose = mp.solutions.pose.Pose(
            static_image_mode=not options.video,
            model_complexity=1,  # 0 and 2 are not in the wheel and would be downloaded (DESIGN §7)
            smooth_landmarks=options.video,
            enable_segmentation=False,
            min_detection_confidence=options.min_detection_confidence,
            min_tracking_confidence=options.min_tracking_confidence,
        )

    def detect(self, rgb: np.ndarray, t_ms: int) -> list[_Person]:
        result = self._pose.process(rgb)
        if result.pose_landmarks is None or result.pose_world_landmarks is None:
            return []
        keypoints = np.array([[lm.x, lm.y, lm.visibility] for lm in result.pose_landmarks.landmark])
        world = np.array([[lm.x, lm.y, lm.z] for lm in result.pose_world_landmarks.landmark])
        return [_Person(keypoints, world)]

    def close(self) -> None:
        self._pose.close()


def _bbox(keypoints: np.ndarray, min_visibility: float) -> tuple[float, float, float, float]:
    seen = keypoints[:, 2] >= min_visibility
    points = keypoints[seen, :2] if seen.sum() >= 2 else keypoints[:, :2]
    x0, y0 = np.clip(points.min(axis=0), 0.0, 1.0)
    x1, y1 = np.clip(points.max(axis=0), 0.0, 1.0)
    return float(x0), float(y0), float(x1), float(y1)


def _overlap_of_smaller(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over the smaller box: a person cut off by a crop edge lies inside their full-frame box."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(iw * ih / smaller) if smaller > 0 else 0.0


def _same_person(a: Observation, b: Observation, options: PoseOptions, aspect: float) -> bool:
    if _overlap_of_smaller(a.bbox, b.bbox) < options.duplicate_overlap:
        return False
    # Boxes of two people standing one behind the other overlap too; their keypoints do not.
    both = (a.keypoints[_UPPER_BODY, 2] >= options.min_keypoint_visibility) & (
        b.keypoints[_UPPER_BODY, 2] >= options.min_keypoint_visibility
    )
    if both.sum() < 3:
        return True
    scale = np.array([aspect, 1.0])
    gaps = np.linalg.norm((a.keypoints[_UPPER_BODY][both, :2] - b.keypoints[_UPPER_BODY][both, :2]) * scale, axis=1)
    size = max(a.bbox[3] - a.bbox[1], b.bbox[3] - b.bbox[1], 1e-6)
    return float(np.median(gaps)) <= _SAME_PERSON_GAP * size


def observation_from_landmarks(
    t: float, keypoints: np.ndarray, world: np.ndarray, min_visibility: float, aspect: float
) -> Observation:
    """One person's Observation from full-frame landmarks (33, 3: x, y 0..1, visibility) and world landmarks
    (33, 3 metres): bbox of the visible keypoints, score, head yaw and torso yaw."""
    keypoints = keypoints.copy()
    keypoints[:, 2] = np.clip(keypoints[:, 2], 0.0, 1.0)
    return Observation(
        t=t,
        keypoints=keypoints,
        bbox=_bbox(keypoints, min_visibility),
        # MediaPipe reports no per-person score; how surely the upper body was seen stands in.
        score=float(np.clip(keypoints[_UPPER_BODY, 2].mean(), 0.0, 1.0)),
        head=head_pose_from_keypoints(keypoints, min_visibility, aspect_ratio=aspect),
        torso_yaw_deg=torso_yaw_from_world(world, keypoints[:, 2], min_visibility),
    )


def same_person(a: Observation, b: Observation, min_visibility: float, overlap: float, aspect: float) -> bool:
    """Whether two observations of one frame are one person: boxes overlapping by ``overlap`` of the smaller
    one and upper-body keypoints within a small share of body height of each other."""
    return _same_person(a, b, PoseOptions(min_keypoint_visibility=min_visibility, duplicate_overlap=overlap), aspect)


def merge_duplicates(observations: list[Observation], options: PoseOptions, aspect: float = 1.0) -> list[Observation]:
    """Keep one observation per person: the best-scored of each group of duplicates.

    Args:
        observations: people from all regions of one frame, full-frame coordinates.
        options: ``duplicate_overlap`` and ``min_keypoint_visibility`` are used.
        aspect: image width / height, to measure keypoint gaps in one unit.
    """
    kept: list[Observation] = []
    for obs in sorted(observations, key=lambda o: o.score, reverse=True):
        if not any(_same_person(obs, k, options, aspect) for k in kept):
            kept.append(obs)
    return kept


def clip_rect(rect: Sequence[int], width: int, height: int) -> Rect | None:
    """``rect`` (x0, y0, x1, y1) clipped to the frame, or None when under 32 px a side."""
    if len(rect) != 4:
        raise ValueError(f"a crop must be (x0, y0, x1, y1) in pixels, got {rect!r}")
    x0, y0 = max(0, int(rect[0])), max(0, int(rect[1]))
    x1, y1 = min(width, int(rect[2])), min(height, int(rect[3]))
    if x1 - x0 < _MIN_CROP_PX or y1 - y0 < _MIN_CROP_PX:
        return None
    return x0, y0, x1, y1


class PoseEstimator:
    """Frame in, one :class:`Observation` per person out.

    Args:
        options: see :class:`PoseOptions`.

    Raises:
        ModelError: ``backend="tasks"`` and the bundle is missing or broken, or a wheel model is missing.

    Example:
        >>> with PoseEstimator(PoseOptions(video=False)) as estimator:
        ...     people = estimator.update(0.0, frame_bgr, crops=[(0, 0, 320, 480)])
    """

    def __init__(self, options: PoseOptions = PoseOptions()) -> None:
        self.options = options
        self._bundle = options.bundle_path or default_bundle_path()
        self._last_t: float | None = None
        # Load the first model now, so a broken installation fails at start-up, not on the first customer.
        self.backend, first = self._first_runner()
        # Region slot -> (the rectangle its tracking state belongs to, its landmarker); None = not used yet.
        self._runners: dict[int, tuple[Rect | None, _Runner]] = {0: (None, first)}

    def _first_runner(self) -> tuple[Literal["tasks", "legacy"], _Runner]:
        if self.options.backend != "legacy":
            if self._bundle.is_file() or self.options.backend == "tasks":
                try:
                    return "tasks", self._tasks_runner()
                except ModelError as exc:
                    if self.options.backend == "tasks":
                        raise
                    logger.warning("%s; using legacy pose, one person per region", exc)
            else:
                logger.warning(
                    "no pose bundle at %s (build it with `python -m kiosk.vision.models build`); "
                    "using legacy pose, one person per region",
                    self._bundle,
                )
        return "legacy", _LegacyRunner(self.options)

    def _tasks_runner(self) -> _Runner:
        if not self._bundle.is_file():
            raise ModelError(
                f"pose bundle {self._bundle} does not exist; build it with `python -m kiosk.vision.models build`"
            )
        try:
            return _TasksRunner(self._bundle, self.options)
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"MediaPipe cannot load the pose bundle {self._bundle}: {exc}") from exc

    def _runner(self, slot: int, rect: Rect) -> _Runner:
        if not self.options.video:
            return self._runners[0][1]  # stills carry no state: one landmarker serves every region
        held = self._runners.get(slot)
        if held is not None and held[0] in (None, rect):
            self._runners[slot] = (rect, held[1])
            return held[1]
        if held is not None:
            held[1].close()  # a moved region's tracking state would point at the wrong pixels
        runner = self._tasks_runner() if self.backend == "tasks" else _LegacyRunner(self.options)
        self._runners[slot] = (rect, runner)
        return runner

    def update(
        self, t: float, frame_bgr: np.ndarray, crops: Sequence[Sequence[int]] | None = None
    ) -> list[Observation]:
        """Find the people in one frame.

        Args:
            t: the frame's time stamp in seconds (source clock); increasing in video mode.
            frame_bgr: uint8 (height, width, 3) BGR image.
            crops: regions (x0, y0, x1, y1) in pixels, exclusive ends, to search besides the full frame;
                clipped to the frame; regions under 32 px a side are skipped.

        Returns:
            One Observation per person, keypoints and bbox normalised to the full frame.
        """
        if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8:
            raise ValueError(
                f"frame_bgr must be a uint8 (height, width, 3) array, got {frame_bgr.dtype} {frame_bgr.shape}"
            )
        if self.options.video and self._last_t is not None and t < self._last_t:
            raise ValueError(f"in video mode time must not go backwards: got t={t} after t={self._last_t}")
        self._last_t = t
        height, width = frame_bgr.shape[:2]
        regions: list[Rect] = [(0, 0, width, height)] if self.options.full_frame else []
        for rect in crops or ():
            clipped = clip_rect(rect, width, height)
            if clipped is not None:
                regions.append(clipped)
        rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        t_ms = round(t * 1000.0)
        found: list[Observation] = []
        for slot, rect in enumerate(regions):
            x0, y0, x1, y1 = rect
            crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
            for person in self._runner(slot, rect).detect(crop, t_ms):
                found.append(self._observation(t, person, rect, width, height))
        return merge_duplicates(found, self.options, aspect=width / height)

    def _observation(self, t: float, person: _Person, rect: Rect, width: int, height: int) -> Observation:
        x0, y0, x1, y1 = rect
        keypoints = person.keypoints.copy()
        keypoints[:, 0] = (x0 + keypoints[:, 0] * (x1 - x0)) / width
        keypoints[:, 1] = (y0 + keypoints[:, 1] * (y1 - y0)) / height
        return observation_from_landmarks(t, keypoints, person.world, self.options.min_keypoint_visibility,
                                          aspect=width / height)

    def close(self) -> None:
        """Release every model. Safe to call twice."""
        for _, runner in self._runners.values():
            runner.close()
        self._runners.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
