"""`kiosk calibrate --walk` on composed walks: what the installer's proof walk reports for a camera position.

Each scene of ``scenes/walks/`` (or those named) is rendered with the real people it casts
(kiosk.vision.compose) into a temporary directory, calibrated as an installer would click it
(``simulate.calibrate``), and checked by the real command: per tape mark the placement error, per side of
the counter the median and worst, and the verdict. Run it before and after a change to placement.

Run: `.venv/bin/python benchmarks/walk.py [SCENE.toml ...] [--keep DIR]`
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np
import tomli_w

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GLOG_minloglevel", "2")

from kiosk.cli.commands import main as kiosk  # noqa: E402
from kiosk.sim.simulate import calibrate, load_scene  # noqa: E402
from kiosk.vision.compose import CATALOGUE, load_sprites, render_video  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenes", nargs="*", type=Path)
    parser.add_argument("--keep", type=Path, default=None, help="keep the videos and calibrations in this directory")
    args = parser.parse_args(argv)
    paths = args.scenes or sorted((ROOT / "scenes" / "walks").glob("*.toml"))
    with tempfile.TemporaryDirectory(prefix="kiosk-walk-") as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        for path in paths:
            scene = load_scene(path)
            wanted = {name for p in scene.person for name in p.cutouts}
            catalogue = tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))
            catalogue["cutout"] = [c for c in catalogue["cutout"] if not wanted or c["name"] in wanted]
            (out / "cutouts.toml").write_text(tomli_w.dumps(catalogue), encoding="utf-8")
            video = render_video(scene, out / f"{path.stem}.mp4", load_sprites(out / "cutouts.toml"))
            cal = out / f"{path.stem}.calibration.toml"
            camera = calibrate(scene, np.random.default_rng(scene.seed))
            cal.write_text(tomli_w.dumps({"camera": camera.model_dump(mode="json")}), encoding="utf-8")
            print(f"== {path.stem}: {scene.description}")
            started = time.perf_counter()
            code = kiosk(["calibrate", str(cal), "--walk", str(video.path)])
            print(f"(exit {code}; {video.frames} frames checked in {time.perf_counter() - started:.0f} s)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
