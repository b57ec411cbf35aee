"""Totals: the additive sums behind every figure (pure, no database)."""

from __future__ import annotations

import pytest

from kiosk.central.charts import heat_strip, sparkline
from kiosk.core.measures import distance_band
from kiosk.central.totals import Totals, totals_from_columns, totals_from_wire, totals_to_columns

from .helpers import TODAY, aggregate, hour

K = 5


def _totals(**kw: object) -> Totals:
    a = aggregate("s", "d", hour(TODAY, 9), **kw)  # type: ignore[arg-type]
    return totals_from_wire(interactions=a["interactions"], greeted=a["greeted"], abandoned=a["abandoned"],
                            ratings=list(a["ratings"].values()),
                            measures={k: a[k] for k in ("greeting_s", "wait_s", "eye_contact_ratio", "distance_m_median")},
                            within_target=a["within_target"])


def test_empty_totals_have_no_figures_not_zeros() -> None:
    figures = Totals().figures("greeting_prompt", K)
    assert set(figures.values()) == {None}


def test_withheld_percentiles_add_nothing() -> None:
    t = _totals(wait=None)
    assert t.measure_sums["wait_s"]["n"] == 0
    assert t.stat("wait_s", "p90", K) is None


def test_criterion_with_withheld_met_is_left_out() -> None:
    a = aggregate("s", "d", hour(TODAY, 9))
    a["within_target"] = {"greeting_prompt": {"n": 3, "met": None}, "wait_time": {"n": 10, "met": 4}}
    t = totals_from_wire(interactions=10, greeted=9, abandoned=1, ratings=[0, 0, 0, 0], measures={},
                         within_target=a["within_target"])
    assert t.criteria == {"wait_time": [10, 4]}
    assert t.criterion_share("greeting_prompt", K) is None


def test_adding_pools_percentiles_by_count() -> None:
    t = _totals(interactions=10, greeted=10, greeting=(2.0, 4.0))
    t.add(_totals(interactions=30, greeted=30, greeting=(6.0, 12.0)))
    assert t.stat("greeting_s", "p50", K) == pytest.approx(5.0)
    assert t.interactions == 40 and t.rows == 2


def test_columns_round_trip() -> None:
    t = _totals()
    back = totals_from_columns(totals_to_columns(t), t.criteria)
    assert back.figures("greeting_prompt", K) == t.figures("greeting_prompt", K)


def test_no_figure_from_fewer_than_k_interactions() -> None:
    figures = _totals(interactions=4, greeted=4).figures("greeting_prompt", K)
    assert set(figures.values()) == {None}


def test_no_percentile_from_fewer_than_k_values() -> None:
    t = _totals(interactions=10, abandoned=7)  # wait_s of n=3, as a row from before the rule could hold
    assert t.stat("wait_s", "p90", K) is None and t.stat("greeting_s", "p90", K) is not None


def test_no_rating_mean_from_fewer_than_k_ratings() -> None:
    figures = _totals(ratings=(0, 1, 1, 2)).figures("greeting_prompt", K)
    assert figures["rating_mean"] is None and figures["low_rating_share"] is None and figures["ratings_n"] == 4


@pytest.mark.parametrize("distance, band", [(0.5, "intimate"), (0.75, "personal"), (1.19, "personal"), (2.0, "social"),
                                            (3.6, "public"), (None, None)])
def test_distance_band_edges(distance: float | None, band: str | None) -> None:
    assert distance_band(distance, (0.75, 1.2, 3.6)) == band


def test_heat_strip_hatches_hours_without_rows() -> None:
    svg = str(heat_strip([None] * 9 + [12] + [None] * 14))
    assert svg.count('fill="url(#nodata)"') == 23
    assert 'data-hour="9" data-value="12"' in svg


def test_sparkline_without_data_says_so() -> None:
    assert "(no data)" in str(sparkline([None, None], "wait"))


@pytest.mark.parametrize("start, end, weeks", [
    ("2025-03-10", "2025-03-16", ("2025-03-10", "2025-03-10")),   # Monday..Sunday: one whole week
    ("2025-03-11", "2025-03-16", None),                           # starts on a Tuesday: no whole week
    ("2025-03-05", "2025-03-26", ("2025-03-10", "2025-03-17")),   # Wednesday..Wednesday: two inside
    ("2025-03-10", "2025-03-10", None),
])
def test_whole_weeks_of_a_range(start: str, end: str, weeks: tuple[str, str] | None) -> None:
    import datetime as dt

    from kiosk.central.reports.common import whole_weeks

    got = whole_weeks(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    assert got == (None if weeks is None else tuple(dt.date.fromisoformat(w) for w in weeks))
