"""`kiosk run` without a camera: the real App.run loop opens full screen on the demo feed and closes cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from kivy.app import App
from kivy.clock import Clock
from kiosk.settings.tree import Settings, StoreSettings
from kiosk.terminal.launch import run_terminal

waited = [0.0]

def close(dt):
    # Poll rather than sleep a fixed time: on a loaded machine the feed takes longer to start.
    app = App.get_running_app()
    waited[0] += dt
    if app.camera_status != "running" and waited[0] < 60:
        return
    assert app.root.ids.screens.current == "idle" and app.camera_status == "running", app.camera_status
    app.stop()
    return False

Clock.schedule_interval(close, 0.5)
run_terminal(Settings(store=StoreSettings(data_dir=sys.argv[1])))
print("closed cleanly")
"""


def test_run_terminal_opens_and_closes(kivy_env, tmp_path):
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], check=False, capture_output=True, text=True,
                         timeout=120, env=dict(os.environ), cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr[-3000:]
    assert "closed cleanly" in out.stdout
    assert (tmp_path / "terminal.sqlite").exists()


SIGTERM_DROPPED_BEFORE_START = """
import gc, signal, sys, weakref
from kivy.app import App
from kivy.clock import Clock
from kiosk.cli.commands import _stop_app_on_sigterm
from kiosk.settings.tree import Settings, StoreSettings
from kiosk.terminal.launch import run_terminal

class Pool:  # stands for urllib3's connection pool, which closes itself from a finalizer
    pass

_stop_app_on_sigterm()
pool = Pool()
weakref.finalize(pool, signal.raise_signal, signal.SIGTERM)
del pool
gc.collect()  # the handler's SystemExit is raised inside the finalizer, and dropped there

def too_late(dt):
    print("still running 30 s after SIGTERM")
    App.get_running_app().stop()

Clock.schedule_once(too_late, 30)
run_terminal(Settings(store=StoreSettings(data_dir=sys.argv[1])))
print("closed")
"""


def test_a_sigterm_dropped_before_the_app_was_up_closes_it_at_its_first_frame(kivy_env, tmp_path):
    out = subprocess.run([sys.executable, "-c", SIGTERM_DROPPED_BEFORE_START, str(tmp_path)], check=False,
                         capture_output=True, text=True, timeout=120, env=dict(os.environ),
                         cwd=Path(__file__).resolve().parents[2])
    assert "SystemExit: 143" in out.stderr, "the SIGTERM should have been dropped in the finalizer"
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.splitlines() == ["closed"], out.stdout
