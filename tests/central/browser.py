"""Playwright driving Debian's chromium (``playwright install`` cannot download browsers here)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# No network beyond loopback: every flag that would make chromium call home is off.
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    env = os.environ.get("KIOSK_CHROMIUM")
    for candidate in ([env] if env else []) + list(CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).exists():
            return candidate
    found = shutil.which("chromium")
    return found


def artifacts_dir() -> Path:
    """Where screenshots go: $KIOSK_ARTIFACTS or artifacts/central at the repository root (git-ignored)."""
    base = os.environ.get("KIOSK_ARTIFACTS")
    path = Path(base) if base else Path(__file__).resolve().parents[2] / "artifacts"
    out = path / "central"
    out.mkdir(parents=True, exist_ok=True)
    return out
