"""The stand-in pipeline keeps the PipelineFeed contract: non-blocking, frames only when asked."""

from __future__ import annotations

import time

from kiosk.terminal.fakefeed import FakeFeed
from kiosk.device.feed import PipelineFeed


def _until(cond, timeout_s=3.0):
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_it_is_a_pipeline_feed_that_starts_at_once_and_sends_frames_only_when_asked():
    feed = FakeFeed(fps=50)
    assert isinstance(feed, PipelineFeed)
    t = time.monotonic()
    feed.start()
    assert time.monotonic() - t < 0.5 and feed.snapshot().status == "running"
    time.sleep(0.1)
    assert feed.snapshot().preview_bgr is None
    feed.set_preview(True)
    _until(lambda: feed.snapshot().preview_bgr is not None)
    assert feed.snapshot().preview_bgr.shape == (480, 640, 3)
    feed.set_preview(False)
    assert feed.snapshot().preview_bgr is None
    feed.stop()
    assert feed.snapshot().status == "stopped"


def test_demo_mode_plays_arrivals_and_departures():
    feed = FakeFeed(demo=True, cycle_s=0.2, fps=100)
    feed.start()
    try:
        _until(lambda: feed.snapshot().customer_at_service)
        _until(lambda: feed.snapshot().last_ended is not None)
    finally:
        feed.stop()
    assert feed.ended_ids and feed.snapshot().last_ended[0] in feed.ended_ids
