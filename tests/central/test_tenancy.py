"""Who may read what: a manager their store, regional staff their regions, an admin everything; refused in
deps.py for the API and the pages alike."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .helpers import Org, login


@pytest.mark.parametrize("user, path, code", [
    ("mgr-n1", "/api/v1/stores/n1/daily", 200),
    ("mgr-n1", "/api/v1/stores/s1/daily", 403),
    ("mgr-n1", "/api/v1/stores/n2/daily.csv", 403),
    ("mgr-n1", "/api/v1/stores/nowhere/daily", 403),
    ("mgr-n1", "/api/v1/regions/north/compare", 403),
    ("mgr-n1", "/api/v1/regions/north/alerts", 403),
    ("reg-north", "/api/v1/stores/n2/daily", 200),
    ("reg-north", "/api/v1/stores/s1/daily", 403),
    ("reg-north", "/api/v1/regions/north/compare", 200),
    ("reg-north", "/api/v1/regions/south/compare.csv", 403),
    ("admin", "/api/v1/regions/south/compare", 200),
    ("admin", "/api/v1/stores/nowhere/daily", 404),
], ids=lambda v: str(v))
def test_api_access(client: TestClient, org: Org, user: str, path: str, code: int) -> None:
    login(client, user)
    assert client.get(path).status_code == code


@pytest.mark.parametrize("path", ["/api/v1/stores/n1/daily", "/api/v1/regions/north/compare", "/api/v1/me"])
def test_api_without_session_is_401(client: TestClient, org: Org, path: str) -> None:
    assert client.get(path).status_code == 401


def test_manager_lists_only_their_store(client: TestClient, org: Org) -> None:
    login(client, "mgr-n1")
    assert [s["id"] for s in client.get("/api/v1/stores").json()] == ["n1"]
    assert client.get("/api/v1/regions").json() == []


def test_regional_user_lists_their_region_stores(client: TestClient, org: Org) -> None:
    login(client, "reg-north")
    assert [s["id"] for s in client.get("/api/v1/stores").json()] == ["n1", "n2", "n3"]


@pytest.mark.parametrize("user, path, code", [
    ("mgr-n1", "/stores/n1", 200),
    ("mgr-n1", "/stores/s1", 403),
    ("mgr-n1", "/regions/north", 403),
    ("reg-north", "/regions/north", 200),
    ("reg-north", "/regions/south", 403),
], ids=lambda v: str(v))
def test_page_access(client: TestClient, org: Org, user: str, path: str, code: int) -> None:
    login(client, user)
    assert client.get(path).status_code == code


def test_page_without_session_redirects_to_login(client: TestClient, org: Org) -> None:
    r = client.get("/stores/n1?date=2025-03-01", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fstores%2Fn1%3Fdate%3D2025-03-01"
