"""The HTML pages render the same figures, with charts drawn inline (no script, nothing from outside)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from .helpers import TODAY, Org, aggregate, hour, login, post


@pytest.fixture
def backend() -> str:
    return "sqlite"  # rendering does not depend on the database; the API tests cover both


def test_daily_page_shows_figures_and_charts(client: TestClient, org: Org) -> None:
    post(client, org, "d-n1", [aggregate("n1", "d-n1", hour(TODAY, 9), interactions=10)])
    login(client, "mgr-n1")
    html = client.get("/stores/n1").text
    assert 'data-testid="store-name">Nordhafen<' in html
    assert re.search(r'data-figure="interactions" title="[^"]+">\s*<div class="k">Customers</div>\s*<div class="v ">10<', html)
    assert 'data-hour="10" data-value="10"' in html  # 09 UTC is 10 in Berlin
    assert html.count('class="bar" data-face=') == 4


def test_pages_load_nothing_from_outside(client: TestClient, org: Org) -> None:
    login(client, "reg-north")
    for path in ("/stores/n1", "/regions/north", "/login"):
        html = client.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', html), path
        assert "<script" not in html


def test_compare_page_marks_store_without_data(client: TestClient, org: Org) -> None:
    post(client, org, "d-n1", [aggregate("n1", "d-n1", hour(TODAY, 9))])
    login(client, "reg-north")
    html = client.get("/regions/north").text
    row = html[html.index('<tr class="no_data" data-store="n3"'):]
    assert 'data-testid="no-data"' in row[: row.index("</tr>")]


def test_store_names_are_escaped(client: TestClient, org: Org, app) -> None:  # type: ignore[no-untyped-def]
    from kiosk.central import models as m

    with app.state.sessionmaker() as s:
        s.get(m.Store, "n1").name = "<script>alert(1)</script>"
        s.commit()
    login(client, "mgr-n1")
    html = client.get("/stores/n1").text
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


def test_manager_home_goes_to_their_store(client: TestClient, org: Org) -> None:
    login(client, "mgr-n1")
    r = client.get("/", follow_redirects=False)
    assert r.headers["location"] == "/stores/n1"


def test_pages_forbid_scripts_and_framing(client: TestClient, org: Org) -> None:
    csp = client.get("/login").headers["content-security-policy"]
    assert "script-src 'none'" in csp and "frame-ancestors 'none'" in csp


def test_no_cdn_backed_api_docs_page(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/openapi.json").status_code == 200


def test_static_stylesheet_is_served(client: TestClient) -> None:
    r = client.get("/static/app.css")
    assert r.status_code == 200 and "text/css" in r.headers["content-type"]


@pytest.mark.parametrize("case, seconds, shown", [
    ("unknown", None, "—"),
    ("in step", 0.4, "+0 s"),
    ("behind by seconds", -42.0, "-42 s"),
    ("ahead by minutes", 300.0, "+5 min"),
    ("behind by hours", -7200.0, "-2 h"),
    ("booted at 1970", -20_157 * 86_400.0, "-20,157 days"),
])
def test_clock_offset_reads_in_a_fitting_unit(case: str, seconds: float | None, shown: str) -> None:
    from kiosk.central.api.routes.pages import fmt_offset

    assert fmt_offset(seconds) == shown
