"""Frames from a live source are dropped, never queued, when the analysis is slower than the camera."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest

from kiosk.vision.newest import NewestFrames

WAIT_S = 10.0  # generous: the reader thread only has to get scheduled


class FakeCamera:
    """Delivers ``n`` frames at once, says so, then holds the last read until released (a camera that waits
    for its next exposure); optionally fails instead of ending."""

    def __init__(self, n: int, fail: bool = False, hold_s: float = WAIT_S) -> None:
        self.n, self.fail, self.hold_s = n, fail, hold_s
        self.all_read = threading.Event()
        self.release = threading.Event()
        self.closed = False

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        for i in range(self.n):
            yield i / 15.0, np.full((4, 4, 3), i, np.uint8)
        self.all_read.set()
        self.release.wait(self.hold_s)
        if self.fail:
            raise RuntimeError("camera unplugged")

    def close(self) -> None:
        self.closed = True
        self.release.set()


def test_a_consumer_that_fell_behind_gets_the_newest_frame_and_the_rest_are_dropped() -> None:
    camera = FakeCamera(5)
    with NewestFrames(camera) as frames:
        stream = iter(frames)
        assert camera.all_read.wait(WAIT_S)
        t, frame = next(stream)
        assert t == pytest.approx(4 / 15.0) and frame[0, 0, 0] == 4
        assert (frames.delivered, frames.dropped) == (1, 4)
        camera.release.set()
        assert list(stream) == []  # nothing stale is left to hand out


def test_every_frame_is_either_handed_out_once_in_order_or_counted_as_dropped() -> None:
    camera = FakeCamera(200)
    camera.release.set()
    with NewestFrames(camera) as frames:
        times = [t for t, _ in frames]
    assert times == sorted(set(times))
    assert len(times) + frames.dropped == 200
    assert times[-1] == pytest.approx(199 / 15.0)  # the last frame is never dropped


def test_a_source_error_reaches_the_consumer_after_the_frame_read_before_it() -> None:
    camera = FakeCamera(3, fail=True)
    with NewestFrames(camera) as frames:
        stream = iter(frames)
        assert camera.all_read.wait(WAIT_S)
        assert next(stream)[0] == pytest.approx(2 / 15.0)
        camera.release.set()
        with pytest.raises(RuntimeError, match="unplugged"):
            next(stream)


def test_closing_stops_the_reader_and_releases_the_source() -> None:
    camera = FakeCamera(2, hold_s=0.1)  # a real camera's read returns within a frame period
    frames = NewestFrames(camera)
    iter(frames)
    assert camera.all_read.wait(WAIT_S)
    frames.close()
    assert camera.closed
    assert frames._thread is not None and not frames._thread.is_alive()
