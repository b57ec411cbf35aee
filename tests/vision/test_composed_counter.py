"""Real people behind a high counter (issue 11), calibrated as an installer who did not measure the counter: a
1.64 m staff member shows only from the chest up, bent over a camera held at his eye (scikit-image's
cameraman), and MediaPipe squeezes his whole skeleton into what shows. He must still be placed where he stands,
stay staff in every frame, and greet the customer when the script says he does."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from kiosk.settings.tree import Settings
from kiosk.device.pipeline import Pipeline
from kiosk.core.scene import SceneFrame
from kiosk.core.interaction import Interaction
from kiosk.sim.simulate import Scene, calibrate, load_scene, match, run_scene, states_at
from kiosk.vision.compose import OPENCV_DATA, load_sprites, render_video
from kiosk.vision.source import VideoFileSource

SCENE = Path(__file__).resolve().parents[2] / "scenes" / "composed" / "staff_behind_high_counter.toml"

pytestmark = pytest.mark.skipif(not (OPENCV_DATA / "vtest.avi").is_file(),
                                reason="install the Debian package opencv-doc (scripts/system-packages.txt)")


@dataclass(frozen=True)
class Run:
    scene: Scene
    frames: list[SceneFrame]
    pairs: list[tuple[Interaction | None, Interaction | None]]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    scene = load_scene(SCENE)
    video = render_video(scene, tmp_path_factory.mktemp("counter") / "scene.mp4", load_sprites())
    settings = Settings(camera=calibrate(scene, np.random.default_rng(scene.seed), with_counter=False))
    frames: list[SceneFrame] = []
    got: list[Interaction] = []
    with VideoFileSource(video.path, max_fps=settings.vision.max_fps) as source:
        pipeline = Pipeline(settings, scene.fps)
        try:
            for t, frame in source:
                got += pipeline.update(t, frame)
                if pipeline.last_frame is not None:
                    frames.append(pipeline.last_frame)
            got += pipeline.finish()
        finally:
            pipeline.close()
    return Run(scene, frames, match(got, run_scene(scene, settings).truth))


def _staff_track(run: Run) -> list[tuple[float, str]]:
    """(floor error m, role) of the track matched to the staff member, in each frame where one is: tracked
    people and scripted people paired one to one, nearest pairs first, within 3 m."""
    out = []
    for frame in run.frames:
        truth = states_at(run.scene, frame.t)
        pairs = sorted((math.dist(p.position_m, st.position), name, i) for name, st in truth.items()
                       for i, p in enumerate(frame.people) if p.position_m is not None)
        names, tracks = set(), set()
        for gap, name, i in pairs:
            if gap <= 3.0 and name not in names and i not in tracks:
                names.add(name)
                tracks.add(i)
                if name == "staff":
                    out.append((gap, frame.people[i].role))
    return out


def test_the_staff_member_cut_by_the_counter_is_found_in_most_frames(run: Run) -> None:
    # Bent over his camera behind a 1.25 m ledge the landmark model calls him nobody until the picture below
    # his hips is blanked (the tracker's second look): found in half the frames without it.
    assert len(_staff_track(run)) >= 0.7 * len(run.frames)


def test_the_staff_member_cut_by_the_counter_is_placed_where_he_stands(run: Run) -> None:
    errors = np.array([e for e, _ in _staff_track(run)])
    # Most frames within decimetres; bent over his camera (before and after serving) the model draws a standing
    # body that is not there, and a quarter of the frames are placed up to 1.3 m along the counter.
    assert np.median(errors) <= 0.3
    assert np.percentile(errors, 75) <= 0.75


def test_the_staff_member_is_staff_in_every_frame(run: Run) -> None:
    roles = [role for _, role in _staff_track(run)]
    assert roles.count("staff") >= 0.99 * len(roles)


def test_the_customer_is_greeted_and_served_not_abandoned(run: Run) -> None:
    [(got, want)] = run.pairs
    assert got is not None and want is not None
    assert (got.greeted, got.abandoned) == (True, False) == (want.greeted, want.abandoned)


def test_greeting_is_found_within_a_second_of_the_truth(run: Run) -> None:
    [(got, want)] = run.pairs
    assert got is not None and want is not None and got.greeting_s is not None and want.greeting_s is not None
    assert abs(got.greeting_s - want.greeting_s) <= 1.0
