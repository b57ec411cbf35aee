"""Accuracy of the whole product on composed video: measured by `analyze_video` vs true by the definitions.

Each scene of ``scenes/composed/`` is rendered (kiosk.vision.compose: real people cut out of opencv-doc's
and scikit-image's photos, moved along the scene's paths over a ray-cast counter) into a temporary
directory, analysed by the real pipeline with the calibration an installer would click
(``simulate.calibrate``), and compared with the truth: the episode logic run on the scripted world
(``run_scene(...).truth``). The issue's targets: wait and greeting within 1.0 s, distances within 15 %.

Run: `.venv/bin/python benchmarks/composed.py [SCENE.toml ...] [--keep DIR]` (``--keep`` leaves the videos
there for viewing; otherwise they are deleted with the temporary directory).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GLOG_minloglevel", "2")

import kiosk.device.pipeline  # noqa: E402
from kiosk.settings.tree import Settings  # noqa: E402
from kiosk.device.pipeline import Pipeline, analyze_video  # noqa: E402
from kiosk.core.report import table  # noqa: E402
from kiosk.core.scene import SceneFrame  # noqa: E402
from kiosk.core.interaction import Interaction  # noqa: E402
from kiosk.sim.simulate import Scene, calibrate, load_scene, match, run_scene, states_at  # noqa: E402
from kiosk.sim.simulate import zone_of  # noqa: E402
from kiosk.vision.compose import load_sprites, render_video  # noqa: E402

SCENES = ROOT / "scenes" / "composed"
# (field, error kind, target): absolute seconds, absolute ratio, or relative.
MEASURES = (("greeting_s", "abs", 1.0), ("wait_s", "abs", 1.0), ("eye_contact_ratio", "abs", None),
            ("distance_m_median", "rel", 0.15), ("distance_m_min", "rel", 0.15))


def composed_scenes() -> list[Path]:
    return sorted(p for p in SCENES.glob("*.toml") if p.name != "cutouts.toml")


class _WatchedPipeline(Pipeline):
    """The real pipeline, keeping every frame's tracked people for the position errors."""

    frames: ClassVar[list[SceneFrame]] = []

    def update(self, t: float, frame_bgr: np.ndarray) -> list[Interaction]:
        done = super().update(t, frame_bgr)
        if self.last_frame is not None:
            _WatchedPipeline.frames.append(self.last_frame)
        return done


@dataclass
class Placement:
    """Per scripted person, over the frames where a track was matched to them: floor errors (n, 2), metres,
    measured - true; whether the track's role was the true one (the zone of their true position); whether the
    measured head heading lies within 45 degrees of the true one (frames where both exist)."""

    errors: list[tuple[float, float]] = field(default_factory=list)
    role_right: list[bool] = field(default_factory=list)
    facing_right: list[bool] = field(default_factory=list)


def placements(scene: Scene, frames: list[SceneFrame], max_gap_m: float = 3.0) -> dict[str, Placement]:
    """Match tracked people to scripted ones frame by frame (nearest first, within ``max_gap_m``)."""
    out: dict[str, Placement] = {}
    for frame in frames:
        truth = states_at(scene, frame.t)
        pairs = sorted((float(np.hypot(p.position_m[0] - st.position[0], p.position_m[1] - st.position[1])), name, i)
                       for name, st in truth.items() for i, p in enumerate(frame.people) if p.position_m is not None)
        used_names, used_tracks = set(), set()
        for gap, name, i in pairs:
            if gap <= max_gap_m and name not in used_names and i not in used_tracks:
                used_names.add(name)
                used_tracks.add(i)
                got, want = frame.people[i], truth[name]
                assert got.position_m is not None
                rec = out.setdefault(name, Placement())
                rec.errors.append((got.position_m[0] - want.position[0], got.position_m[1] - want.position[1]))
                true_zone = zone_of(scene, want.position)
                rec.role_right.append(got.role == ("staff" if true_zone == "staff" else "customer"))
                if got.head_heading_rad is not None:
                    off = abs(math.remainder(got.head_heading_rad - want.head_heading, 2 * math.pi))
                    rec.facing_right.append(off <= math.radians(45))
    return out


def placement_table(rows: list[tuple[str, str, str, int, Placement | None]]) -> str:
    """(scene, person, true role, frames present, placement) -> the per-person table."""
    cells = []
    for scene_name, person, role, present, pl in rows:
        if pl is None or not pl.errors:
            cells.append([scene_name, person, role, f"0/{present}", "-", "-", "-", "-"])
            continue
        err = np.hypot(*np.asarray(pl.errors).T)
        facing = f"{np.mean(pl.facing_right):.0%}" if pl.facing_right else "-"
        cells.append([scene_name, person, role, f"{len(err)}/{present}", f"{np.median(err):.2f}",
                      f"{np.percentile(err, 90):.2f}", f"{np.mean(pl.role_right):.1%}", facing])
    return table(cells, ["scene", "person", "role", "placed", "err med m", "err p90 m", "role right", "facing right"])


