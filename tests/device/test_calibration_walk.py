"""`kiosk calibrate CAL.toml --walk VIDEO` on real media: a composed video of a real person (opencv-doc's) standing
3 s on each of four tape marks, two behind the counter and two in front (scenes/walks/counter_end_walk.toml),
run through the real MediaPipe pipeline by the command itself; and its errors for bad videos.

Videos are written to pytest's temporary directories only.
"""

from __future__ import annotations

import contextlib
import io
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from kiosk.cli.commands import main
from kiosk.sim.simulate import calibrate, load_scene
from kiosk.vision.compose import CATALOGUE, OPENCV_DATA, Sprite, load_sprites, render_video
from kiosk.device.walk_check import EXIT_WALK_NOT_GOOD, Dwell, Mark, Sighting, assign_dwells, judge_walk

WALK = Path(__file__).resolve().parents[2] / "scenes" / "walks" / "counter_end_walk.toml"
ROW = re.compile(r"^  #(\d+)\s+\((-?[\d.]+), (-?[\d.]+)\)\s+\((-?[\d.]+), (-?[\d.]+)\)\s+([\d.]+) m\s+([+-][\d.]+) m"
                 r"\s+([\d.]+)s\s+(behind|front)$", re.M)

pytestmark = pytest.mark.skipif(not (OPENCV_DATA / "vtest.avi").is_file(),
                                reason="install the Debian package opencv-doc (scripts/system-packages.txt)")


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def kiosk(*argv: str | Path) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def sprites(tmp_path_factory: pytest.TempPathFactory) -> list[Sprite]:
    """Only the walker's cut-outs: cutting out the whole catalogue would double the test's time."""
    wanted = {name for p in load_scene(WALK).person for name in p.cutouts}
    catalogue = tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))
    catalogue["cutout"] = [c for c in catalogue["cutout"] if c["name"] in wanted]
    path = tmp_path_factory.mktemp("cutouts") / "cutouts.toml"
    path.write_text(tomli_w.dumps(catalogue), encoding="utf-8")
    return load_sprites(path)


@pytest.fixture(scope="module")
def calibration(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four tape marks, the zones and the camera height as the installer clicked and measured them."""
    scene = load_scene(WALK)
    path = tmp_path_factory.mktemp("cal") / "calibration.toml"
    camera = calibrate(scene, np.random.default_rng(scene.seed))
    path.write_text(tomli_w.dumps({"camera": camera.model_dump(mode="json")}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def walked(sprites: list[Sprite], calibration: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    """The command run once on the rendered walk; returns its run and the settings file it was to write."""
    folder = tmp_path_factory.mktemp("walk")
    video = render_video(load_scene(WALK), folder / "walk.mp4", sprites)
    settings = folder / "kiosk.toml"
    return kiosk("calibrate", calibration, "--walk", video.path, "--out", settings), settings


def test_the_walk_reports_each_walked_mark_with_its_side_error_and_seconds(walked: tuple[Run, Path]) -> None:
    run, _ = walked
    rows = {int(m[1]): m for m in ROW.finditer(run.out)}
    assert sorted(rows) == [1, 2, 3, 4], run.out
    assert [rows[n][9] for n in (1, 2, 3, 4)] == ["behind", "behind", "front", "front"]
    for n in rows:
        assert float(rows[n][8]) >= 2.0  # seconds seen standing
        measured = (float(rows[n][4]), float(rows[n][5]))
        mark = (float(rows[n][2]), float(rows[n][3]))
        assert float(rows[n][6]) == pytest.approx(np.hypot(*np.subtract(measured, mark)), abs=0.011)


def test_a_person_on_a_mark_is_placed_within_half_a_metre_of_it_from_the_counter_end(walked: tuple[Run, Path]) -> None:
    run, _ = walked
    errors = {int(m[1]): float(m[6]) for m in ROW.finditer(run.out)}
    assert errors and max(errors.values()) <= 0.5, run.out


def test_the_walk_summarises_each_side_of_the_counter(walked: tuple[Run, Path]) -> None:
    run, _ = walked
    assert re.search(r"^behind the counter \(staff\): 2 mark\(s\), median error [\d.]+ m, worst [\d.]+ m", run.out, re.M)
    assert re.search(r"^in front of the counter \(customers\): 2 mark\(s\), median error", run.out, re.M)


def test_the_calibration_is_stored_exactly_when_the_walk_says_good(walked: tuple[Run, Path]) -> None:
    run, settings = walked
    good = "verdict: this camera position measures greetings and distances well enough" in run.out
    assert run.code == (0 if good else EXIT_WALK_NOT_GOOD), run.out + run.err
    assert settings.exists() == good
    if good:
        assert "floor_points" in tomllib.loads(settings.read_text(encoding="utf-8"))["camera"]


def test_a_missing_walk_video_is_a_clear_error(calibration: Path, tmp_path: Path) -> None:
    run = kiosk("calibrate", calibration, "--walk", tmp_path / "nowhere.mp4", "--out", tmp_path / "kiosk.toml")
    assert run.code == 3
    assert "nowhere.mp4 does not exist" in run.err
    assert not (tmp_path / "kiosk.toml").exists()


def test_a_corrupt_walk_video_is_a_clear_error(calibration: Path, tmp_path: Path) -> None:
    video = tmp_path / "walk.mp4"
    video.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    run = kiosk("calibrate", calibration, "--walk", video)
    assert run.code == 3
    assert "corrupt" in run.err


def test_a_walk_video_where_nobody_stands_still_says_to_film_it_again(calibration: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    passing = [Sighting(i / 10, 1, (-1.0 + i * 0.1, 3.0), "queue") for i in range(30)]  # walking 1 m/s, never still
    monkeypatch.setattr("kiosk.device.walk_video.watch_walk", lambda *args, **kwargs: passing)
    run = kiosk("calibrate", calibration, "--walk", tmp_path / "walk.mp4")
    assert run.code == 3
    assert "nobody stood still for 2 s" in run.err and "film the walk again" in run.err


def test_a_walk_that_is_not_good_exits_five_and_stores_nothing(calibration: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    marks = [Mark(1, (-1.0, 0.0), True, "staff"), Mark(2, (2.0, 3.0), False, "queue")]
    placed = [Dwell(0.0, 3.0, (-2.2, 0.0), "staff", 31), Dwell(5.0, 8.0, (2.0, 3.0), "queue", 31)]
    report = judge_walk(assign_dwells(placed, marks, (-3.0, 1.1), 3.0), looks_along_counter=True)
    monkeypatch.setattr("kiosk.device.walk_video.check_walk", lambda *args, **kwargs: report)
    run = kiosk("calibrate", calibration, "--walk", tmp_path / "walk.mp4", "--out", tmp_path / "kiosk.toml")
    assert run.code == EXIT_WALK_NOT_GOOD == 5
    assert "does NOT measure greetings and distances well enough" in run.out
    assert not (tmp_path / "kiosk.toml").exists()
