"""Accuracy of the measuring core over every shipped scene: measured vs true, printed as a table.

Errors: greeting_s and wait_s in seconds (absolute), eye_contact_ratio absolute, distance relative.
Only interactions matched by arrival time are compared; unmatched ones and greeted/abandoned flags that
disagree are counted separately. Run: `.venv/bin/python benchmarks/accuracy.py [scenes/*.toml]`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.settings.tree import load_settings  # noqa: E402
from kiosk.core.report import table  # noqa: E402
from kiosk.sim.simulate import load_scene, match, run_scene  # noqa: E402

MEASURES = (("greeting_s", "s", False), ("wait_s", "s", False), ("eye_contact_ratio", "abs", False),
            ("distance_m_median", "rel", True))


def main(argv: list[str]) -> int:
    paths = [Path(p) for p in argv] or sorted((ROOT / "scenes").glob("*.toml"))
    settings = load_settings()
    errors: dict[str, list[float]] = {m: [] for m, _, _ in MEASURES}
    unmatched = flag_mismatch = compared = 0
    per_scene = []
    for path in paths:
        result = run_scene(load_scene(path), settings)
        pairs = match(result.interactions, result.truth)
        scene_err = {m: [] for m, _, _ in MEASURES}
        for got, want in pairs:
            if got is None or want is None:
                unmatched += 1
                continue
            compared += 1
            if got.greeted != want.greeted or got.abandoned != want.abandoned:
                flag_mismatch += 1
            for m, _, relative in MEASURES:
                a, b = getattr(got, m), getattr(want, m)
                if a is None or b is None:
                    if (a is None) != (b is None):
                        flag_mismatch += 1
                    continue
                e = abs(a - b) / b if relative else abs(a - b)
                errors[m].append(e)
                scene_err[m].append(e)
        per_scene.append([path.stem, str(len(result.truth)), str(len(result.interactions))] +
                         [f"{np.median(scene_err[m]):.3f}" if scene_err[m] else "-" for m, _, _ in MEASURES])
    print(table(per_scene, ["scene", "true", "measured", "greet err s", "wait err s", "facing err", "dist err rel"]))
    print()
    rows = [[m, unit, str(len(errors[m])), f"{np.median(errors[m]):.3f}" if errors[m] else "-",
             f"{np.percentile(errors[m], 90):.3f}" if errors[m] else "-"] for m, unit, _ in MEASURES]
    print(table(rows, ["measure", "error", "n", "median", "p90"]))
    print(f"\ncompared {compared} interactions; unmatched {unmatched}; greeted/abandoned/None disagreements {flag_mismatch}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
