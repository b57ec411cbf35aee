"""The terminal's UI tests run the real Kivy app in a real X server (Xvfb), one per test session.

Kivy creates its one window when first imported, so the X server and Kivy's environment are set up before any
test imports Kivy; tests import it inside their functions (or through the ``kivy_env`` fixture). KIVY_HOME is a
temporary directory, so no user configuration is read or written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
XVFB_SCREEN = "1280x1280x24"  # room for the 1280x800 landscape and the 800x1280 portrait window


def _free_display() -> int:
    for n in range(90, 400):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number between :90 and :399")


@pytest.fixture(scope="session")
def kivy_env(tmp_path_factory: pytest.TempPathFactory):
    """Start Xvfb on a free display and point Kivy at it; stop it at the end of the session."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed: run `make setup` as root, or apt-get install xvfb "
                    "(scripts/system-packages.txt)")
    display = _free_display()
    proc = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", XVFB_SCREEN, "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while not Path(f"/tmp/.X11-unix/X{display}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"Xvfb :{display} did not start: {proc.stderr.read().decode()[-500:] if proc.stderr else ''}")
        time.sleep(0.05)
    saved = {k: os.environ.get(k) for k in ("DISPLAY", "KIVY_NO_ARGS", "KIVY_HOME", "KIVY_LOG_MODE",
                                            "KIVY_NO_FILELOG", "KIVY_WINDOW", "SDL_AUDIODRIVER")}
    os.environ.update({
        "DISPLAY": f":{display}", "KIVY_NO_ARGS": "1", "KIVY_HOME": str(tmp_path_factory.mktemp("kivy_home")),
        "KIVY_LOG_MODE": "PYTHON", "KIVY_NO_FILELOG": "1", "KIVY_WINDOW": "sdl2", "SDL_AUDIODRIVER": "dummy",
    })
    try:
        yield display
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
