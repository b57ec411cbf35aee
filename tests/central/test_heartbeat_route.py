"""POST /api/v1/heartbeat on SQLite and PostgreSQL: recorded on the server's clock, only for the token's own
device, and shown as never / ok / stale in the daily summary, the comparison's alerts and the pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kiosk.settings.central import CentralSettings
from kiosk.wire.heartbeat import HeartbeatPayload

from .conftest import Clock
from .helpers import NOW, TODAY, Org, aggregate, auth, batch, hour, login

URL = "/api/v1/heartbeat"
STALE_AFTER_S = CentralSettings().heartbeat_stale_after_s
AppMaker = Callable[[CentralSettings], FastAPI]


def beat(device_id: str = "d-n2", **changes: Any) -> dict[str, Any]:
    """A heartbeat body as the terminal builds it (its own model), its clock 3 s behind the server's."""
    payload = HeartbeatPayload(
        device_id=device_id, sent_at=NOW - dt.timedelta(seconds=3), version="1.4.0", outbox_pending=2,
        last_sync_at=NOW - dt.timedelta(minutes=5), pipeline_fps=14.5,
    )
    return payload.model_dump(mode="json") | changes


def send(client: TestClient, org: Org, device_id: str = "d-n2", **changes: Any) -> Any:
    return client.post(URL, json=beat(device_id, **changes), headers=auth(org.tokens[device_id]))


def device(client: TestClient, store: str = "n2") -> dict[str, Any]:
    """The store's one device as the daily summary shows it (read as admin)."""
    login(client, "admin")
    r = client.get(f"/api/v1/stores/{store}/daily", params={"date": TODAY.isoformat()})
    assert r.status_code == 200, r.text
    [only] = r.json()["devices"]
    return only  # type: ignore[no-any-return]


# ---- the route ----------------------------------------------------------------------------------------------------

def test_heartbeat_is_acknowledged_with_the_server_time(client: TestClient, org: Org) -> None:
    r = send(client, org)
    assert r.status_code == 200, r.text
    assert r.json() == {"device_id": "d-n2", "received_at": "2025-03-10T12:00:00Z"}


def test_heartbeat_makes_the_device_ok(client: TestClient, org: Org) -> None:
    send(client, org)
    d = device(client)
    assert (d["status"], d["last_heartbeat_at"]) == ("ok", "2025-03-10T12:00:00Z")


def test_heartbeat_shows_what_the_terminal_reported(client: TestClient, org: Org) -> None:
    send(client, org)
    d = device(client)
    reported = {k: d[k] for k in ("software_version", "outbox_pending", "pipeline_fps", "clock_offset_s")}
    assert reported == {"software_version": "1.4.0", "outbox_pending": 2, "pipeline_fps": 14.5, "clock_offset_s": -3.0}


def test_device_without_heartbeat_is_never(client: TestClient, org: Org) -> None:
    assert device(client)["status"] == "never"


@pytest.mark.parametrize("case, silence_s, expected", [
    ("exactly the set time", STALE_AFTER_S, "ok"),
    ("a second past the set time", STALE_AFTER_S + 1, "stale"),
])
def test_heartbeat_marks_device_stale_after_the_set_time(
    client: TestClient, org: Org, clock: Clock, case: str, silence_s: int, expected: str
) -> None:
    send(client, org)
    clock.now = NOW + dt.timedelta(seconds=silence_s)
    assert device(client)["status"] == expected


def test_stale_time_is_the_setting(settings: CentralSettings, make_app: AppMaker, org: Org, clock: Clock) -> None:
    app = make_app(settings.model_copy(update={"heartbeat_stale_after_s": 60}))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        send(c, org)
        clock.now = NOW + dt.timedelta(seconds=61)
        assert device(c)["status"] == "stale"
    app.state.engine.dispose()


def test_later_heartbeat_makes_a_stale_device_ok_again(client: TestClient, org: Org, clock: Clock) -> None:
    send(client, org)
    clock.now = NOW + dt.timedelta(hours=2)
    send(client, org, sent_at=clock.now.isoformat())
    assert device(client)["status"] == "ok"


def test_heartbeat_is_not_a_sync(client: TestClient, org: Org) -> None:
    # "silent" is about aggregates reaching the server: a terminal that beats but cannot sync is still silent.
    send(client, org)
    d = device(client)
    assert (d["silent"], d["last_seen_at"]) == (True, None)


