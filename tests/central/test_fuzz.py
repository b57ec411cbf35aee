"""Schemathesis against the app's own OpenAPI schema: no generated input makes the server answer 500.

Runs signed in (admin cookie) and with a valid device token, so generated requests get past authentication
and reach validation, the database and the reports, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

from kiosk.central.app import create_app
from kiosk.settings.central import CentralSettings

from .conftest import TEST_HOSTS
from .helpers import NOW, PASSWORD, seed_org

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")
from schemathesis.checks import not_a_server_error  # noqa: E402

MAX_EXAMPLES = 40


@pytest.fixture
def fuzz_app(db_url: str, tmp_path: Any) -> Iterator[FastAPI]:
    # A high burst: the rate limit answering 429 would hide everything behind it from the fuzzer.
    app = create_app(CentralSettings(db_url=db_url, data_dir=tmp_path, ingest_burst=100_000, trusted_hosts=TEST_HOSTS),
                     clock=lambda: NOW)
    with app.state.sessionmaker() as s:
        org = seed_org(s)
        s.commit()
    app.state.fuzz_token = org.tokens["d-n1"]
    yield app
    app.state.engine.dispose()


@pytest.fixture
def fuzz_schema(fuzz_app: FastAPI) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


@pytest.fixture
def fuzz_auth(fuzz_app: FastAPI) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    with TestClient(fuzz_app) as c:
        c.post("/api/v1/login", json={"username": "admin", "password": PASSWORD})
        cookie = c.cookies["kiosk_session"]
    return {"cookie": cookie, "token": fuzz_app.state.fuzz_token}


# Logging out would end the session the other cases run under (logout is tested in test_auth.py).
schema = schemathesis.pytest.from_fixture("fuzz_schema").exclude(path="/api/v1/logout")


def _aim_at_real_tenants(case: Any) -> None:
    """Point about half of the generated requests at the seeded store, region and device.

    Random ids only ever meet a 404 or 403; the real ones let the generated dates, sort keys, aggregate and
    heartbeat values reach the reports and the database. Which half is decided by the generated value itself, so a
    failing case still replays the same way.
    """
    params = case.path_parameters or {}
    for key, real in (("store_id", "n1"), ("region_id", "north")):
        if key in params and len(str(params[key])) % 2 == 0:
            params[key] = real
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("aggregates"), list) and len(body["aggregates"]) % 2 == 1:
        body["device_id"] = "d-n1"
        for a in body["aggregates"]:
            if isinstance(a, dict):
                a.update(store_id="n1", device_id="d-n1")
    # A heartbeat (it has a version): its generated clock, version and numbers reach the database.
    if isinstance(body, dict) and "version" in body and len(str(body["version"])) % 2 == 1:
        body["device_id"] = "d-n1"


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_makes_a_500(case: Any, fuzz_auth: dict[str, Any]) -> None:
    # Signed in and with a valid device token, so generated input gets past authentication (401s are tested
    # elsewhere); the fuzzer's own Authorization value would only ever be refused.
    _aim_at_real_tenants(case)
    headers = {**(case.headers or {}), "Authorization": f"Bearer {fuzz_auth['token']}",
               "Cookie": f"kiosk_session={fuzz_auth['cookie']}"}
    response = case.call(headers=headers)
    case.validate_response(response, checks=[not_a_server_error])
