"""``POST /api/v1/manager-calls``: a terminal's manager call is stored once, for the token's store, and only
what the wire model allows (store, device, times)."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi.testclient import TestClient

from kiosk.central import calls
from kiosk.central import models as m

from .helpers import NOW, Org, auth

URL = "/api/v1/manager-calls"


def body(device_id: str = "d-n1", call_id: str | None = None) -> dict[str, str]:
    return {"device_id": device_id, "call_id": call_id or str(uuid.uuid4()),
            "called_at": (NOW - dt.timedelta(seconds=2)).isoformat()}


def test_a_call_is_stored_for_the_devices_store_at_the_servers_time(client: TestClient, org: Org, app) -> None:
    r = client.post(URL, json=body(), headers=auth(org.tokens["d-n1"]))
    assert r.status_code == 201, r.text
    assert r.json()["store_id"] == "n1" and r.json()["duplicate"] is False
    with app.state.sessionmaker() as s:
        (row,) = calls.recent_calls(s, ["n1"], NOW, calls.OPEN_FOR)
        assert (row.device_id, row.received_at) == ("d-n1", NOW)


def test_a_retried_call_is_stored_once(client: TestClient, org: Org, app) -> None:
    b = body()
    first = client.post(URL, json=b, headers=auth(org.tokens["d-n1"]))
    again = client.post(URL, json=b, headers=auth(org.tokens["d-n1"]))
    assert (first.status_code, again.status_code, again.json()["duplicate"]) == (201, 200, True)
    with app.state.sessionmaker() as s:
        assert s.query(m.ManagerCall).count() == 1


def test_a_call_needs_the_devices_own_token_and_no_extra_fields(client: TestClient, org: Org) -> None:
    assert client.post(URL, json=body()).status_code == 401
    assert client.post(URL, json=body("d-n2"), headers=auth(org.tokens["d-n1"])).status_code == 403
    r = client.post(URL, json=body() | {"customer": "x"}, headers=auth(org.tokens["d-n1"]))
    assert r.status_code == 422 and "customer" in r.json()["message"]


def test_a_store_user_reads_its_calls_and_answers_and_no_one_elses(client: TestClient, org: Org) -> None:
    from .helpers import TODAY, aggregate, hour, login, post

    client.post(URL, json=body(), headers=auth(org.tokens["d-n1"]))
    post(client, org, "d-n1", [aggregate("n1", "d-n1", hour(TODAY, 9)) | {"reasons": {"quick": 3}}])
    login(client, "mgr-n1")
    (call,) = client.get("/api/v1/stores/n1/manager-calls").json()
    assert call["device_id"] == "d-n1"
    r = client.get("/api/v1/stores/n1/reasons", params={"from": str(TODAY), "to": str(TODAY)})
    assert r.json()["counts"] == {"quick": 3}
    assert client.get("/api/v1/stores/s1/manager-calls").status_code == 403
    assert client.get("/api/v1/stores/n1/reasons", params={"from": str(TODAY), "to": "2025-03-01"}).status_code == 422
