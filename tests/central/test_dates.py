"""Dates at the edges of the calendar: report queries far outside any data are a clear 422, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .helpers import Org, login

ABSURD_DAYS = ["0001-01-01", "0001-01-02", "9999-12-30", "9999-12-31"]
STORE_URLS = ["/api/v1/stores/n1/daily", "/api/v1/stores/n1/daily.csv", "/stores/n1"]
REGION_URLS = ["/api/v1/regions/north/compare", "/api/v1/regions/north/compare.csv", "/api/v1/regions/north/alerts",
               "/regions/north"]


@pytest.mark.parametrize("day", ABSURD_DAYS)
@pytest.mark.parametrize("url", STORE_URLS)
def test_absurd_store_day_is_422(client: TestClient, org: Org, url: str, day: str) -> None:
    login(client, "admin")
    r = client.get(url, params={"date": day})
    assert r.status_code == 422, r.text
    assert "date" in r.text and ("2000-01-01" in r.text or "2099-12-31" in r.text)


@pytest.mark.parametrize("param", ["to", "from"])
@pytest.mark.parametrize("url", REGION_URLS)
def test_absurd_region_range_is_422(client: TestClient, org: Org, url: str, param: str) -> None:
    login(client, "admin")
    r = client.get(url, params={param: "0001-01-01"})
    assert r.status_code == 422, r.text
    assert param in r.text


def test_api_refusal_is_json_naming_the_parameter(client: TestClient, org: Org) -> None:
    login(client, "admin")
    r = client.get("/api/v1/stores/n1/daily", params={"date": "9999-12-31"})
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["message"].startswith("query.date: ")


def test_page_refusal_is_html_with_security_headers(client: TestClient, org: Org) -> None:
    login(client, "admin")
    r = client.get("/stores/n1", params={"date": "0001-01-01"})
    assert r.headers["content-type"].startswith("text/html")
    assert 'data-testid="error" data-status="422"' in r.text and "query.date" in r.text
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_page_of_another_store_is_an_html_403(client: TestClient, org: Org) -> None:
    login(client, "mgr-s1")
    r = client.get("/stores/n1")
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
