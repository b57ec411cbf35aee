"""What ingest refuses although the wire model accepts it: groups under k (the terminal's privacy rule, enforced
again by the server) and periods that are unfinished, in the future or past retention. Each is a 422 naming the
rule, and nothing of the batch is stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kiosk.settings.central import CentralSettings

from .helpers import NOW, TODAY, Org, aggregate, auth, batch, hour, login, stats

URL = "/api/v1/aggregates"


@pytest.fixture
def strict(settings: CentralSettings, make_app: Callable[[CentralSettings], FastAPI], org: Org) -> Iterator[TestClient]:
    """The app with the default clock skew (the shared fixture allows a day so tests can post 'today')."""
    app = make_app(settings.model_copy(update={"clock_skew_s": CentralSettings().clock_skew_s}))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c
    app.state.engine.dispose()


def _send(c: TestClient, org: Org, row: dict[str, Any]) -> Any:
    return c.post(URL, json=batch("d-n2", [row]), headers=auth(org.tokens["d-n2"]))


def _stored(c: TestClient) -> int | None:
    login(c, "admin")
    days = [TODAY - dt.timedelta(days=d) for d in range(3)]
    return sum(c.get("/api/v1/stores/n2/daily", params={"date": d.isoformat()}).json()["figures"]["interactions"] or 0
               for d in days) or None


def test_row_under_k_is_refused_naming_the_rule(client: TestClient, org: Org) -> None:
    r = _send(client, org, aggregate("n2", "d-n2", hour(TODAY, 9), interactions=2, greeting=None, wait=None, eye=None,
                                     distance=None, met={"greeting_prompt": 1}))
    assert r.status_code == 422
    assert "privacy.min_group_size" in r.json()["detail"] and "k=5" in r.json()["detail"]
    assert _stored(client) is None


def test_percentiles_of_one_person_are_refused(client: TestClient, org: Org) -> None:
    row = aggregate("n2", "d-n2", hour(TODAY, 9), interactions=10)
    row["greeting_s"] = stats(1, 3.0, 3.0)
    r = _send(client, org, row)
    assert r.status_code == 422
    assert "greeting_s" in r.json()["detail"] and "privacy.min_group_size" in r.json()["detail"]


def test_criterion_judged_on_one_person_is_refused(client: TestClient, org: Org) -> None:
    row = aggregate("n2", "d-n2", hour(TODAY, 9), interactions=10)
    row["within_target"] = {"greeting_prompt": {"n": 1, "met": 1}}
    r = _send(client, org, row)
    assert r.status_code == 422
    assert "within_target.greeting_prompt" in r.json()["detail"]


def test_criterion_under_k_with_met_withheld_is_accepted(client: TestClient, org: Org) -> None:
    row = aggregate("n2", "d-n2", hour(TODAY, 9), interactions=10)
    row["within_target"] = {"greeting_prompt": {"n": 1, "met": None}}
    assert _send(client, org, row).status_code == 200


def test_k_is_the_setting(settings: CentralSettings, make_app: Callable[[CentralSettings], FastAPI], org: Org) -> None:
    app = make_app(settings.model_copy(update={"min_group_size": 12}))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        r = _send(c, org, aggregate("n2", "d-n2", hour(TODAY, 9), interactions=10))
    assert r.status_code == 422 and "k=12" in r.json()["detail"]


@pytest.mark.parametrize("start", [
    NOW + dt.timedelta(days=2),                      # an hour two days ahead
    dt.datetime(2099, 6, 1, 9, tzinfo=dt.UTC),       # an hour in 2099
    NOW,                                             # the current, unfinished hour
    dt.datetime(9999, 12, 31, 23, tzinfo=dt.UTC),    # the last hour of the calendar
], ids=["two-days-ahead", "2099", "current-hour", "year-9999"])
def test_unfinished_or_future_hour_is_refused(strict: TestClient, org: Org, start: dt.datetime) -> None:
    r = _send(strict, org, aggregate("n2", "d-n2", start))
    assert r.status_code == 422
    assert "central.clock_skew_s" in r.json()["detail"]
    assert _stored(strict) is None


def test_todays_day_row_is_unfinished(strict: TestClient, org: Org) -> None:
    r = _send(strict, org, aggregate("n2", "d-n2", hour(TODAY, 0), period="day"))
    assert r.status_code == 422


def test_last_finished_hour_is_accepted(strict: TestClient, org: Org) -> None:
    assert _send(strict, org, aggregate("n2", "d-n2", NOW - dt.timedelta(hours=1))).status_code == 200


@pytest.mark.parametrize("start", [dt.datetime(1999, 3, 10, 9, tzinfo=dt.UTC), dt.datetime(1, 1, 1, tzinfo=dt.UTC)],
                         ids=["26-years-old", "year-1"])
def test_row_past_retention_is_refused(client: TestClient, org: Org, start: dt.datetime) -> None:
    r = _send(client, org, aggregate("n2", "d-n2", start))
    assert r.status_code == 422
    assert "central.max_age_days" in r.json()["detail"]


def test_reports_show_no_figure_from_fewer_than_k(settings: CentralSettings,
                                                  make_app: Callable[[CentralSettings], FastAPI], org: Org) -> None:
    # Rows accepted under k=5, read after k was raised to 12: nothing of the 10 may show.
    first = make_app(settings)
    with TestClient(first, base_url="http://127.0.0.1") as c:
        assert _send(c, org, aggregate("n2", "d-n2", hour(TODAY, 9), interactions=10)).status_code == 200
    first.state.engine.dispose()
    app = make_app(settings.model_copy(update={"min_group_size": 12}))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        login(c, "admin")
        day = c.get("/api/v1/stores/n2/daily", params={"date": TODAY.isoformat()}).json()
        row = next(s for s in c.get("/api/v1/regions/north/compare").json()["stores"] if s["store"]["id"] == "n2")
    assert set(day["figures"].values()) == {None} and day["criteria"] == []
    assert {h["interactions"] for h in day["hours"]} == {None}
    assert set(row["figures"].values()) == {None}
    app.state.engine.dispose()
