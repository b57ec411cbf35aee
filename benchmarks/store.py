"""The terminal's memory in figures: interactions written per second, aggregation time, payload bytes per store-day.

Printed figures, not asserts: they depend on the disk (an SD card writes far slower than an SSD).
Run: `.venv/bin/python benchmarks/store.py [DIR]` (DIR: where to put the test database; a temporary directory
by default, so pass a directory on the SD card to measure the card).
"""

from __future__ import annotations

import gzip
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.wire.aggregate import AggregateBatch  # noqa: E402
from kiosk.core.privacy import TimedInteraction, aggregate  # noqa: E402
from kiosk.core.rubrics import load_store_rubric, within_target  # noqa: E402
from kiosk.core.interaction import Interaction  # noqa: E402
from kiosk.device.database import Store  # noqa: E402

DAY0 = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday
# Customers per opening hour, 09:00-19:00 UTC, of a mid-sized branch: quiet morning and evening, busy lunch.
BUSY_DAY = (3, 8, 12, 15, 20, 18, 14, 10, 9, 6, 2)
QUIET_DAY = (1, 2, 4, 3, 2, 4, 3, 1, 2, 1, 0)


def customer(rng: random.Random) -> Interaction:
    if rng.random() < 0.08:
        return Interaction(arrived_at=0.0, greeted_at=None, service_started_at=None, left_at=40.0, greeting_s=None,
                           wait_s=None, service_s=None, eye_contact_ratio=None, distance_m_median=None,
                           distance_m_min=None, greeted=False, abandoned=True)
    greet, wait = rng.uniform(1, 25), rng.uniform(2, 120)
    return Interaction(arrived_at=0.0, greeted_at=greet, service_started_at=wait, left_at=wait + 180.0,
                       greeting_s=greet, wait_s=wait, service_s=180.0, eye_contact_ratio=rng.uniform(0.1, 0.8),
                       distance_m_median=rng.uniform(0.7, 1.6), distance_m_min=0.6, greeted=True, abandoned=False,
                       rating=rng.choice([None, None, 2, 3, 4, 4]))


def day_of(per_hour: tuple[int, ...], day: datetime, rng: random.Random) -> list[tuple[Interaction, datetime]]:
    return [(customer(rng), day + timedelta(hours=9 + h, minutes=rng.uniform(0, 59)))
            for h, n in enumerate(per_hour) for _ in range(n)]


def write_rate(directory: Path, rng: random.Random, seconds: float = 2.0) -> tuple[float, int]:
    with Store.in_data_dir(directory / "write") as store:
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            store.add_interaction(customer(rng), DAY0 + timedelta(seconds=n))
            n += 1
        return n / (time.perf_counter() - start), n


def main(argv: list[str]) -> int:
    rng = random.Random(1)
    rubric = load_store_rubric("default")
    with tempfile.TemporaryDirectory(dir=argv[0] if argv else None) as tmp:
        directory = Path(tmp)
        rate, n = write_rate(directory, rng)
        print(f"interactions written: {rate:,.0f} per second ({n} commits, synchronous=FULL, one transaction each)")

        # 30 busy days in the store, then every day closed into the outbox at once (a month offline).
        with Store.in_data_dir(directory / "month") as store:
            for d in range(30):
                for item, started in day_of(BUSY_DAY, DAY0 + timedelta(days=d), rng):
                    store.add_interaction(item, started + timedelta(seconds=item.left_at or 0),
                                          within_target(rubric, item))
            stored = store.count_interactions()
            start = time.perf_counter()
            report = store.close_days(
                until=DAY0 + timedelta(days=31), now=DAY0 + timedelta(days=31), device_id="pi-0042", batch_size=200,
                build=lambda i, r: aggregate(i, r, store_id="berlin-01", device_id="pi-0042", k=5))
            close_s = time.perf_counter() - start
            one_day = store.interactions(DAY0, DAY0 + timedelta(days=1))
        start = time.perf_counter()
        for _ in range(20):
            aggregate(one_day, store_id="berlin-01", device_id="pi-0042", k=5)
        per_day_ms = (time.perf_counter() - start) / 20 * 1000
        print(f"aggregation: {per_day_ms:.1f} ms per store-day in privacy.aggregate ({len(one_day)} customers); "
              f"closing 30 days ({stored} customers, {report.aggregates} rows, {report.batches} batches) "
              f"took {close_s * 1000:.0f} ms including the writes")

        for name, shape in (("busy", BUSY_DAY), ("quiet", QUIET_DAY)):
            day = [TimedInteraction(i, t, within_target(rubric, i)) for i, t in day_of(shape, DAY0, rng)]
            rows = aggregate(day, store_id="berlin-01", device_id="pi-0042", k=5)
            body = AggregateBatch(device_id="pi-0042", batch_id=uuid.uuid4(), aggregates=rows).model_dump_json()
            raw, packed = len(body.encode()), len(gzip.compress(body.encode()))
            print(f"payload per store-day ({name}, {len(day)} customers, {len(rows)} rows): {raw:,} bytes JSON "
                  f"({packed:,} gzipped); 10,000 such stores send {raw * 10_000 / 1e6:,.0f} MB a day")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
