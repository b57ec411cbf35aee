"""Throughput of the vision pipeline on real video, printed as figures (nothing is written).

Per frame: decode ms (source), pose ms (MediaPipe + mapping + merging), head ms (head and torso yaw), then
end-to-end FPS of source + pose + head, peak RSS, MediaPipe inference alone on the same pre-decoded frames
and regions, and the ratio end-to-end / inference alone (how much the wrapping costs).

Run: `.venv/bin/python benchmarks/pipeline.py [--video FILE] [--frames 100] [--size 640x480]
[--crops none|zones|both] [--backend auto|tasks|legacy] [--max-poses 4]`.

On vtest, tracking (floor placement + norfair) and episodes run too, with the calibration in
tests/data/vtest_calibration.toml; the report prints every stage it finds.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import kiosk.vision.pose as pose_module
from kiosk.vision.pose import PoseEstimator, PoseOptions
from kiosk.vision.source import FrameSource, VideoFileSource

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
# A plausible calibration of vtest's courtyard, so tracking and episodes run on real detections.
VTEST_CALIBRATION = ROOT / "tests" / "data" / "vtest_calibration.toml"


def floor_stages(calibration: Path, fps: float) -> tuple[Any, Any] | None:
    """(FloorTracker, EpisodeTracker) for the calibrated camera, or None without a calibration file."""
    if not calibration.exists():
        return None
    from kiosk.config import load_settings
    from kiosk.service.episodes import EpisodeTracker
    from kiosk.tracking import FloorTracker, ZoneMap, camera_from_settings

    settings = load_settings(calibration)
    camera = camera_from_settings(settings.camera)
    zones = ZoneMap.from_camera_settings(camera, settings.camera)
    return FloorTracker(camera, zones, settings.tracking, settings.body, fps), EpisodeTracker(settings.service)


def zone_crops(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Three overlapping squares across the middle band, standing in for staff / service / queue zones."""
    side = min(height * 2 // 3, width // 2)
    y0 = (height - side) // 2
    xs = np.linspace(0, width - side, 3).astype(int)
    return [(int(x), y0, int(x) + side, y0 + side) for x in xs]


class StageTimers:
    """Seconds spent per named stage, one entry per frame (or per call for nested stages)."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = defaultdict(list)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name].append(time.perf_counter() - start)

    def timed(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` wrapped so that its calls are counted under ``name``."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name):
                return fn(*args, **kwargs)

        return wrapper

    def per_frame_ms(self, name: str, frames: int) -> float:
        return 1000.0 * sum(self.seconds.get(name, [])) / max(frames, 1)


def run_end_to_end(
    video: Path, frames: int, size: tuple[int, int], crops: list[tuple[int, int, int, int]], options: PoseOptions
) -> tuple[StageTimers, int, float, int, str]:
    """Source + pose + head over the first ``frames`` frames; returns timers, frames, wall s, people, backend."""
    timers = StageTimers()
    # Head and torso yaw run inside PoseEstimator.update; time them there and take them out of "pose".
    originals = (pose_module.head_pose_from_keypoints, pose_module.torso_yaw_from_world)
    pose_module.head_pose_from_keypoints = timers.timed("head", originals[0])
    pose_module.torso_yaw_from_world = timers.timed("head", originals[1])
    people = n = 0
    try:
        with PoseEstimator(options) as estimator, VideoFileSource(video, size=size) as source:
            backend = estimator.backend
            later = floor_stages(VTEST_CALIBRATION, source.nominal_fps or 10.0) if video == VTEST else None
            stream = iter(source)
            start = time.perf_counter()
            while n < frames:
                with timers.stage("decode"):
                    item = next(stream, None)
                if item is None:
                    break
                t, frame = item
                with timers.stage("pose+head"):
                    observations = estimator.update(t, frame, crops)
                people += len(observations)
                n += 1
                if later is not None:
                    with timers.stage("tracking"):
                        scene = later[0].update(t, observations)
                    with timers.stage("episodes"):
                        later[1].update(scene)
            wall = time.perf_counter() - start
    finally:
        pose_module.head_pose_from_keypoints, pose_module.torso_yaw_from_world = originals
    timers.seconds["pose"] = [sum(timers.seconds["pose+head"]) - sum(timers.seconds.get("head", []))]
    return timers, n, wall, people, backend


def run_inference_alone(
    video: Path, frames: int, size: tuple[int, int], crops: list[tuple[int, int, int, int]], options: PoseOptions,
    backend: str,
) -> float:
    """FPS of bare MediaPipe calls on pre-decoded RGB regions of the same frames (no mapping, no head)."""
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from kiosk.vision.models import default_bundle_path

    with VideoFileSource(video, size=size) as source:
        decoded = [(t, cv2.cvtColor(f, cv2.COLOR_BGR2RGB)) for t, f in _first(source, frames)]
    height, width = decoded[0][1].shape[:2]
    regions = ([(0, 0, width, height)] if options.full_frame else []) + crops
    inputs = [(t, [np.ascontiguousarray(rgb[y0:y1, x0:x1]) for x0, y0, x1, y1 in regions]) for t, rgb in decoded]

    if backend == "tasks":
        bundle = str(options.bundle_path or default_bundle_path())
        models = [
            vision.PoseLandmarker.create_from_options(
                vision.PoseLandmarkerOptions(
                    base_options=BaseOptions(model_asset_path=bundle),
                    running_mode=vision.RunningMode.VIDEO,
                    num_poses=options.max_poses_per_region,
                    min_pose_detection_confidence=options.min_detection_confidence,
                    min_pose_presence_confidence=options.min_presence_confidence,
                    min_tracking_confidence=options.min_tracking_confidence,
                )
            )
            for _ in regions
        ]
        start = time.perf_counter()
        for t, crops_rgb in inputs:
            for model, rgb in zip(models, crops_rgb):
                model.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), int(t * 1000))
        elapsed = time.perf_counter() - start
        for model in models:
            model.close()
    else:
        graphs = [mp.solutions.pose.Pose(model_complexity=1) for _ in regions]
        start = time.perf_counter()
        for _, crops_rgb in inputs:
            for graph, rgb in zip(graphs, crops_rgb):
                graph.process(rgb)
        elapsed = time.perf_counter() - start
        for graph in graphs:
            graph.close()
    return len(inputs) / elapsed


def _first(source: FrameSource, n: int) -> Iterator[tuple[float, np.ndarray]]:
    for i, item in enumerate(source):
        if i == n:
            return
        yield item


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports kilobytes


def report(
    label: str, timers: StageTimers, n: int, wall: float, people: int, inference_fps: float, rss_mb: float
) -> None:
    e2e_fps = n / wall
    print(f"\n{label}: {n} frames, {people / max(n, 1):.2f} people/frame")
    for name in ("decode", "pose", "head", *sorted(set(timers.seconds) - {"decode", "pose", "head", "pose+head"})):
        print(f"  {name:<22}{timers.per_frame_ms(name, n):8.1f} ms/frame")
    print(f"  {'end-to-end':<22}{e2e_fps:8.2f} FPS")
    print(f"  {'inference alone':<22}{inference_fps:8.2f} FPS")
    print(f"  {'end-to-end/inference':<22}{e2e_fps / inference_fps:8.2f}")
    print(f"  {'peak RSS':<22}{rss_mb:8.0f} MB", flush=True)


def run_config(
    video: Path, frames: int, size: tuple[int, int], crops: list[tuple[int, int, int, int]], options: PoseOptions
) -> None:
    """One configuration, end to end then inference alone, with its own peak RSS."""
    timers, n, wall, people, backend = run_end_to_end(video, frames, size, crops, options)
    rss = peak_rss_mb()  # before the inference-alone run loads its own models
    inference_fps = run_inference_alone(video, n, size, crops, options, backend)
    label = f"{backend}, full frame" + (f" + {len(crops)} zone crops {crops}" if crops else " only")
    report(label, timers, n, wall, people, inference_fps, rss)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=VTEST)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--size", default="640x480", help="WIDTHxHEIGHT frames are resized to")
    parser.add_argument("--crops", choices=("none", "zones", "both"), default="both")
    parser.add_argument("--backend", choices=("auto", "tasks", "legacy"), default="auto")
    parser.add_argument("--max-poses", type=int, default=PoseOptions.max_poses_per_region, help="per region (tasks)")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    options = PoseOptions(backend=args.backend, video=True, max_poses_per_region=args.max_poses)
    print(f"video {args.video} at {width}x{height}, first {args.frames} frames, {os.cpu_count()} CPUs")
    zones = zone_crops(width, height)
    configs: dict[str, list[list[tuple[int, int, int, int]]]] = {"none": [[]], "zones": [zones], "both": [[], zones]}
    # A fresh process per configuration, so that each peak RSS is that configuration's own.
    spawn = multiprocessing.get_context("spawn")
    for crops in configs[args.crops]:
        child = spawn.Process(target=run_config, args=(args.video, args.frames, (width, height), crops, options))
        child.start()
        child.join()
        if child.exitcode != 0:
            return child.exitcode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
