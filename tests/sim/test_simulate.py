"""Scripted scenes through the whole core: what each scene is about is what the pipeline reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.settings.tree import Settings
from kiosk.sim.simulate import SceneError, load_scene, match, run_scene

SCENES = Path(__file__).resolve().parents[2] / "scenes"
SETTINGS = Settings()


def simulate(name: str):
    return run_scene(load_scene(SCENES / name), SETTINGS)


def test_at_least_twelve_scenes_ship_and_load():
    paths = sorted(SCENES.glob("*.toml"))
    assert len(paths) >= 12
    for p in paths:
        assert load_scene(p).person


@pytest.mark.parametrize("scene, expected", [
    # (greeted, abandoned) per true interaction, in arrival order
    ("03_abandoned_unserved.toml", [(False, True)]),
    ("04_greeted_not_served.toml", [(True, True)]),
    ("05_track_lost.toml", [(True, False)]),
    ("07_staff_chatting.toml", [(True, False)]),
    ("11_passer_by.toml", [(False, True), (True, False)]),
])
def test_measured_outcomes_match_the_truth(scene, expected):
    r = simulate(scene)
    assert [(x.greeted, x.abandoned) for x in r.truth] == expected
    assert [(x.greeted, x.abandoned) for x in r.interactions] == expected


def test_chatting_staff_greet_only_when_they_turn_to_the_customer():
    r = simulate("07_staff_chatting.toml")
    [x] = r.interactions
    assert x.greeted_at == pytest.approx(19.0, abs=0.5)  # scripted turn at 19 s, not during the chat


def test_lost_track_is_one_interaction_not_two():
    r = simulate("05_track_lost.toml")
    assert len(r.interactions) == 1


def test_measured_times_and_distance_are_close_to_the_truth_on_a_clean_scene():
    r = simulate("01_served_promptly.toml")
    [(got, want)] = match(r.interactions, r.truth)
    assert got.wait_s == pytest.approx(want.wait_s, abs=0.5)
    assert got.greeting_s == pytest.approx(want.greeting_s, abs=0.5)
    assert got.distance_m_median == pytest.approx(want.distance_m_median, rel=0.1)
    assert got.eye_contact_ratio == pytest.approx(want.eye_contact_ratio, abs=0.1)


def test_looking_at_the_screen_lowers_eye_contact():
    r = simulate("09_looking_at_screen.toml")
    [x] = r.interactions
    [w] = r.truth
    assert w.eye_contact_ratio < 0.6 and x.eye_contact_ratio < 0.6


def test_scene_with_unknown_face_target_is_rejected(tmp_path):
    bad = (SCENES / "01_served_promptly.toml").read_text().replace('face = "customer"', 'face = "nobody"')
    (tmp_path / "layouts").mkdir()
    (tmp_path / "layouts" / "counter_end_camera.toml").write_text(
        (SCENES / "layouts" / "counter_end_camera.toml").read_text())
    f = tmp_path / "bad.toml"
    f.write_text(bad)
    with pytest.raises(SceneError, match="nobody"):
        load_scene(f)


def test_simulate_command_writes_interactions_beside_the_truth(tmp_path):
    out = tmp_path / "o.json"
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "simulate", str(SCENES / "03_abandoned_unserved.toml"),
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert {"video", "frames", "duration_s", "fps_processed", "interactions", "truth", "summary"} <= doc.keys()
    assert doc["interactions"][0]["abandoned"] is True
    assert "measured" in proc.stderr and "true" in proc.stderr


def test_simulate_command_reports_a_missing_scene_clearly(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "simulate", str(tmp_path / "none.toml")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3
    assert "does not exist" in proc.stderr
