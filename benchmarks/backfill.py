"""The demo's four-week back-fill in figures: one transaction for a store's weeks against one per interaction.

Printed figures, not asserts (they depend on the disk). Run: `.venv/bin/python benchmarks/backfill.py [DIR]`.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from kiosk.demo.run import PLANS, rating_for  # noqa: E402
from kiosk.demo.history import CHARACTERS, backfill, simulate_customer  # noqa: E402
from kiosk.core.rubrics import load_store_rubric, within_target  # noqa: E402
from kiosk.device.database import Store  # noqa: E402

DAYS = 28


def main(base: Path) -> None:
    start = time.perf_counter()
    total = 0
    for plan in PLANS:
        with Store.in_data_dir(base / f"bulk-{plan.store_id}") as store:
            total += backfill(store, plan.store_id, load_store_rubric(plan.rubric), date(2025, 1, 6),
                              DAYS, 1, rating_for)[0]
    bulk_s = time.perf_counter() - start
    # The reference, measured in the same run: the same kind of interactions, one commit (and fsync) each.
    rubric = load_store_rubric("default")
    rng = np.random.default_rng(1)
    sample = 300
    with Store.in_data_dir(base / "single") as store:
        t0 = time.perf_counter()
        for i in range(sample):
            x = simulate_customer(CHARACTERS["north-mall"], rng)
            store.add_interaction(x, datetime(2025, 1, 6, 9, tzinfo=UTC) + timedelta(seconds=i * 30), within_target(rubric, x))
        single_per = (time.perf_counter() - t0) / sample
    print(f"back-fill: {total} interactions of {len(PLANS)} stores x {DAYS} days in {bulk_s:.2f} s "
          f"({total / bulk_s:,.0f} per s, simulation and scoring included)")
    print(f"one commit per interaction: {1 / single_per:,.0f} per s -> the same back-fill would take "
          f"{total * single_per:.1f} s ({total * single_per / bulk_s:.1f}x)")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
