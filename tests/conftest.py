"""Every test runs with its own XDG data home, so the default store.data_dir (~/.local/share/kiosk) is never the
real user's: nothing a test does lands in the home directory of whoever runs the suite."""

from __future__ import annotations

import os
import shutil
import tempfile

_HOME: list[str] = []


def pytest_configure(config) -> None:
    _HOME.append(tempfile.mkdtemp(prefix="kiosk-test-xdg-"))
    os.environ["XDG_DATA_HOME"] = _HOME[0]


def pytest_unconfigure(config) -> None:
    for home in _HOME:
        shutil.rmtree(home, ignore_errors=True)
