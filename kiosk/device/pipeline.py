"""Frames -> interactions: the one place that wires the stages in order (DESIGN §2).

``Pipeline.update(t, frame)`` runs pose + head (vision), floor tracking and the episode machines on one frame
and returns the interactions that ended with it. The frame is not kept: after ``update`` returns, nothing
holds a reference to its pixels. Stage times are kept per stage for the benchmark and the staff screen.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from kiosk.settings.tree import Settings
from kiosk.core.geometry import CameraModel
from kiosk.core.observation import Observation
from kiosk.core.episodes import Engagement, EpisodeTracker
from kiosk.core.scene import SceneFrame
from kiosk.core.interaction import Interaction
from kiosk.core.tracking import FloorTracker, ZoneMap, camera_from_settings


def zone_crops(camera: CameraModel, zones: ZoneMap, person_height_m: float) -> list[tuple[int, int, int, int]]:
    """Pixel rectangles (x0, y0, x1, y1) that hold everyone standing in each zone: its floor polygon and the
    same polygon raised to head height, projected and clipped to the image."""
    rects = []
    for _, poly in zones.polygons:
        pts = np.r_[np.c_[poly, np.zeros(len(poly))], np.c_[poly, np.full(len(poly), person_height_m)]]
        uv, z = camera.project(pts)
        uv = uv[z > 0.1]
        if len(uv) == 0:
            continue
        x0, y0 = np.clip(uv.min(axis=0), 0, [camera.width_px, camera.height_px]).astype(int)
        x1, y1 = np.clip(np.ceil(uv.max(axis=0)), 0, [camera.width_px, camera.height_px]).astype(int)
        if x1 > x0 and y1 > y0:
            rects.append((int(x0), int(y0), int(x1), int(y1)))
    return rects


def _crops(settings: Settings, camera: CameraModel, zones: ZoneMap) -> list[tuple[int, int, int, int]]:
    v = settings.vision
    return zone_crops(camera, zones, v.person_height_m) if v.zone_crops else []


def _full_frame(settings: Settings, crops: list[tuple[int, int, int, int]]) -> bool:
    # Without zone crops the full frame is the only region there is.
    return settings.vision.full_frame or not crops


def calibrated_pose_stage(settings: Settings) -> Any:
    """The pose stage a :class:`Pipeline` on ``settings`` (calibrated) would build, for a caller that keeps it
    across pipelines: models load once, however often the camera restarts."""
    camera = camera_from_settings(settings.camera)
    return pose_stage(settings, full_frame=_full_frame(settings, _crops(
        settings, camera, ZoneMap.from_camera_settings(camera, settings.camera))))


def pose_stage(settings: Settings, full_frame: bool = True) -> Any:
    """The pose stage ``settings.vision`` asks for: the tracker (backend tracker) or the per-region estimator
    (auto/tasks/legacy). Both take ``update(t, frame, crops)`` and return one Observation per person."""
    v = settings.vision
    vis = settings.body.min_keypoint_visibility
    _one_blas_thread()
    if v.backend == "tracker":
        from kiosk.vision.tracker import PoseTracker, TrackerOptions

        return PoseTracker(TrackerOptions(full_frame=full_frame, redetect_s=v.redetect_s, max_people=v.max_people,
                                          landmark_workers=v.landmark_workers,
                                          inference_threads=v.inference_threads,
                                          min_detection_confidence=v.candidate_min_score,
                                          min_keypoint_visibility=vis))
    from kiosk.vision.pose import PoseEstimator, PoseOptions

    return PoseEstimator(PoseOptions(backend=v.backend, full_frame=full_frame,
                                     max_poses_per_region=v.max_poses_per_region,
                                     min_detection_confidence=v.min_detection_confidence,
                                     min_keypoint_visibility=vis))


def _one_blas_thread() -> None:
    """Limit NumPy's BLAS (OpenBLAS) to one thread, for the whole process.

    Placement and the head fit multiply matrices of a few dozen rows, far too small to gain from threads; but
    OpenBLAS starts a thread per core for them, and its threads spin for a while after each product, on the
    cores the pose models' own threads need: measured on two cores, the spinning took 2.8 s of CPU in 7 s of a
    three-person scene and the pose stage ran 16 % slower.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


@dataclass
class StageTimes:
    """Milliseconds spent per stage, summed over frames."""

    total_ms: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    frames: int = 0

    def per_frame(self) -> dict[str, float]:
        return {k: v / max(self.frames, 1) for k, v in self.total_ms.items()}


