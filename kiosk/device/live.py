"""The live pipeline for the counter app: a worker thread from camera to stored, scored interactions.

Implements the app's ``PipelineFeed`` (kiosk/device/feed.py) without importing Kivy: the UI reads
``snapshot()`` on a clock; nothing here waits on the UI. A camera that fails or is missing is retried every
``retry_s`` while the status says so; ratings keep working meanwhile because they do not depend on it.

A frame the pipeline cannot process (a bad number from the model that slipped past the observation's checks)
is dropped and the loop goes on with the same pipeline, so the customers in view keep their open episodes; only
``max_bad_frames`` failures in a row count as a fault and rebuild it. ``progress_age_s`` tells the systemd
watchdog (kiosk/device/watchdog.py) whether the loop still moves.

The pose models load once and serve every run of the source (a video played in a loop, a camera reopened after
a fault): MediaPipe does not hand the memory of closed graphs back to the system, so building them per run made
the process grow run after run. The pose stage sees one clock across runs (each run's times shifted past the
last one's); only a fault of the pipeline itself rebuilds the models.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Callable

from kiosk.clock import utc_now
from kiosk.settings.tree import Settings
from kiosk.core.rubrics import Rubric, score_interaction, within_target
from kiosk.core.interaction import Interaction
from kiosk.device.database import Store, StoreError
from kiosk.device.feed import PipelineSnapshot

logger = logging.getLogger(__name__)
_RUN_GAP_S = 1.0


class LiveFeed:
    """Camera -> pipeline -> store, in a daemon thread.

    Args:
        settings: calibrated settings.
        source: camera index ("0"), "picamera", or a video file (played at its own clock).
        store: where finished interactions go (shared with the UI; the store serialises writers).
        rubric: the store's rubric, to score each interaction as it ends.
        pipeline_factory: builds the pipeline for a frame rate; tests pass a fake. None: the real pipeline,
            with pose models kept across runs of the source.
        source_factory: opens the frame source; tests pass a fake.
    """

    def __init__(self, settings: Settings, source: str, store: Store, rubric: Rubric, *,
                 pipeline_factory: Callable[[Settings, float], Any] | None = None,
                 source_factory: Callable[[str], Any] | None = None, retry_s: float = 5.0,
                 clock: Callable[[], datetime] = utc_now, max_bad_frames: int = 50) -> None:
        self._settings, self._spec, self._store, self._rubric = settings, source, store, rubric
        self._pipeline_factory = pipeline_factory or self._pipeline_with_kept_models
        self._pose: Any | None = None  # the pose models, kept across runs of the source
        self._last_t: float | None = None  # the last frame time the pipeline saw, on its own clock
        self._source_factory = source_factory or (lambda spec: _default_source(settings, spec))
        self._retry_s, self._clock, self._max_bad_frames = retry_s, clock, max_bad_frames
        self._progress_at: float | None = None
        self.dropped_frames = 0
        self._snapshot = PipelineSnapshot(status="starting", message="starting the camera")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._preview = False
        self._thread: threading.Thread | None = None

    # --- PipelineFeed ------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="kiosk-pipeline", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._publish(status="stopped", message="stopped", preview_bgr=None)

    def snapshot(self) -> PipelineSnapshot:
        with self._lock:
            return self._snapshot

    def set_preview(self, enabled: bool) -> None:
        self._preview = enabled
        if not enabled:
            self._publish(preview_bgr=None)

    def progress_age_s(self) -> float | None:
        """Seconds since the loop last processed a frame or ticked through a camera retry; None while it opens the
        camera and loads the models (at start, and again after a fault)."""
        at = self._progress_at
        return None if at is None else time.monotonic() - at

    def _progressed(self) -> None:
        self._progress_at = time.monotonic()

    # --- worker ------------------------------------------------------------------------------------------

    def _publish(self, **changes: Any) -> None:
        with self._lock:
            self._snapshot = replace(self._snapshot, **changes)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self._run_source()
                except Exception as exc:  # a camera fault must never take the terminal down: report, retry
                    logger.warning("pipeline stopped: %s", exc)
                    self._publish(status="camera_error", message=f"{exc}; retrying every {self._retry_s:.0f} s",
                                  fps=0.0, customer_at_service=False, preview_bgr=None)
                    self._close_pose()  # the fault may be the models': the next run builds them afresh
                if self._wait_retry():
                    break
        finally:
            self._close_pose()

    def _pipeline_with_kept_models(self, settings: Settings, fps: float) -> Any:
        from kiosk.device.pipeline import Pipeline, calibrated_pose_stage

        if self._pose is None:
            self._pose = calibrated_pose_stage(settings)
        return Pipeline(settings, fps, pose=self._pose)

    def _close_pose(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None
            self._last_t = None

    def _wait_retry(self) -> bool:
        """Wait ``retry_s`` in ticks of at most a second, each one progress (the loop is alive, just without a
        camera); True when asked to stop."""
        deadline = time.monotonic() + self._retry_s
        while (left := deadline - time.monotonic()) > 0:
            self._progressed()
            if self._stop.wait(min(left, 1.0)):
                return True
        return False

    def _run_source(self) -> None:
        self._progress_at = None  # (re)starting: opening the camera and loading the models may take a while
        with self._source_factory(self._spec) as source:
            fps_cap = self._settings.vision.max_fps
            pipeline = self._pipeline_factory(self._settings, fps_cap)
            self._progressed()
            try:
                self._publish(status="running", message="camera running")
                t_first, wall_first = None, self._clock()
                rate, last, bad_in_a_row = 0.0, time.monotonic(), 0
                shift = 0.0
                for t, frame in source:
                    if self._stop.is_set():
                        break
                    if t_first is None:
                        # A source starts its clock afresh; the kept models need time to go on, and a second of
                        # nothing between runs, so nobody is followed from the last run's frame into this one's.
                        if self._last_t is not None and t <= self._last_t + _RUN_GAP_S:
                            shift = self._last_t + _RUN_GAP_S - t
                        t_first = t + shift
                    t += shift
                    self._last_t = t
                    try:
                        ended = pipeline.update(t, frame)
                    except Exception as exc:  # one bad frame must not cost the open episodes: drop it, go on
                        bad_in_a_row += 1
                        self.dropped_frames += 1
                        if bad_in_a_row >= self._max_bad_frames:
                            raise RuntimeError(f"{bad_in_a_row} frames in a row could not be processed: {exc}") from exc
                        if bad_in_a_row == 1:  # once per run of bad frames, so a flaky model cannot flood the journal
                            logger.warning("frame at t=%.2f s dropped (%d so far): %s: %s", t, self.dropped_frames,
                                           type(exc).__name__, exc, exc_info=self.dropped_frames == 1)
                        continue
                    bad_in_a_row = 0
                    self._progressed()
                    for ix in ended:
                        self._store_interaction(ix, wall_first + timedelta(seconds=_end_t(ix) - t_first))
                    now = time.monotonic()
                    rate = 0.9 * rate + 0.1 / max(now - last, 1e-6) if rate else 1.0 / max(now - last, 1e-6)
                    last = now
                    scene = getattr(pipeline, "last_frame", None)
                    at_service = bool(scene and any(p.role == "customer" and p.zone == "service" for p in scene.people))
                    self._publish(status="running", fps=round(rate, 1), customer_at_service=at_service,
                                  preview_bgr=frame.copy() if self._preview else None)
                    del frame  # memory only
                else:
                    # The stream ended by itself (a video played to its end): its last customers are gone too.
                    finish = getattr(pipeline, "finish", None)
                    for ix in finish() if finish is not None and t_first is not None else ():
                        self._store_interaction(ix, wall_first + timedelta(seconds=_end_t(ix) - t_first))
            finally:
                pipeline.close()

    def _store_interaction(self, ix: Interaction, ended_at: datetime) -> None:
        scored = ix.with_scores(score_interaction(self._rubric, ix))
        try:
            self._store.add_interaction(scored, ended_at, within_target(self._rubric, ix))
        except StoreError as exc:
            logger.error("interaction not stored: %s", exc)
            self._publish(message=f"storage problem: {exc}")
            return
        self._publish(last_ended=(ix.id, ended_at))


def _end_t(ix: Interaction) -> float:
    return max(t for t in (ix.arrived_at, ix.greeted_at, ix.service_started_at, ix.left_at) if t is not None)


def _default_source(settings: Settings, spec: str) -> Any:
    from kiosk.vision.newest import NewestFrames
    from kiosk.vision.source import VideoFileSource, open_source

    source = open_source(spec, size=(settings.camera.width_px, settings.camera.height_px),
                         max_fps=settings.vision.max_fps)
    # A camera's frames that arrive while one is analysed are dropped, never queued (a file waits for us).
    return source if isinstance(source, VideoFileSource) else NewestFrames(source)
