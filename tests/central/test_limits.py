"""The ingest edge: a size cap and a per-device rate limit (stepped clock, no sleeping)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kiosk.central.limits import RateLimiter
from kiosk.settings.central import CentralSettings

from .helpers import TODAY, Org, aggregate, auth, batch, hour

URL = "/api/v1/aggregates"
AppMaker = Callable[[CentralSettings], FastAPI]


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the limits live in the app, not the database


def test_body_over_limit_is_413(settings: CentralSettings, make_app: AppMaker, org: Org) -> None:
    app = make_app(settings.model_copy(update={"max_body_bytes": 4096}))
    with TestClient(app) as c:
        body = batch("d-n2", [aggregate("n2", "d-n2", hour(TODAY, h)) for h in range(24)])
        r = c.post(URL, json=body, headers=auth(org.tokens["d-n2"]))
    assert r.status_code == 413


def test_chunked_body_over_limit_is_413(settings: CentralSettings, make_app: AppMaker, org: Org) -> None:
    app = make_app(settings.model_copy(update={"max_body_bytes": 4096}))

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b" " * 1000  # no Content-Length: only counting the stream can catch it

    with TestClient(app) as c:
        r = c.post(URL, content=chunks(), headers={**auth(org.tokens["d-n2"]), "content-type": "application/json"})
    assert r.status_code == 413


def test_device_over_rate_gets_429_with_retry_after(settings: CentralSettings, make_app: AppMaker, org: Org) -> None:
    app = make_app(settings.model_copy(update={"ingest_burst": 2, "ingest_per_minute": 6}))
    with TestClient(app) as c:
        codes = [
            c.post(URL, json=batch("d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9))]), headers=auth(org.tokens["d-n2"])).status_code
            for _ in range(3)
        ]
        last = c.post(URL, json=batch("d-n2", []), headers=auth(org.tokens["d-n2"]))
    assert codes == [200, 200, 429]
    assert int(last.headers["retry-after"]) >= 1


def test_rate_limit_is_per_device(settings: CentralSettings, make_app: AppMaker, org: Org) -> None:
    app = make_app(settings.model_copy(update={"ingest_burst": 1, "ingest_per_minute": 1}))
    with TestClient(app) as c:
        first = c.post(URL, json=batch("d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9))]), headers=auth(org.tokens["d-n2"]))
        other = c.post(URL, json=batch("d-n1", [aggregate("n1", "d-n1", hour(TODAY, 9))]), headers=auth(org.tokens["d-n1"]))
    assert (first.status_code, other.status_code) == (200, 200)


def test_rate_limiter_refills_with_time() -> None:
    t = [0.0]
    limiter = RateLimiter(per_minute=60, burst=1, clock=lambda: t[0])
    assert limiter.allow("a") == 0
    assert limiter.allow("a") == pytest.approx(1.0)
    t[0] = 1.0
    assert limiter.allow("a") == 0
