"""Plain builders for the central tests: an organisation and aggregates in the wire shape of kiosk.wire.aggregate."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from kiosk.central import crud

# Monday noon UTC: "today" for every test unless it moves the clock.
NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
PASSWORD = "correct horse battery"


@dataclass
class Org:
    """Two regions: north (n1 in Berlin, n2 in UTC, n3 without data) and south (s1). Tokens by device id."""

    tokens: dict[str, str] = field(default_factory=dict)


def seed_org(session: Session) -> Org:
    o = Org()
    crud.create_region(session, "north", "North")
    crud.create_region(session, "south", "South")
    crud.create_store(session, "n1", "north", "Nordhafen", "Europe/Berlin")
    crud.create_store(session, "n2", "north", "Neustadt")
    crud.create_store(session, "n3", "north", "Nebenweg")
    crud.create_store(session, "s1", "south", "Südtor")
    for device_id, store_id in (("d-n1", "n1"), ("d-n2", "n2"), ("d-n3", "n3"), ("d-s1", "s1")):
        o.tokens[device_id] = crud.create_device(session, device_id, store_id)[1]
    crud.create_user(session, "admin", PASSWORD, "admin")
    crud.create_user(session, "mgr-n1", PASSWORD, "manager", store_id="n1")
    crud.create_user(session, "mgr-s1", PASSWORD, "manager", store_id="s1")
    crud.create_user(session, "reg-north", PASSWORD, "regional", region_ids=["north"])
    return o


def stats(n: int, p50: float | None, p90: float | None, mean: float | None = None) -> dict[str, Any]:
    if p50 is None:
        return {"n": n, "p50": None, "p90": None, "mean": None}
    return {"n": n, "p50": p50, "p90": p90, "mean": p50 if mean is None else mean}


def aggregate(
    store_id: str,
    device_id: str,
    period_start: dt.datetime,
    *,
    period: str = "hour",
    interactions: int = 10,
    greeted: int | None = None,
    abandoned: int = 1,
    ratings: tuple[int, int, int, int] = (0, 1, 3, 4),
    greeting: tuple[float, float] | None = (4.0, 9.0),
    wait: tuple[float, float] | None = (20.0, 60.0),
    eye: float | None = 0.5,
    distance: tuple[float, float] | None = (1.0, 1.4),
    met: dict[str, int] | None = None,
) -> dict[str, Any]:
    """One aggregate as JSON (kiosk.wire.aggregate.Aggregate's shape); percentiles given as (p50, p90)."""
    greeted = interactions * 9 // 10 if greeted is None else greeted
    met = {"greeting_prompt": interactions * 8 // 10, "wait_time": interactions * 7 // 10} if met is None else met
    return {
        "store_id": store_id,
        "device_id": device_id,
        "period": period,
        "period_start": period_start.isoformat().replace("+00:00", "Z"),
        "interactions": interactions,
        "greeted": greeted,
        "abandoned": abandoned,
        "ratings": {str(i + 1): c for i, c in enumerate(ratings)},
        "greeting_s": stats(greeted, *greeting) if greeting else stats(greeted, None, None),
        "wait_s": stats(interactions - abandoned, *wait) if wait else stats(0, None, None),
        "eye_contact_ratio": stats(interactions - abandoned, eye, min(1.0, eye + 0.2)) if eye is not None else stats(0, None, None),
        "distance_m_median": stats(interactions - abandoned, *distance) if distance else stats(0, None, None),
        "within_target": {c: {"n": interactions, "met": v} for c, v in met.items()},
    }


def batch(device_id: str, aggregates: list[dict[str, Any]], batch_id: str | None = None) -> dict[str, Any]:
    return {"device_id": device_id, "batch_id": batch_id or str(uuid.uuid4()), "aggregates": aggregates}


def hour(day: dt.date, h: int) -> dt.datetime:
    """UTC hour ``h`` of ``day``."""
    return dt.datetime(day.year, day.month, day.day, h, tzinfo=dt.UTC)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client: Any, username: str) -> None:
    r = client.post("/api/v1/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text


def post(client: Any, org: Org, device_id: str, aggregates: list[dict[str, Any]]) -> None:
    r = client.post("/api/v1/aggregates", json=batch(device_id, aggregates), headers=auth(org.tokens[device_id]))
    assert r.status_code == 200, r.text
