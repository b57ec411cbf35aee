"""Guessing is braked: wrong passwords per account and per client address, unknown device tokens per address,
and at most a few password hashes at once. Each refusal is a 429 with Retry-After (the clock is stepped)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kiosk.settings.central import CentralSettings, ThrottleSettings
from kiosk.central.throttle import Busy, FailureThrottle, HashGate

from .conftest import Clock
from .helpers import PASSWORD, TODAY, Org, aggregate, auth, batch, hour

FREE = ThrottleSettings().account_free_failures


def _login(c: TestClient, user: str, password: str) -> int:
    return c.post("/api/v1/login", json={"username": user, "password": password}).status_code


def test_wrong_passwords_for_one_account_get_429_with_retry_after(client: TestClient, org: Org) -> None:
    codes = [_login(client, "mgr-n1", "wrong password") for _ in range(FREE + 1)]
    assert codes == [401] * FREE + [429]
    r = client.post("/api/v1/login", json={"username": "mgr-n1", "password": "wrong password"})
    assert int(r.headers["retry-after"]) >= 1


def test_locked_account_refuses_even_the_right_password(client: TestClient, org: Org) -> None:
    for _ in range(FREE):
        _login(client, "mgr-n1", "wrong password")
    assert _login(client, "mgr-n1", PASSWORD) == 429


def test_lock_out_ends_after_retry_after(client: TestClient, org: Org, clock: Clock) -> None:
    for _ in range(FREE):
        _login(client, "mgr-n1", "wrong password")
    wait = int(client.post("/api/v1/login", json={"username": "mgr-n1", "password": PASSWORD}).headers["retry-after"])
    clock.mono += wait
    assert _login(client, "mgr-n1", PASSWORD) == 200


def test_lock_outs_grow_with_each_further_failure(client: TestClient, org: Org, clock: Clock) -> None:
    waits = []
    for _ in range(FREE):
        _login(client, "mgr-n1", "wrong password")
    for _ in range(3):
        r = client.post("/api/v1/login", json={"username": "mgr-n1", "password": "wrong password"})
        waits.append(int(r.headers["retry-after"]))
        clock.mono += waits[-1]
        _login(client, "mgr-n1", "wrong password")
    assert waits[0] < waits[1] < waits[2]


def test_other_accounts_are_not_locked_by_one(client: TestClient, org: Org) -> None:
    for _ in range(FREE + 1):
        _login(client, "mgr-n1", "wrong password")
    assert _login(client, "mgr-s1", PASSWORD) == 200


def test_one_client_guessing_many_accounts_is_locked_out(client: TestClient, org: Org) -> None:
    per_client = ThrottleSettings().client_free_failures
    codes = [_login(client, f"user{i}", "wrong password") for i in range(per_client + 1)]
    assert codes[:per_client] == [401] * per_client and codes[-1] == 429


def test_login_form_is_throttled_too(client: TestClient, org: Org) -> None:
    for _ in range(FREE):
        client.post("/login", data={"username": "mgr-n1", "password": "wrong password"})
    r = client.post("/login", data={"username": "mgr-n1", "password": PASSWORD})
    assert r.status_code == 429 and "retry-after" in r.headers
    assert r.headers["content-type"].startswith("text/html")


def test_guessed_device_tokens_get_429(client: TestClient, org: Org) -> None:
    free = ThrottleSettings().token_free_failures
    body = batch("d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9))])
    codes = [client.post("/api/v1/aggregates", json=body, headers=auth(f"guess-{i}")).status_code for i in range(free + 1)]
    assert codes == [401] * free + [429]
    last = client.post("/api/v1/heartbeat", json={}, headers=auth("guess-x"))
    assert last.status_code == 429 and int(last.headers["retry-after"]) >= 1


def test_password_hashes_wait_for_a_free_slot(settings: CentralSettings, make_app: Callable[[CentralSettings], FastAPI],
                                             org: Org) -> None:
    app = make_app(settings)
    app.state.hash_gate = HashGate(1, wait_s=0.05)
    with app.state.hash_gate.slot(), TestClient(app, base_url="http://127.0.0.1") as c:
        r = c.post("/api/v1/login", json={"username": "mgr-n1", "password": PASSWORD})
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    app.state.engine.dispose()


def test_hash_gate_admits_only_its_slots() -> None:
    gate = HashGate(2, wait_s=0.01)
    with gate.slot(), gate.slot():
        with pytest.raises(Busy):
            with gate.slot():
                pass


def test_failures_are_forgotten_after_a_quiet_spell() -> None:
    t = [0.0]
    throttle = FailureThrottle(free_failures=1, backoff_s=1, max_backoff_s=10, clock=lambda: t[0])
    throttle.failed("a")
    assert throttle.wait_s("a") == 1.0
    t[0] = 11.0
    assert throttle.wait_s("a") == 0 and throttle.failed("a") == 1.0


def test_throttle_memory_is_bounded() -> None:
    throttle = FailureThrottle(free_failures=5, backoff_s=1, max_backoff_s=10, clock=lambda: 0.0, max_keys=100)
    for i in range(1000):
        throttle.failed(f"user{i}")
    assert len(throttle._records) <= 100
