"""The achieved frame rate: measured on a live source with frames dropped, never queued; reported by `kiosk doctor`."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

from kiosk.settings.tree import Settings
from kiosk.device.doctor import check_fps
from kiosk.core.observation import Observation
from kiosk.device.pipeline import Throughput, measure_throughput


class FastCamera:
    """A frame every 5 ms (200 fps): faster than the fake analysis below."""

    def __init__(self) -> None:
        self.closed = False

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        start = time.monotonic()
        while not self.closed:
            time.sleep(0.005)
            yield time.monotonic() - start, np.zeros((48, 64, 3), np.uint8)

    def close(self) -> None:
        self.closed = True


class SlowPose:
    """Takes 20 ms a frame and sees one person."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.closed = False

    def update(self, t: float, frame: np.ndarray, crops: list) -> list[Observation]:
        self.times.append(t)
        time.sleep(0.02)
        return [Observation(t, np.zeros((33, 3)), (0.1, 0.1, 0.2, 0.2), 0.9)]

    def close(self) -> None:
        self.closed = True


def test_a_slow_analysis_drops_camera_frames_and_reports_the_rate_it_achieved() -> None:
    pose, camera = SlowPose(), FastCamera()
    got = measure_throughput(Settings(), camera, seconds=0.5, pose=pose)
    assert got.dropped > got.frames  # four of five frames arrive while one is analysed
    assert 0 < got.fps <= 1 / 0.02 + 1
    assert got.people == pytest.approx(1.0)
    assert pose.times == sorted(pose.times) and camera.closed and pose.closed


def _settings(max_fps: float) -> Settings:
    return Settings(vision={"max_fps": max_fps})


def test_doctor_is_content_with_the_asked_rate() -> None:
    check = check_fps("0", _settings(15.0), measure=lambda spec, s: Throughput(14.6, 44, 1, 3.0))
    assert check.status == "ok" and "14.6 fps" in check.detail and "3.0 people" in check.detail


def test_doctor_warns_below_the_asked_rate_and_says_what_to_change() -> None:
    check = check_fps("0", _settings(15.0), measure=lambda spec, s: Throughput(9.0, 27, 18, 3.0))
    assert check.status == "warn" and "9.0 fps" in check.detail
    assert "vision.max_fps" in check.fix


def test_doctor_fails_when_no_frame_can_be_analysed() -> None:
    def broken(spec: str, settings: Settings) -> Throughput:
        raise RuntimeError("no camera at index 0")

    check = check_fps("0", _settings(15.0), measure=broken)
    assert check.status == "fail" and "no camera" in check.detail and check.fix