def _fmt(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenes", nargs="*", type=Path)
    parser.add_argument("--keep", type=Path, default=None, help="keep the rendered videos in this directory")
    parser.add_argument("--no-counter", action="store_true",
                        help="calibrate without the counter (an installer who did not measure it)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    paths = args.scenes or composed_scenes()
    started = time.perf_counter()
    sprites = load_sprites()
    print(f"{len(sprites) // 2} cut-outs (and their mirror images) in {time.perf_counter() - started:.1f} s\n")
    rows: list[list[str]] = []
    errors: dict[str, list[float]] = {m: [] for m, _, _ in MEASURES}
    outcome_mismatch = unmatched = 0
    placement_rows: list[tuple[str, str, str, int, Placement | None]] = []
    with tempfile.TemporaryDirectory(prefix="kiosk-composed-") as tmp:
        out_dir = args.keep or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        for path in paths:
            scene = load_scene(path)
            t0 = time.perf_counter()
            video = render_video(scene, out_dir / f"{path.stem}.mp4", sprites)
            t1 = time.perf_counter()
            settings = Settings(camera=calibrate(scene, np.random.default_rng(scene.seed), with_counter=not args.no_counter))
            _WatchedPipeline.frames = []
            kiosk.device.pipeline.Pipeline = _WatchedPipeline  # type: ignore[misc]  # watch, do not change, the pipeline
            try:
                doc = analyze_video(video.path, settings)
            finally:
                kiosk.device.pipeline.Pipeline = Pipeline  # type: ignore[misc]
            t2 = time.perf_counter()
            measured = [Interaction.from_dict(d) for d in doc["interactions"]]
            truth = run_scene(scene, settings).truth
            print(f"{path.stem}: {video.frames} frames, rendered in {t1 - t0:.0f} s, analysed in {t2 - t1:.0f} s "
                  f"({doc['frames'] / (t2 - t1):.1f} fps)")
            placed = placements(scene, _WatchedPipeline.frames)
            for person in scene.person:
                present = sum(1 for f in _WatchedPipeline.frames if person.name in states_at(scene, f.t))
                used = video.cutouts_used.get(person.name, {})
                drawn = ", ".join(f"{k} {v / max(sum(used.values()), 1):.0%}" for k, v in sorted(used.items(), key=lambda kv: -kv[1]))
                placement_rows.append((path.stem, f"{person.name} ({person.height_m:.2f} m; {drawn})", person.role,
                                       present, placed.get(person.name)))
            for i, (got, want) in enumerate(match(measured, truth), 1):
                if got is None or want is None:
                    unmatched += 1
                elif (got.greeted, got.abandoned) != (want.greeted, want.abandoned):
                    outcome_mismatch += 1
                for label, x in (("measured", got), ("true", want)):
                    rows.append([f"{path.stem} #{i}", label] + (
                        [_fmt(getattr(x, c)) for c in ("arrived_at", "greeting_s", "wait_s", "eye_contact_ratio",
                                                       "distance_m_median", "distance_m_min", "greeted", "abandoned")]
                        if x is not None else ["(none)"] + [""] * 7))
                if got is None or want is None:
                    continue
                err_cells = []
                for m, kind, _ in MEASURES:
                    a, b = getattr(got, m), getattr(want, m)
                    if a is None or b is None:
                        err_cells.append("-" if a is None and b is None else "missing")
                        continue
                    e = abs(a - b) / b if kind == "rel" else abs(a - b)
                    errors[m].append(e)
                    err_cells.append(f"{e:.0%}" if kind == "rel" else f"{e:.2f}")
                rows.append([f"{path.stem} #{i}", "error", f"{got.arrived_at - want.arrived_at:+.2f}", *err_cells[:4],
                             err_cells[4], "", ""])
    print()
    print(placement_table(placement_rows))
    print()
    print(table(rows, ["interaction", "", "arrive s", "greet s", "wait s", "facing", "dist med m", "dist min m",
                       "greeted", "abandoned"]))
    print()
    summary = []
    for m, kind, target in MEASURES:
        e = errors[m]
        unit = "rel" if kind == "rel" else ("s" if m.endswith("_s") else "abs")
        within = "-" if target is None or not e else f"{sum(x <= target for x in e)}/{len(e)}"
        summary.append([m, unit, str(len(e)), f"{np.median(e):.3f}" if e else "-", f"{max(e):.3f}" if e else "-",
                        "-" if target is None else f"{target:g}", within])
    print(table(summary, ["measure", "error", "n", "median", "max", "target", "within"]))
    print(f"\nunmatched interactions {unmatched}; greeted/abandoned disagreements {outcome_mismatch}; "
          f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
