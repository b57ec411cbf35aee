"""POST /api/v1/aggregates on SQLite and PostgreSQL: applied once, validated, only for the device's own store."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kiosk.central import models as m

from .helpers import TODAY, Org, aggregate, auth, batch, hour

URL = "/api/v1/aggregates"


def _count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.state.sessionmaker() as s:
        return int(s.scalar(select(func.count()).select_from(model)))


def test_batch_is_applied_and_acknowledged(client: TestClient, org: Org) -> None:
    body = batch("d-n2", [aggregate("n2", "d-n2", hour(TODAY, h)) for h in (9, 10)])
    r = client.post(URL, json=body, headers=auth(org.tokens["d-n2"]))
    assert r.status_code == 200, r.text
    assert r.json() == {"batch_id": body["batch_id"], "accepted": 2, "duplicate": False}


def test_repeated_batch_id_is_a_no_op(client: TestClient, org: Org, app) -> None:  # type: ignore[no-untyped-def]
    body = batch("d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9))])
    client.post(URL, json=body, headers=auth(org.tokens["d-n2"]))
    again = client.post(URL, json=body, headers=auth(org.tokens["d-n2"]))
    assert again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["accepted"] == 0
    assert _count(app, m.Aggregate) == 1


def test_resent_hour_replaces_instead_of_adding(client: TestClient, org: Org) -> None:
    t = auth(org.tokens["d-n2"])
    client.post(URL, json=batch("d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9), interactions=10)]), headers=t)
    client.post(URL, json=batch("d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9), interactions=12)]), headers=t)
    daily = client.get(f"/api/v1/stores/n2/daily?date={TODAY}", headers=t)
    # Read as admin below; the device token is not a user session, so this one is refused.
    assert daily.status_code == 401
    client.post("/api/v1/login", json={"username": "admin", "password": "correct horse battery"})
    assert client.get(f"/api/v1/stores/n2/daily?date={TODAY}").json()["figures"]["interactions"] == 12


def test_missing_token_is_401(client: TestClient, org: Org) -> None:
    r = client.post(URL, json=batch("d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9))]))
    assert r.status_code == 401


def test_unknown_token_is_401(client: TestClient, org: Org) -> None:
    r = client.post(URL, json=batch("d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9))]), headers=auth("not-a-token"))
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


def test_device_posting_for_another_store_is_403(client: TestClient, org: Org, app) -> None:  # type: ignore[no-untyped-def]
    body = batch("d-n2", [aggregate("s1", "d-n2", hour(TODAY, 9))])
    r = client.post(URL, json=body, headers=auth(org.tokens["d-n2"]))
    assert r.status_code == 403
    assert "belongs to store 'n2'" in r.json()["detail"]
    assert _count(app, m.Aggregate) == 0


def test_body_naming_another_device_is_403(client: TestClient, org: Org) -> None:
    body = batch("d-n1", [aggregate("n1", "d-n1", hour(TODAY, 9))])
    r = client.post(URL, json=body, headers=auth(org.tokens["d-n2"]))
    assert r.status_code == 403


def test_batch_id_of_another_device_is_409(client: TestClient, org: Org) -> None:
    first = batch("d-n1", [aggregate("n1", "d-n1", hour(TODAY, 9))])
    client.post(URL, json=first, headers=auth(org.tokens["d-n1"]))
    second = batch("d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9))], batch_id=first["batch_id"])
    assert client.post(URL, json=second, headers=auth(org.tokens["d-n2"])).status_code == 409


def test_invalid_field_gives_readable_422(client: TestClient, org: Org) -> None:
    bad = aggregate("n2", "d-n2", hour(TODAY, 9), interactions=10, greeted=12)
    r = client.post(URL, json=batch("d-n2", [bad]), headers=auth(org.tokens["d-n2"]))
    assert r.status_code == 422
    assert "aggregates[0]" in r.json()["message"]
    assert "greeted (12) exceeds interactions (10)" in r.json()["message"]


def test_period_start_off_the_hour_is_422(client: TestClient, org: Org) -> None:
    bad = aggregate("n2", "d-n2", hour(TODAY, 9) + dt.timedelta(minutes=30))
    r = client.post(URL, json=batch("d-n2", [bad]), headers=auth(org.tokens["d-n2"]))
    assert r.status_code == 422
    assert "on the hour" in r.json()["message"]


def test_unknown_field_is_422(client: TestClient, org: Org) -> None:
    bad = aggregate("n2", "d-n2", hour(TODAY, 9)) | {"track_id": 7}
    r = client.post(URL, json=batch("d-n2", [bad]), headers=auth(org.tokens["d-n2"]))
    assert r.status_code == 422
    assert "track_id" in r.json()["message"]


def test_malformed_json_is_422(client: TestClient, org: Org) -> None:
    r = client.post(URL, content=b"{not json", headers={**auth(org.tokens["d-n2"]), "content-type": "application/json"})
    assert r.status_code == 422


def test_revoked_device_is_401(client: TestClient, org: Org, app) -> None:  # type: ignore[no-untyped-def]
    with app.state.sessionmaker() as s:
        s.get(m.Device, "d-n2").revoked_at = dt.datetime.now(dt.UTC)
        s.commit()
    r = client.post(URL, json=batch("d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9))]), headers=auth(org.tokens["d-n2"]))
    assert r.status_code == 401


def test_ingest_marks_device_seen(client: TestClient, org: Org, app, clock) -> None:  # type: ignore[no-untyped-def]
    client.post(URL, json=batch("d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9))]), headers=auth(org.tokens["d-n2"]))
    with app.state.sessionmaker() as s:
        assert s.get(m.Device, "d-n2").last_seen_at == clock.now
