"""The weekly rollups kept at ingest: always the sum of their days, and range reports read them without changing
any figure (whole weeks from store_weeks, the days around them from store_days)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kiosk.central import models as m

from .helpers import TODAY, Org, aggregate, hour, login, post

DAYS = 40


def _history(client: TestClient, org: Org) -> dict[dt.date, int]:
    """One row a day for DAYS days before today, 5 + (day % 7) interactions; returns them by day."""
    sent: dict[dt.date, int] = {}
    rows = []
    for back in range(1, DAYS + 1):
        day = TODAY - dt.timedelta(days=back)
        sent[day] = 5 + back % 7
        rows.append(aggregate("n2", "d-n2", hour(day, 9), interactions=sent[day], greeted=5, abandoned=0))
    post(client, org, "d-n2", rows)
    return sent


@pytest.mark.parametrize("back_from, back_to", [(40, 1), (30, 3), (9, 3), (13, 7), (5, 5)])
def test_range_totals_match_the_days(client: TestClient, org: Org, back_from: int, back_to: int) -> None:
    sent = _history(client, org)
    start, end = TODAY - dt.timedelta(days=back_from), TODAY - dt.timedelta(days=back_to)
    login(client, "admin")
    c = client.get("/api/v1/regions/north/compare", params={"from": start.isoformat(), "to": end.isoformat()}).json()
    row = next(r for r in c["stores"] if r["store"]["id"] == "n2")
    assert row["figures"]["interactions"] == sum(v for d, v in sent.items() if start <= d <= end)
    assert sum(w["interactions"] for w in row["weekly"]) == row["figures"]["interactions"]


def test_week_rollup_follows_a_resent_day(client: TestClient, org: Org, app: FastAPI) -> None:
    sent = _history(client, org)
    day = TODAY - dt.timedelta(days=10)
    post(client, org, "d-n2", [aggregate("n2", "d-n2", hour(day, 9), interactions=50, greeted=5, abandoned=0)])
    sent[day] = 50
    with app.state.sessionmaker() as s:
        weeks = dict(s.execute(select(m.StoreWeek.week_start, m.StoreWeek.interactions)
                               .where(m.StoreWeek.store_id == "n2")).tuples().all())
        days = dict(s.execute(select(m.StoreDay.week_start, func.sum(m.StoreDay.interactions))
                              .where(m.StoreDay.store_id == "n2").group_by(m.StoreDay.week_start)).tuples().all())
        crit = s.scalar(select(func.sum(m.StoreWeekCriterion.n)).where(m.StoreWeekCriterion.criterion == "greeting_prompt"))
    assert weeks == days and sum(weeks.values()) == sum(sent.values()) == crit
