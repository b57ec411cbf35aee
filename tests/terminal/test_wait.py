"""The honest wait estimate: an observed upper-percentile wait, rounded up, or nothing (W10/W11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kiosk.core.interaction import Interaction
from kiosk.device.database import Store
from kiosk.terminal.wait import recent_waits, upper_wait_min


@pytest.mark.parametrize("case, waits, pct, min_n, expected", [
    ("p80 of five is the 4th smallest, rounded up", [30, 50, 70, 100, 200], 80, 5, 2),
    ("too few waits: no figure", [30, 50, 70, 100], 80, 5, None),
    ("short waits still say at least 1 min", [5, 6, 7], 80, 3, 1),
    ("p50 nearest rank", [60, 120, 180, 240], 50, 1, 2),
    ("p99 takes the longest of few", [60, 61, 600], 99, 1, 10),
    ("exact minutes are not rounded further", [120, 120, 120], 80, 1, 2),
    ("nonsense values are ignored", [float("nan"), -5, 90, 90], 80, 2, 2),
])
def test_upper_wait(case, waits, pct, min_n, expected):
    assert upper_wait_min(waits, pct, min_n) == expected, case


@pytest.mark.parametrize("pct, min_n, message", [(0, 1, "percentile"), (101, 1, "percentile"), (80, 0, "min_samples")])
def test_bad_arguments_are_named(pct, min_n, message):
    with pytest.raises(ValueError, match=message):
        upper_wait_min([1.0], pct, min_n)


def test_recent_waits_reads_only_the_window_and_skips_customers_who_left_unserved(tmp_path):
    now = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)

    def visit(wait_s):
        served = wait_s is not None
        return Interaction(arrived_at=0.0, greeted_at=1.0 if served else None, service_started_at=wait_s,
                           left_at=(wait_s or 0) + 30, greeting_s=1.0 if served else None, wait_s=wait_s,
                           service_s=30.0 if served else None, eye_contact_ratio=None, distance_m_median=None,
                           distance_m_min=None, greeted=served, abandoned=not served)

    with Store.in_data_dir(tmp_path) as store:
        store.add_interaction(visit(40.0), now - timedelta(minutes=20))
        store.add_interaction(visit(None), now - timedelta(minutes=15))
        store.add_interaction(visit(90.0), now - timedelta(minutes=5))
        store.add_interaction(visit(500.0), now - timedelta(hours=3))
        assert sorted(recent_waits(store, now, 60)) == [40.0, 90.0]
