"""Real people in the demo: a composed counter scene rendered to a temporary video and measured by the real
pipeline (MediaPipe pose, head yaw, floor tracking, episodes). The video is deleted as soon as it is measured."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from kiosk.settings.tree import Settings
from kiosk.device.pipeline import analyze_video
from kiosk.core.interaction import Interaction
from kiosk.sim.simulate import calibrate, load_scene
from kiosk.vision.compose import load_sprites, render_video

COMPOSED = Path(__file__).resolve().parents[2] / "scenes" / "composed"


def real_people_interactions(scene_file: str, settings: Settings) -> list[Interaction]:
    """Interactions measured in the composed scene ``scenes/composed/<scene_file>``, with this terminal's settings
    and the calibration an installer would have made of that scene's camera."""
    scene = load_scene(COMPOSED / scene_file)
    calibrated = settings.model_copy(update={"camera": calibrate(scene, np.random.default_rng(scene.seed))})
    with tempfile.TemporaryDirectory(prefix="kiosk-demo-") as tmp:
        video = render_video(scene, Path(tmp) / "scene.mp4", load_sprites())
        doc = analyze_video(video.path, calibrated)
    return [Interaction.from_dict(d) for d in doc["interactions"]]
