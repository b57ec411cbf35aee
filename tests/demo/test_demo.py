"""The demo, headless: what the dashboard shows is what the terminals measured."""

from __future__ import annotations

import pytest

from kiosk.demo.run import PLANS, run_demo
from kiosk.demo.real_people import real_people_interactions


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    lines: list[str] = []
    # The same flow as `make demo`: scripted scenes and real people through MediaPipe, synced to a real server.
    terminals, daily, compare, weeks = run_demo(tmp_path_factory.mktemp("demo") / "work", wait=False,
                                                say=lines.append, real_people=real_people_interactions)
    return terminals, daily, compare, "\n".join(lines), weeks


def test_every_store_reports_the_interactions_its_terminal_measured(demo):
    terminals, daily, _, _, _ = demo
    for plan in PLANS:
        t, fig = terminals[plan.store_id], daily[plan.store_id]["figures"]
        assert daily[plan.store_id]["status"] == "ok"
        assert fig["interactions"] == len(t.interactions) > 0
        assert fig["greeted_share"] == pytest.approx(t.greeted / len(t.interactions))
        assert fig["abandoned_share"] == pytest.approx(t.abandoned / len(t.interactions))


def test_ratings_on_the_dashboard_are_the_taps_the_terminals_stored(demo):
    terminals, daily, _, _, _ = demo
    for plan in PLANS:
        stored = terminals[plan.store_id].ratings
        assert daily[plan.store_id]["ratings"] == {str(k): v for k, v in stored.items()}


def test_stores_differ_as_their_scene_mixes_do(demo):
    terminals, daily, _, _, _ = demo
    bank, retail = daily["north-bank"]["figures"], daily["north-retail"]["figures"]
    assert bank["wait_p50_s"] > retail["wait_p50_s"]
    assert terminals["north-bank"].median("wait_s") > terminals["north-retail"].median("wait_s")


def test_regional_comparison_lists_all_three_stores(demo):
    _, _, compare, text, _ = demo
    assert sorted(r["store"]["id"] for r in compare["stores"]) == sorted(p.store_id for p in PLANS)
    assert "[5/5]" in text and "Region north" in text


def test_four_weeks_before_the_day_reach_the_dashboard_through_the_terminals_sync(demo):
    terminals, daily, _, text, weeks = demo
    by_store = {r["store"]["id"]: r for r in weeks["stores"]}
    for plan in PLANS:
        t = terminals[plan.store_id]
        day_n = daily[plan.store_id]["figures"]["interactions"]
        total = by_store[plan.store_id]["figures"]["interactions"]
        # Every simulated interaction of a day that reached k was aggregated and synced; small hours merged, not lost.
        assert day_n < total <= day_n + t.history_interactions
        assert total > 0.9 * (day_n + t.history_interactions)
        assert len(by_store[plan.store_id]["weekly"]) >= 4
    assert "with the back-filled weeks" in text
