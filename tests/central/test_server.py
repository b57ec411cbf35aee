"""A real server on a loopback port: a terminal's sync over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import concurrent.futures
import uuid

import requests

from .conftest import LiveServer
from .helpers import PASSWORD, TODAY, Org, aggregate, auth, batch, hour


def test_batches_over_http_are_applied_once(live_server: LiveServer, org: Org) -> None:
    body = batch("d-n2", [aggregate("n2", "d-n2", hour(TODAY, h), interactions=10) for h in range(8, 20)])
    url = f"{live_server.url}/api/v1/aggregates"
    # The same batch sent three times at once, as a retrying terminal might: applied exactly once.
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: requests.post(url, json=body, headers=auth(org.tokens["d-n2"]), timeout=30), range(3)))
    assert sorted(r.json()["duplicate"] for r in results) == [False, True, True]
    s = requests.Session()
    s.post(f"{live_server.url}/api/v1/login", json={"username": "admin", "password": PASSWORD}, timeout=10)
    daily = s.get(f"{live_server.url}/api/v1/stores/n2/daily", params={"date": TODAY.isoformat()}, timeout=10).json()
    assert daily["figures"]["interactions"] == 120


def test_devices_syncing_concurrently_all_land(live_server: LiveServer, org: Org) -> None:
    def send(device_store: tuple[str, str]) -> int:
        device, store = device_store
        body = batch(device, [aggregate(store, device, hour(TODAY, h)) for h in range(24)], str(uuid.uuid4()))
        return requests.post(f"{live_server.url}/api/v1/aggregates", json=body, headers=auth(org.tokens[device]), timeout=30).status_code

    pairs = [("d-n1", "n1"), ("d-n2", "n2"), ("d-n3", "n3"), ("d-s1", "s1")]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert list(pool.map(send, pairs)) == [200, 200, 200, 200]