def test_heartbeat_naming_another_device_is_403(client: TestClient, org: Org) -> None:
    r = client.post(URL, json=beat("d-n1"), headers=auth(org.tokens["d-n2"]))
    assert r.status_code == 403
    assert device(client, "n1")["status"] == "never"


@pytest.mark.parametrize("case, headers", [
    ("no token", {}),
    ("unknown token", auth("not-a-token")),
])
def test_heartbeat_without_a_valid_token_is_401(client: TestClient, org: Org, case: str, headers: dict[str, str]) -> None:
    assert client.post(URL, json=beat(), headers=headers).status_code == 401


def test_extra_key_is_422_naming_it(client: TestClient, org: Org) -> None:
    r = send(client, org, customers_today=12)
    assert r.status_code == 422
    assert "customers_today" in r.json()["message"]


def test_version_with_control_characters_is_422(client: TestClient, org: Org) -> None:
    # PostgreSQL refuses NUL in text; the pages would show the rest.
    r = send(client, org, version="1.4\x00")
    assert r.status_code == 422
    assert "version" in r.json()["detail"]


def test_clock_at_the_calendar_edge_still_counts_as_a_beat(client: TestClient, org: Org) -> None:
    # Year 1 at UTC+5 has no UTC equivalent: the device clock is dropped, the beat is kept.
    assert send(client, org, sent_at="0001-01-01T00:00:00+05:00").status_code == 200
    d = device(client)
    assert (d["status"], d["clock_offset_s"]) == ("ok", None)


# ---- rate limit (the app, not the database) -----------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["sqlite"])
def test_heartbeats_over_the_rate_get_429(settings: CentralSettings, make_app: AppMaker, org: Org, backend: str) -> None:
    app = make_app(settings.model_copy(update={"ingest_burst": 1, "ingest_per_minute": 1}))
    with TestClient(app) as c:
        codes = [send(c, org).status_code for _ in range(2)]
    app.state.engine.dispose()
    assert codes == [200, 429]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_syncing_does_not_use_up_the_heartbeat(settings: CentralSettings, make_app: AppMaker, org: Org, backend: str) -> None:
    app = make_app(settings.model_copy(update={"ingest_burst": 1, "ingest_per_minute": 1}))
    with TestClient(app) as c:
        synced = c.post("/api/v1/aggregates", json=batch("d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9))]),
                        headers=auth(org.tokens["d-n2"]))
        beat_code = send(c, org).status_code
    app.state.engine.dispose()
    assert (synced.status_code, beat_code) == (200, 200)


# ---- where a stale device shows -----------------------------------------------------------------------------------

def test_stale_device_raises_an_alert(client: TestClient, org: Org, clock: Clock) -> None:
    send(client, org)
    clock.now = NOW + dt.timedelta(seconds=STALE_AFTER_S + 60)
    login(client, "reg-north")
    alerts = [a for a in client.get("/api/v1/regions/north/alerts").json() if a["kind"] == "stale_device"]
    assert [(a["store_id"], a["value"], a["threshold"]) for a in alerts] == [("n2", STALE_AFTER_S + 60, STALE_AFTER_S)]


def test_comparison_lists_stale_devices_per_store(client: TestClient, org: Org, clock: Clock) -> None:
    send(client, org)
    clock.now = NOW + dt.timedelta(hours=1)
    login(client, "reg-north")
    stores = client.get("/api/v1/regions/north/compare").json()["stores"]
    assert {r["store"]["id"]: r["stale_devices"] for r in stores} == {"n1": [], "n2": ["d-n2"], "n3": []}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_daily_page_shows_stale_badge_with_last_heartbeat(client: TestClient, org: Org, clock: Clock, backend: str) -> None:
    send(client, org)
    clock.now = NOW + dt.timedelta(hours=1)
    login(client, "admin")
    html = client.get("/stores/n2").text
    assert 'data-testid="stale-device">Device d-n2 stale: last heartbeat 2025-03-10 12:00 UTC<' in html


@pytest.mark.parametrize("backend", ["sqlite"])
def test_reported_version_is_escaped_on_the_daily_page(client: TestClient, org: Org, backend: str) -> None:
    send(client, org, version="<b>1.4</b>")
    login(client, "admin")
    html = client.get("/stores/n2").text
    assert "<b>1.4" not in html and "&lt;b&gt;1.4" in html
