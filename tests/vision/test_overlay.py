"""The debug overlay draws the episode tracker's decisions of the frame; it does not judge facing itself."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

import kiosk.vision.overlay as overlay_module
from kiosk.core.episodes import Engagement
from kiosk.core.scene import SceneFrame, TrackedPerson
from kiosk.core.tracking import camera_from_settings
from kiosk.device.calibration import load_calibration
from kiosk.settings.tree import Settings
from kiosk.vision.overlay import ENGAGED, NOT_ENGAGED, OverlayWriter

CALIBRATION = Path(__file__).resolve().parents[1] / "data" / "vtest_calibration.toml"
AWAY = 0.0  # both face along +x, away from each other's line (+y / -y): no geometry says "facing"


class _LineSpy:
    """cv2 as the overlay sees it, recording the colour and label of every line and text it draws."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, int, int]] = []
        self.texts: list[str] = []

    def __getattr__(self, name: str):
        return getattr(cv2, name)

    def line(self, image, a, b, colour, *args, **kw):
        self.lines.append(tuple(colour))
        return cv2.line(image, a, b, colour, *args, **kw)

    def putText(self, image, text, *args, **kw):  # noqa: N802 (cv2's name)
        self.texts.append(text)
        return cv2.putText(image, text, *args, **kw)


def drawn(engagements: list[Engagement], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          staff_heading: float = AWAY, customer_heading: float = AWAY) -> _LineSpy:
    """What the overlay draws for a staff member at (0, 0) and a customer 1 m away, given the published pairs."""
    settings = Settings(camera=load_calibration(CALIBRATION))
    spy = _LineSpy()
    monkeypatch.setattr(overlay_module, "cv2", spy)
    scene = SceneFrame(t=1.0, people=(
        TrackedPerson(1, "staff", "staff", (0.0, 0.0), staff_heading, staff_heading),
        TrackedPerson(2, "customer", "service", (0.0, 1.0), customer_heading, customer_heading)))
    with OverlayWriter(tmp_path / "o.mp4", settings.camera, camera_from_settings(settings.camera), settings.service,
                       10.0) as writer:
        writer.write(np.zeros((480, 640, 3), np.uint8), [], scene, (), engagements)
    return spy


@pytest.mark.parametrize("engaged, mutual, colour, label", [
    (True, True, ENGAGED, "1.00 m mutual"),
    (False, None, NOT_ENGAGED, "1.00 m"),
    (None, False, NOT_ENGAGED, "1.00 m"),
])
def test_the_pair_line_shows_what_the_episodes_decided(engaged, mutual, colour, label, tmp_path, monkeypatch):
    spy = drawn([Engagement(1, 2, 1.0, engaged, mutual)], tmp_path, monkeypatch)
    assert spy.lines == [colour] and label in spy.texts


def test_a_pair_beyond_the_engagement_distance_gets_no_line(tmp_path, monkeypatch):
    far = Settings().service.engage_distance_m + 0.5
    assert drawn([Engagement(1, 2, far, False, None)], tmp_path, monkeypatch).lines == []


def test_no_engagement_published_means_no_line_whatever_the_headings(tmp_path, monkeypatch):
    facing = drawn([], tmp_path, monkeypatch, staff_heading=math.pi / 2, customer_heading=-math.pi / 2)
    assert facing.lines == []
