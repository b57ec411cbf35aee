"""The live feed: finished interactions are scored and stored from the worker; camera faults become a status."""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from kiosk.settings.tree import Settings
from kiosk.device.live import LiveFeed
from kiosk.core.rubrics import load_store_rubric
from kiosk.core.scene import SceneFrame, TrackedPerson
from kiosk.core.interaction import Interaction
from kiosk.device.database import Store

RUBRIC = load_store_rubric("default")
SERVED_PROMPTLY = Path(__file__).resolve().parents[2] / "scenes" / "01_served_promptly.toml"
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def served(arrived: float, left: float) -> Interaction:
    return Interaction(arrived_at=arrived, greeted_at=arrived + 3, service_started_at=arrived + 3, left_at=left,
                       greeting_s=3.0, wait_s=3.0, service_s=left - arrived - 3, eye_contact_ratio=0.7,
                       distance_m_median=1.1, distance_m_min=1.0, greeted=True, abandoned=False)


class FakePipeline:
    """Ends one interaction on the frame at t=20 s; a customer stands at the service spot meanwhile."""

    def __init__(self) -> None:
        self.last_frame = None
        self.closed = False

    def update(self, t, frame):
        people = (TrackedPerson(1, "customer", "service", (0.0, 1.6)),) if t < 20 else ()
        self.last_frame = SceneFrame(t=t, people=people)
        return [served(2.0, 19.9)] if t == 20 else []

    def close(self):
        self.closed = True


@contextmanager
def frames(n: int):
    yield ((float(i), np.zeros((4, 4, 3), np.uint8)) for i in range(n))


def wait_for(predicate, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def store(tmp_path):
    with Store.in_data_dir(tmp_path) as s:
        yield s


def test_finished_interaction_is_scored_and_stored_with_its_wall_clock_end(store):
    feed = LiveFeed(Settings(), "fake", store, RUBRIC, pipeline_factory=lambda s, fps: FakePipeline(),
                    source_factory=lambda spec: frames(25), clock=lambda: T0)
    feed.start()
    assert wait_for(lambda: feed.snapshot().last_ended is not None)
    feed.stop()
    [row] = store.interactions()
    assert row.interaction.wait_s == pytest.approx(3.0)
    assert row.interaction.rubric_scores  # scored against the rubric
    assert feed.snapshot().last_ended[1] == datetime(2026, 11, 23, 10, 0, 19, 900000, tzinfo=timezone.utc)


def test_missing_camera_is_a_status_not_a_crash(store):
    def no_camera(spec):
        raise OSError("no camera at index 0: is it plugged in / enabled?")

    feed = LiveFeed(Settings(), "0", store, RUBRIC, source_factory=no_camera, retry_s=0.05)
    feed.start()
    assert wait_for(lambda: feed.snapshot().status == "camera_error")
    assert "no camera at index 0" in feed.snapshot().message
    feed.stop()
    assert feed.snapshot().status == "stopped"


def test_preview_frames_appear_only_when_asked(store):
    feed = LiveFeed(Settings(), "fake", store, RUBRIC, pipeline_factory=lambda s, fps: FakePipeline(),
                    source_factory=lambda spec: frames(10_000), retry_s=60)
    feed.start()
    assert wait_for(lambda: feed.snapshot().status == "running")
    assert feed.snapshot().preview_bgr is None
    feed.set_preview(True)
    assert wait_for(lambda: feed.snapshot().preview_bgr is not None)
    feed.set_preview(False)
    feed.stop()
    assert feed.snapshot().preview_bgr is None


class CountingPose:
    """A pose stage that sees nobody, and records what it was asked."""

    built = 0

    def __init__(self) -> None:
        CountingPose.built += 1
        self.times: list[float] = []
        self.closed = False

    def update(self, t, frame, crops):
        self.times.append(t)
        return []

    def close(self):
        self.closed = True


def test_pose_models_load_once_across_runs_of_a_looping_video_on_one_clock(store, monkeypatch):
    import kiosk.device.pipeline
    from kiosk.sim.simulate import calibrate, load_scene

    scene = load_scene(SERVED_PROMPTLY)
    settings = Settings(camera=calibrate(scene, np.random.default_rng(0)))
    stages: list[CountingPose] = []
    monkeypatch.setattr(kiosk.device.pipeline, "calibrated_pose_stage", lambda s: stages.append(CountingPose()) or stages[-1])
    runs = []

    @contextmanager
    def video(spec):
        runs.append(1)
        yield ((i / 10, np.zeros((480, 640, 3), np.uint8)) for i in range(5))  # 0.0 .. 0.4 s, every run

    feed = LiveFeed(settings, "video.mp4", store, RUBRIC, source_factory=video, retry_s=0.01)
    feed.start()
    assert wait_for(lambda: len(runs) >= 3)
    feed.stop()
    [pose] = stages
    assert len(pose.times) >= 10
    assert all(b > a for a, b in zip(pose.times, pose.times[1:]))  # the kept models' clock never goes back
    assert pose.closed  # stopping the feed releases them


def test_a_faulting_pipeline_rebuilds_the_pose_models(store, monkeypatch):
    import kiosk.device.pipeline
    from kiosk.sim.simulate import calibrate, load_scene

    class Broken(CountingPose):
        def update(self, t, frame, crops):
            raise RuntimeError("the model returned garbage")

    scene = load_scene(SERVED_PROMPTLY)
    settings = Settings(camera=calibrate(scene, np.random.default_rng(0)))
    stages: list[CountingPose] = []
    monkeypatch.setattr(kiosk.device.pipeline, "calibrated_pose_stage", lambda s: stages.append(Broken()) or stages[-1])
    feed = LiveFeed(settings, "video.mp4", store, RUBRIC, source_factory=lambda spec: frames(10), retry_s=0.01,
                    max_bad_frames=3)
    feed.start()
    assert wait_for(lambda: len(stages) >= 2)
    feed.stop()
    assert stages[0].closed  # the faulted models were released before new ones were built