class Pipeline:
    """Vision -> tracking -> episodes for one calibrated camera.

    Args:
        settings: the terminal's settings (camera must be calibrated).
        fps: the rate frames will arrive at (tracking memory is counted in frames).
        pose: a PoseEstimator-like object with ``update(t, frame, crops) -> list[Observation]`` and ``close()``;
            None builds MediaPipe's from ``settings.vision`` (and :meth:`close` closes it; one passed in is the
            caller's to close, so a live loop can keep its models across camera restarts).
    """

    def __init__(self, settings: Settings, fps: float, pose: Any | None = None) -> None:
        self.settings = settings
        self.camera = camera_from_settings(settings.camera)
        self.zones = ZoneMap.from_camera_settings(self.camera, settings.camera)
        self.crops = _crops(settings, self.camera, self.zones)
        self._owns_pose = pose is None  # a stage passed in belongs to the caller, who may reuse it
        self._pose = pose if pose is not None else pose_stage(settings, full_frame=_full_frame(settings, self.crops))
        self._floor = FloorTracker(self.camera, self.zones, settings.tracking, settings.body, fps,
                                   counter=settings.camera.counter)
        self._episodes = EpisodeTracker(settings.service)
        self.times = StageTimes()
        self.last_frame: SceneFrame | None = None
        self.last_observations: list[Observation] = []  # what pose + head saw in the last frame (for the overlay)

    def update(self, t: float, frame_bgr: np.ndarray) -> list[Interaction]:
        """Process one frame (seconds on the source clock); returns interactions that ended."""
        c0 = time.perf_counter()
        observations = self._pose.update(t, frame_bgr, self.crops)
        self.last_observations = observations
        c1 = time.perf_counter()
        scene = self._floor.update(t, observations)
        c2 = time.perf_counter()
        done = self._episodes.update(scene)
        c3 = time.perf_counter()
        self.times.total_ms["pose+head"] += (c1 - c0) * 1e3
        # The pose stage's own parts (the tracker's detector and landmark passes), nested in pose+head.
        for name, ms in getattr(self._pose, "stage_ms", {}).items():
            self.times.total_ms[f"  pose: {name}"] += ms
        self.times.total_ms["tracking"] += (c2 - c1) * 1e3
        self.times.total_ms["episodes"] += (c3 - c2) * 1e3
        self.times.frames += 1
        self.last_frame = scene
        return done

    @property
    def engagements(self) -> tuple[Engagement, ...]:
        """The last frame's staff-customer pairs as the episodes decided them (for the overlay)."""
        return self._episodes.engagements

    def finish(self) -> list[Interaction]:
        """Close the episodes still open at the end of the stream."""
        return self._episodes.finish()

    def close(self) -> None:
        if self._owns_pose:
            self._pose.close()


@dataclass(frozen=True)
class Throughput:
    """What the perception stage achieved on a live source: frames analysed per second (wall clock), frames
    analysed, camera frames dropped because they arrived while one was analysed, people found per frame."""

    fps: float
    frames: int
    dropped: int
    people: float


def measure_throughput(settings: Settings, source: Any, seconds: float = 3.0, pose: Any | None = None,
                       clock: Callable[[], float] = time.monotonic) -> Throughput:
    """Run the pose stage (zone crops when calibrated) on ``source`` for ``seconds`` of wall time, dropping the
    frames it has no time for, as the running terminal does (``kiosk doctor`` reports the result).

    ``source``: an iterable of (t, frame) with ``close()``, e.g. :func:`kiosk.vision.source.open_source`; it is
    closed afterwards. ``pose``: the stage to run (closed afterwards); None builds it from ``settings.vision``.
    """
    from kiosk.vision.newest import NewestFrames

    crops: list[tuple[int, int, int, int]] = []
    if settings.camera.floor_points and settings.camera.zones:
        camera = camera_from_settings(settings.camera)
        crops = _crops(settings, camera, ZoneMap.from_camera_settings(camera, settings.camera))
    if pose is None:
        pose = pose_stage(settings, full_frame=_full_frame(settings, crops))
    frames = people = 0
    started: float | None = None
    try:
        with NewestFrames(source) as newest:
            for t, frame in newest:
                people += len(pose.update(t, frame, crops))
                frames += 1
                if started is None:
                    started, frames, people = clock(), 0, 0  # the first frame waits for the camera to start
                elif clock() - started >= seconds:
                    break
            dropped = newest.dropped
    finally:
        pose.close()
    elapsed = clock() - started if started is not None else 0.0
    return Throughput(frames / elapsed if elapsed > 0 else 0.0, frames, dropped, people / max(frames, 1))


def analyze_video(path: Path, settings: Settings, progress: Callable[[int, int | None], None] | None = None,
                  max_frames: int | None = None, overlay: Path | None = None) -> dict[str, Any]:
    """Measure every interaction in a video file; the JSON document of DESIGN §5 (without rubric scores).

    ``overlay``: write a local debug video there (skeletons, tracks, zones, live measures); off by default,
    and the only way frames ever reach the disk (DESIGN §6).

    Raises:
        kiosk.vision.source.SourceError: missing, unreadable or corrupt video.
        ValueError: the camera is not calibrated.
    """
    from kiosk.core.report import interaction_json, summary
    from kiosk.vision.source import VideoFileSource

    interactions: list[Interaction] = []
    started = time.perf_counter()
    frames = 0
    last_t = 0.0
    with VideoFileSource(path, max_fps=settings.vision.max_fps,
                         size=(settings.camera.width_px, settings.camera.height_px)) as source:
        fps = min(settings.vision.max_fps, source.nominal_fps or settings.vision.max_fps)
        total = source.frame_count
        pipeline = Pipeline(settings, fps)
        writer = None
        if overlay is not None:
            from kiosk.vision.overlay import OverlayWriter

            writer = OverlayWriter(overlay, settings.camera, pipeline.camera, settings.service, fps,
                                   settings.body.min_keypoint_visibility)
        try:
            for t, frame in source:
                if max_frames is not None and frames >= max_frames:
                    break
                ended = pipeline.update(t, frame)
                interactions += ended
                if writer is not None:
                    writer.write(frame, pipeline.last_observations, pipeline.last_frame, ended, pipeline.engagements)
                del frame  # frames live in memory only for the stage that needs them
                frames += 1
                last_t = t
                if progress:
                    progress(frames, None if total is None or source.nominal_fps is None
                             else int(total * fps / source.nominal_fps))
            interactions += pipeline.finish()
        finally:
            pipeline.close()
            if writer is not None:
                writer.close()
    elapsed = time.perf_counter() - started
    return {
        "video": str(path),
        "frames": frames,
        "duration_s": round(last_t, 3),
        "fps_processed": round(frames / elapsed, 2) if elapsed > 0 else None,
        "interactions": [interaction_json(x) for x in sorted(interactions, key=lambda x: x.arrived_at)],
        "summary": {**summary(interactions), "ms_per_frame": {k: round(v, 2) for k, v in pipeline.times.per_frame().items()}},
    }
