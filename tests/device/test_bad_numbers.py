"""A NaN from the model costs that point, never the pipeline (DESIGN §5): the observation keeps the person, the
real tracking and episode stages run on, and the live loop drops at most the one frame that failed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kiosk.settings.tree import Settings
from kiosk.core.observation import LEFT_HIP, NOSE, Observation
from kiosk.device.pipeline import Pipeline
from kiosk.sim.simulate import calibrate, load_scene, observe, states_at, true_camera

from tests.device.test_live import RUBRIC, FakePipeline, frames, wait_for

SCENE = load_scene(__import__("pathlib").Path(__file__).resolve().parents[2] / "scenes" / "01_served_promptly.toml")


def keypoints() -> np.ndarray:
    kp = np.zeros((33, 3))
    kp[:, 0], kp[:, 1], kp[:, 2] = np.linspace(0.4, 0.6, 33), np.linspace(0.2, 0.8, 33), 0.9
    return kp


def test_a_nan_keypoint_becomes_an_invisible_point_not_a_rejected_observation():
    kp = keypoints()
    kp[NOSE, 0] = math.nan
    kp[LEFT_HIP, 2] = math.inf
    obs = Observation(t=1.0, keypoints=kp, bbox=(0.4, 0.2, 0.6, 0.8), score=0.9)
    assert np.isfinite(obs.keypoints).all()
    assert obs.keypoints[NOSE, 2] == 0.0 and obs.keypoints[LEFT_HIP, 2] == 0.0
    assert obs.keypoints[1, 2] == pytest.approx(0.9)  # the other points are untouched
    assert kp[NOSE, 0] != kp[NOSE, 0]  # the caller's array is not changed behind its back


def test_a_bbox_spoilt_by_a_nan_point_is_redrawn_around_the_visible_points():
    kp = keypoints()
    kp[NOSE] = (math.nan, 0.1, 0.9)
    obs = Observation(t=1.0, keypoints=kp, bbox=(math.nan, 0.1, 0.6, 0.8), score=0.9)
    assert obs.bbox == pytest.approx((kp[1, 0], kp[1, 1], 0.6, 0.8))  # the nose's corner is gone


def test_an_observation_with_no_finite_point_is_refused_with_its_reason():
    with pytest.raises(ValueError, match="not finite and no keypoint is visible"):
        Observation(t=1.0, keypoints=np.full((33, 3), math.nan), bbox=(math.nan,) * 4, score=0.5)


class ScriptedPose:
    """The vision stage replaced by the simulator's observations, with NaNs sprinkled in on some frames."""

    def __init__(self, by_t: dict[float, list[Observation]]) -> None:
        self.by_t = by_t

    def update(self, t, frame, crops):
        return self.by_t[t]

    def close(self):
        pass


def simulated_observations(nan_every: int | None) -> tuple[Settings, list[tuple[float, list[Observation]]]]:
    rng = np.random.default_rng(SCENE.seed)
    cam_settings = calibrate(SCENE, rng)
    cam = true_camera(SCENE)
    out = []
    for i in range(int(SCENE.duration_s * SCENE.fps) + 1):
        t = i / SCENE.fps
        seen = observe(SCENE, cam, t, states_at(SCENE, t), rng)
        if nan_every and i % nan_every == 0:
            spoilt = []
            for o in seen:
                kp = o.keypoints.copy()
                kp[NOSE, :2] = math.nan
                kp[LEFT_HIP] = math.nan
                spoilt.append(Observation(t=o.t, keypoints=kp, bbox=o.bbox, score=o.score, head=o.head,
                                          torso_yaw_deg=o.torso_yaw_deg))
            seen = spoilt
        out.append((t, seen))
    return Settings(camera=cam_settings), out


def measure(nan_every: int | None):
    settings, seq = simulated_observations(nan_every)
    pipeline = Pipeline(settings, SCENE.fps, pose=ScriptedPose(dict(seq)))
    blank = np.zeros((4, 4, 3), np.uint8)
    done = [ix for t, _ in seq for ix in pipeline.update(t, blank)] + pipeline.finish()
    return done


def test_nan_keypoints_on_every_fifth_frame_leave_the_measured_interactions_intact():
    clean, spoilt = measure(None), measure(5)
    assert len(clean) >= 1
    assert len(spoilt) == len(clean)
    for a, b in zip(clean, spoilt):
        assert b.greeted == a.greeted
        assert b.wait_s == pytest.approx(a.wait_s, abs=1.0)


class OneBadFrame(FakePipeline):
    """FakePipeline, but the frame at t=5 s raises as norfair does on a NaN position."""

    def update(self, t, frame):
        if t == 5:
            raise ValueError("Received nan values from distance function")
        return super().update(t, frame)


def test_a_frame_the_pipeline_cannot_process_is_dropped_and_the_open_episode_survives(tmp_path):
    from kiosk.device.live import LiveFeed
    from kiosk.device.database import Store

    built = []

    def factory(settings, fps):
        built.append(OneBadFrame())
        return built[-1]

    with Store.in_data_dir(tmp_path) as store:
        feed = LiveFeed(Settings(), "fake", store, RUBRIC, pipeline_factory=factory,
                        source_factory=lambda spec: frames(25), retry_s=60)
        feed.start()
        assert wait_for(lambda: feed.snapshot().last_ended is not None)
        feed.stop()
        assert len(store.interactions()) == 1
    assert len(built) == 1  # the same pipeline went on: nothing rebuilt, no episode lost
    assert feed.dropped_frames == 1


class AlwaysBad(FakePipeline):
    def update(self, t, frame):
        raise ValueError("nan")


def test_frames_failing_in_a_row_become_a_visible_pipeline_fault(tmp_path):
    from kiosk.device.live import LiveFeed
    from kiosk.device.database import Store

    with Store.in_data_dir(tmp_path) as store:
        feed = LiveFeed(Settings(), "fake", store, RUBRIC, pipeline_factory=lambda s, fps: AlwaysBad(),
                        source_factory=lambda spec: frames(100), retry_s=60, max_bad_frames=10)
        feed.start()
        assert wait_for(lambda: feed.snapshot().status == "camera_error")
        message = feed.snapshot().message
        feed.stop()
    assert "10 frames in a row could not be processed" in message
