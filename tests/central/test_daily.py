"""GET /api/v1/stores/{id}/daily: the manager's day, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from .helpers import TODAY, Org, aggregate, hour, login, post

YESTERDAY = TODAY - dt.timedelta(days=1)


def _daily(client: TestClient, store: str = "n2", day: dt.date = TODAY) -> dict:  # type: ignore[type-arg]
    r = client.get(f"/api/v1/stores/{store}/daily", params={"date": day.isoformat()})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_day_total_is_hour_rows_plus_day_remainder(client: TestClient, org: Org) -> None:
    post(client, org, "d-n2", [
        aggregate("n2", "d-n2", hour(TODAY, 9), interactions=10),
        aggregate("n2", "d-n2", hour(TODAY, 10), interactions=20, greeted=18),
        aggregate("n2", "d-n2", hour(TODAY, 0), period="day", interactions=6, greeted=5),
    ])
    login(client, "admin")
    s = _daily(client)
    assert s["figures"]["interactions"] == 36
    assert s["merged_interactions"] == 6


def test_hour_strip_shows_hourly_rows_and_leaves_merged_hours_empty(client: TestClient, org: Org) -> None:
    post(client, org, "d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9), interactions=10),
                               aggregate("n2", "d-n2", hour(TODAY, 0), period="day", interactions=6)])
    login(client, "admin")
    hours = {h["hour"]: h["interactions"] for h in _daily(client)["hours"]}
    assert hours[9] == 10
    assert hours[0] is None and hours[14] is None


def test_hour_strip_is_in_store_local_time(client: TestClient, org: Org) -> None:
    post(client, org, "d-n1", [aggregate("n1", "d-n1", hour(TODAY, 9), interactions=10)])
    login(client, "admin")
    hours = {h["hour"]: h["interactions"] for h in _daily(client, "n1")["hours"]}
    assert hours[10] == 10  # Berlin is UTC+1 in early March


def test_percentiles_pool_weighted_by_count(client: TestClient, org: Org) -> None:
    post(client, org, "d-n2", [
        aggregate("n2", "d-n2", hour(TODAY, 9), interactions=10, greeted=10, greeting=(4.0, 8.0)),
        aggregate("n2", "d-n2", hour(TODAY, 10), interactions=30, greeted=30, greeting=(8.0, 16.0)),
    ])
    login(client, "admin")
    f = _daily(client)["figures"]
    assert f["greeting_p50_s"] == pytest.approx(7.0)
    assert f["greeting_p90_s"] == pytest.approx(14.0)


def test_withheld_percentiles_do_not_count_as_zero(client: TestClient, org: Org) -> None:
    post(client, org, "d-n2", [
        aggregate("n2", "d-n2", hour(TODAY, 9), interactions=10, wait=(30.0, 90.0)),
        aggregate("n2", "d-n2", hour(TODAY, 10), interactions=10, abandoned=7, wait=None, eye=None, distance=None),  # n=3 < k: withheld
    ])
    login(client, "admin")
    assert _daily(client)["figures"]["wait_p90_s"] == pytest.approx(90.0)


def test_share_greeted_within_target_uses_greeting_criterion(client: TestClient, org: Org) -> None:
    post(client, org, "d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9), interactions=10, met={"greeting_prompt": 6})])
    login(client, "admin")
    s = _daily(client)
    assert s["figures"]["greeted_within_target_share"] == pytest.approx(0.6)
    assert s["criteria"] == [{"criterion": "greeting_prompt", "n": 10, "met": 6, "share": pytest.approx(0.6)}]


def test_rating_faces_are_counted(client: TestClient, org: Org) -> None:
    post(client, org, "d-n2", [aggregate("n2", "d-n2", hour(TODAY, h), ratings=(1, 0, 2, 5)) for h in (9, 10)])
    login(client, "admin")
    s = _daily(client)
    assert s["ratings"] == {"1": 2, "2": 0, "3": 4, "4": 10}
    assert s["figures"]["low_rating_share"] == pytest.approx(2 / 16)


def test_distance_band_of_the_median(client: TestClient, org: Org) -> None:
    post(client, org, "d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9), distance=(1.0, 1.6))])
    login(client, "admin")
    assert _daily(client)["distance_band"] == "personal"


def test_change_is_against_previous_seven_days(client: TestClient, org: Org) -> None:
    post(client, org, "d-n2", [aggregate("n2", "d-n2", hour(YESTERDAY, 9), wait=(20.0, 60.0)),
                               aggregate("n2", "d-n2", hour(TODAY - dt.timedelta(days=8), 9), wait=(20.0, 600.0)),
                               aggregate("n2", "d-n2", hour(TODAY, 9), wait=(20.0, 90.0))])
    login(client, "admin")
    s = _daily(client)
    # The day 8 days back is outside the window, so only yesterday's 60 s is the baseline.
    assert s["previous_7_days"]["wait_p90_s"] == pytest.approx(60.0)
    assert s["change"]["wait_p90_s"] == pytest.approx(30.0)


def test_day_without_rows_is_no_data_not_zero(client: TestClient, org: Org) -> None:
    login(client, "admin")
    s = _daily(client)
    assert s["status"] == "no_data"
    assert s["figures"]["interactions"] is None
    assert s["figures"]["greeted_share"] is None


def test_device_that_never_synced_is_silent(client: TestClient, org: Org) -> None:
    login(client, "admin")
    [device] = _daily(client, "n3")["devices"]
    assert (device["id"], device["last_seen_at"], device["silent"]) == ("d-n3", None, True)


def test_date_defaults_to_store_local_today(client: TestClient, org: Org) -> None:
    login(client, "admin")
    r = client.get("/api/v1/stores/n1/daily")
    assert r.json()["date"] == TODAY.isoformat()


def test_invalid_date_is_422(client: TestClient, org: Org) -> None:
    login(client, "admin")
    assert client.get("/api/v1/stores/n1/daily?date=2025-02-30").status_code == 422
