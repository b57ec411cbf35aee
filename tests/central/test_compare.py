"""GET /api/v1/regions/{id}/compare and /alerts: stores side by side, ranked, trends, outliers, alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kiosk.central import crud
from kiosk.central.reports.compare import robust_z

from .helpers import TODAY, Org, aggregate, hour, login, post

WEEK_AGO = TODAY - dt.timedelta(days=7)


def _compare(client: TestClient, region: str = "north", **params: Any) -> dict[str, Any]:
    q = {"from": (TODAY - dt.timedelta(days=13)).isoformat(), "to": TODAY.isoformat(), **params}
    r = client.get(f"/api/v1/regions/{region}/compare", params=q)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _seed_north(client: TestClient, org: Org) -> None:
    post(client, org, "d-n1", [aggregate("n1", "d-n1", hour(TODAY, 9), wait=(20.0, 50.0)),
                               aggregate("n1", "d-n1", hour(WEEK_AGO, 9), wait=(20.0, 70.0))])
    post(client, org, "d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9), wait=(40.0, 120.0))])


def test_stores_are_listed_best_first_on_the_sort_figure(client: TestClient, org: Org) -> None:
    _seed_north(client, org)
    login(client, "reg-north")
    c = _compare(client, sort="wait_p90_s")
    assert [r["store"]["id"] for r in c["stores"]] == ["n1", "n2", "n3"]
    assert [r["rank"] for r in c["stores"]] == [1, 2, None]


def test_order_reverses_the_listing_but_not_the_rank(client: TestClient, org: Org) -> None:
    _seed_north(client, org)
    login(client, "reg-north")
    c = _compare(client, sort="wait_p90_s", order="desc")
    assert [(r["store"]["id"], r["rank"]) for r in c["stores"]] == [("n2", 2), ("n1", 1), ("n3", None)]


def test_store_without_data_is_no_data_not_zero(client: TestClient, org: Org) -> None:
    _seed_north(client, org)
    login(client, "reg-north")
    n3 = next(r for r in _compare(client)["stores"] if r["store"]["id"] == "n3")
    assert n3["status"] == "no_data"
    assert n3["figures"]["interactions"] is None and n3["rank"] is None


def test_range_sums_days_pooled(client: TestClient, org: Org) -> None:
    _seed_north(client, org)
    login(client, "reg-north")
    n1 = next(r for r in _compare(client)["stores"] if r["store"]["id"] == "n1")
    assert n1["figures"]["interactions"] == 20
    assert n1["figures"]["wait_p90_s"] == pytest.approx(60.0)


def test_weekly_trend_has_one_point_per_week_with_data(client: TestClient, org: Org) -> None:
    _seed_north(client, org)
    login(client, "reg-north")
    n1 = next(r for r in _compare(client)["stores"] if r["store"]["id"] == "n1")
    assert [(w["week_start"], w["wait_p90_s"]) for w in n1["weekly"]] == [
        ((TODAY - dt.timedelta(days=7)).isoformat(), 70.0),
        (TODAY.isoformat(), 50.0),  # TODAY is a Monday
    ]


def test_silent_device_raises_an_alert(client: TestClient, org: Org) -> None:
    _seed_north(client, org)
    login(client, "reg-north")
    c = _compare(client)
    assert {(a["store_id"], a["kind"]) for a in c["alerts"]} == {("n3", "silent_device")}
    assert next(r for r in c["stores"] if r["store"]["id"] == "n3")["silent_devices"] == ["d-n3"]


def test_low_ratings_and_long_wait_raise_alerts(client: TestClient, org: Org) -> None:
    post(client, org, "d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9), interactions=12, ratings=(6, 2, 2, 2),
                                         wait=(100.0, 400.0))])
    login(client, "reg-north")
    kinds = {a["kind"] for a in client.get("/api/v1/regions/north/alerts").json() if a["store_id"] == "n2"}
    assert kinds == {"low_ratings", "p90_wait"}


def test_few_ratings_raise_no_low_rating_alert(client: TestClient, org: Org) -> None:
    post(client, org, "d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9), ratings=(3, 0, 0, 0))])
    login(client, "reg-north")
    assert not [a for a in client.get("/api/v1/regions/north/alerts").json() if a["kind"] == "low_ratings"]


def test_outlier_store_is_flagged(client: TestClient, org: Org, app: FastAPI) -> None:
    with app.state.sessionmaker() as s:
        crud.create_region(s, "west")
        for i in range(5):
            crud.create_store(s, f"w{i}", "west")
            org.tokens[f"d-w{i}"] = crud.create_device(s, f"d-w{i}", f"w{i}")[1]
        s.commit()
    for i, p90 in enumerate([60.0, 62.0, 58.0, 61.0, 600.0]):
        post(client, org, f"d-w{i}", [aggregate(f"w{i}", f"d-w{i}", hour(TODAY, 9), wait=(30.0, p90))])
    login(client, "admin")
    flagged = {r["store"]["id"] for r in _compare(client, "west")["stores"] if "wait_p90_s" in r["outliers"]}
    assert flagged == {"w4"}


def test_unknown_sort_figure_is_422(client: TestClient, org: Org) -> None:
    login(client, "reg-north")
    r = client.get("/api/v1/regions/north/compare", params={"sort": "staff_name"})
    assert r.status_code == 422


def test_range_with_end_before_start_is_422(client: TestClient, org: Org) -> None:
    login(client, "reg-north")
    r = client.get("/api/v1/regions/north/compare", params={"from": "2025-03-10", "to": "2025-03-01"})
    assert r.status_code == 422
    assert "before" in r.json()["detail"]


@pytest.mark.parametrize("values, expected", [
    ([1.0, 1.0, 1.0, 1.0], [None] * 4),
    ([1.0, 2.0, 3.0, 4.0, 100.0], [-1.349, -0.6745, 0.0, 0.6745, 65.4265]),
], ids=["no spread", "one far value"])
def test_robust_z(values: list[float], expected: list[float | None]) -> None:
    got = robust_z(values)
    assert [None if g is None else round(g, 4) for g in got] == expected
