"""Pixels stay in kiosk/vision/: the pure core imports no camera, vision or UI library."""

from __future__ import annotations

import subprocess
import sys

import pytest


def loaded_after(imports: str) -> list[str]:
    code = f"import sys, {imports}; print([m for m in ('cv2', 'mediapipe', 'kivy') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return eval(out.stdout.strip())


def test_pure_core_imports_no_pixel_or_ui_library():
    assert loaded_after("kiosk.core.episodes, kiosk.core.measures, kiosk.core.geometry, kiosk.core.rubrics") == []


def test_simulation_path_needs_no_vision_model_or_ui():
    # norfair (tracking) brings cv2 along for its drawing helpers; MediaPipe and Kivy must stay out.
    assert [m for m in loaded_after("kiosk.sim.simulate") if m != "cv2"] == []
