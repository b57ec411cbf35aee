"""Every test runs with its own XDG data home, so the default store.data_dir (~/.local/share/kiosk) is never the
real user's: nothing a test does lands in the home directory of whoever runs the suite."""

from __future__ import annotations

import os
import tempfile


def pytest_configure(config) -> None:
    home = tempfile.mkdtemp(prefix="kiosk-test-xdg-")
    os.environ["XDG_DATA_HOME"] = home
