"""The systemd notify protocol against a fake NOTIFY_SOCKET: READY=1 once the app is up, WATCHDOG=1 only while
the UI polls and the live loop moves, nothing at all outside systemd."""

from __future__ import annotations

import os
import socket
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from kiosk.settings.tree import Settings
from kiosk.device.live import LiveFeed
from kiosk.device.database import Store
from kiosk.device.watchdog import Notifier, WatchedFeed

from tests.device.test_live import RUBRIC, FakePipeline, wait_for


@pytest.fixture
def systemd(tmp_path: Path):
    """A datagram socket standing in for systemd's; yields (environment for the app, received messages)."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        server.settimeout(0.05)

        def received() -> list[str]:
            out = []
            while True:
                try:
                    out.append(server.recv(256).decode())
                except TimeoutError:
                    return out
        yield {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "10000000", "WATCHDOG_PID": str(os.getpid())}, received


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class StubFeed:
    def __init__(self) -> None:
        self.started = self.stopped = False
        self.age: float | None = None

    def start(self):
        self.started = True

    def stop(self):
        self.stopped = True

    def snapshot(self):
        return "snap"

    def set_preview(self, enabled):
        pass

    def progress_age_s(self):
        return self.age


def test_outside_systemd_nothing_is_sent():
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.ready() is False and notifier.watchdog() is False


def test_ready_goes_out_when_the_app_starts_its_feed(systemd):
    env, received = systemd
    feed = StubFeed()
    WatchedFeed(feed, Notifier(env)).start()
    assert feed.started and received() == ["READY=1"]


def test_watchdog_pings_ride_on_the_ui_poll_at_most_twice_per_period(systemd):
    env, received = systemd
    clock, feed = Clock(), StubFeed()
    watched = WatchedFeed(feed, Notifier(env, clock=clock), clock=clock)
    feed.age = 0.1
    for _ in range(20):  # the UI polls every 0.2 s: 4 s, under half of WatchdogSec=10 s
        assert watched.snapshot() == "snap"
        clock.now += 0.2
    clock.now += 2.0
    watched.snapshot()
    assert received() == ["WATCHDOG=1", "WATCHDOG=1"]


def test_a_stalled_live_loop_stops_the_pings(systemd):
    env, received = systemd
    clock, feed = Clock(), StubFeed()
    watched = WatchedFeed(feed, Notifier(env, clock=clock), clock=clock)
    feed.age = 11.0  # no frame and no retry tick for longer than WatchdogSec
    watched.snapshot()
    assert received() == []


def test_a_loop_still_loading_its_models_is_given_the_start_up_grace_only(systemd):
    env, received = systemd
    clock, feed = Clock(), StubFeed()
    watched = WatchedFeed(feed, Notifier(env, clock=clock), clock=clock, startup_grace_s=60)
    watched.start()
    watched.snapshot()
    clock.now += 61
    watched.snapshot()
    assert received() == ["READY=1", "WATCHDOG=1"]


def test_a_restart_after_a_fault_gets_its_own_grace(systemd):
    env, received = systemd
    clock, feed = Clock(), StubFeed()
    watched = WatchedFeed(feed, Notifier(env, clock=clock), clock=clock, startup_grace_s=60)
    feed.age = 0.1
    watched.snapshot()
    clock.now += 300  # hours of frames later the camera failed; the loop reopens it and reloads the models
    feed.age = None
    watched.snapshot()
    clock.now += 30
    watched.snapshot()
    assert received() == ["WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1"]


def test_a_watchdog_meant_for_another_process_is_ignored(systemd):
    env, received = systemd
    notifier = Notifier({**env, "WATCHDOG_PID": "1"})
    assert notifier.watchdog() is False and received() == []


def test_an_abstract_notify_socket_is_reached():
    name = f"kiosk-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name)
        server.settimeout(5)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).ready() is True
        assert server.recv(64) == b"READY=1"


def test_a_vanished_socket_is_logged_not_raised(tmp_path, caplog):
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.ready() is False
    assert "cannot notify systemd" in caplog.text


class Stuck(FakePipeline):
    """Hangs inside the frame at t=3 s as a wedged model would."""

    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release

    def update(self, t, frame):
        if t == 3:
            self.release.wait(10)
        return super().update(t, frame)


@contextmanager
def endless():
    yield ((float(i), np.zeros((4, 4, 3), np.uint8)) for i in range(10**9))


def test_the_live_loop_reports_progress_while_frames_flow_and_not_while_it_is_stuck(tmp_path):
    release = threading.Event()
    with Store.in_data_dir(tmp_path) as store:
        feed = LiveFeed(Settings(), "fake", store, RUBRIC, pipeline_factory=lambda s, fps: Stuck(release),
                        source_factory=lambda spec: endless(), retry_s=60)
        assert feed.progress_age_s() is None
        feed.start()
        try:
            assert wait_for(lambda: feed.progress_age_s() is not None)
            assert wait_for(lambda: feed.progress_age_s() > 0.3)  # stuck at t=3: the age grows
            stuck_for = feed.progress_age_s()
            release.set()
            assert wait_for(lambda: feed.progress_age_s() < stuck_for)
        finally:
            release.set()
            feed.stop()


def test_a_loop_waiting_for_a_missing_camera_still_counts_as_alive(tmp_path):
    def no_camera(spec):
        raise OSError("no camera at index 0")

    with Store.in_data_dir(tmp_path) as store:
        feed = LiveFeed(Settings(), "0", store, RUBRIC, source_factory=no_camera, retry_s=3)
        feed.start()
        try:
            assert wait_for(lambda: feed.snapshot().status == "camera_error")
            assert wait_for(lambda: feed.progress_age_s() is not None and feed.progress_age_s() < 1.5, 3)
        finally:
            feed.stop()
