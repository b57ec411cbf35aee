"""In a real browser against a real server: a manager sees only their store; a regional user compares
branches and exports CSV; editing the URL does not reach another store. Screenshots go to artifacts/central/."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from kiosk.central.app import create_app
from kiosk.settings.central import CentralSettings

from .browser import LAUNCH_ARGS, artifacts_dir, chromium_path
from .conftest import TEST_CLOCK_SKEW_S, LiveServer, new_pg_database
from .helpers import NOW, PASSWORD, TODAY, Org, aggregate, auth, batch, hour, seed_org

playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")


def _history(org: Org, url: str) -> None:
    """Two weeks of plausible hours for n1 and n2 (n2 slower), sent the way terminals send them."""
    for device, store, wait_p90, low in (("d-n1", "n1", 70.0, 0), ("d-n2", "n2", 160.0, 4)):
        for back in range(14):
            day = TODAY - dt.timedelta(days=back)
            rows: list[dict[str, Any]] = [
                aggregate(store, device, hour(day, h), interactions=6 + (h * 7 + back) % 9,
                          ratings=(low, 1, 2, 3), wait=(wait_p90 / 3, wait_p90 + h))
                | {"reasons": {"quick": 2, "friendly": 1, "waiting": 1 + low // 2}}
                for h in range(7, 18) if h != 13
            ]
            rows.append(aggregate(store, device, hour(day, 0), period="day", interactions=6, ratings=(0, 0, 1, 2)))
            r = requests.post(f"{url}/api/v1/aggregates", json=batch(device, rows), headers=auth(org.tokens[device]), timeout=30)
            assert r.status_code == 200, r.text
    call = {"device_id": "d-n2", "call_id": str(uuid.uuid4()), "called_at": NOW.isoformat()}
    r = requests.post(f"{url}/api/v1/manager-calls", json=call, headers=auth(org.tokens["d-n2"]), timeout=30)
    assert r.status_code == 201, r.text


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Org]]:
    if request.param == "postgresql":
        db_url = new_pg_database(request.getfixturevalue("pg_cluster"))
    else:
        db_url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'central.sqlite'}"
    settings = CentralSettings(db_url=db_url, ingest_burst=100, clock_skew_s=TEST_CLOCK_SKEW_S)
    app = create_app(settings, clock=lambda: NOW)
    with app.state.sessionmaker() as s:
        org = seed_org(s)
        s.commit()
    with LiveServer(app) as live:
        _history(org, live.url)
        yield live, org
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Any:
    """Screenshot path for this test and backend: artifacts/central/<name>-<backend>.png."""
    backend = request.node.callspec.params["server"]
    return lambda name: str(artifacts_dir() / f"{name}-{backend}.png")


@pytest.fixture
def page(browser: Any, server: tuple[LiveServer, Org]) -> Iterator[Any]:
    context = browser.new_context(base_url=server[0].url, viewport={"width": 1280, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    yield pg
    context.close()


def _login(page: Any, username: str, start: str = "/") -> None:
    page.goto(start)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_manager_logs_in_and_sees_only_their_store(page: Any, shot: Any) -> None:
    _login(page, "mgr-n1")
    assert page.url.endswith("/stores/n1")
    assert page.inner_text("[data-testid=store-name]") == "Nordhafen"
    assert page.locator("[data-testid=by-hour] rect.hour").count() == 24
    assert page.locator("a[href^='/stores/']:not([href^='/stores/n1'])").count() == 0  # no way to another store
    assert page.locator("a[href^='/regions/']").count() == 0
    page.screenshot(path=shot("manager-daily"), full_page=True)


def test_manager_cannot_reach_another_store_by_editing_the_url(page: Any, shot: Any) -> None:
    _login(page, "mgr-n1")
    for path in ("/stores/s1", "/stores/n2", "/regions/north", "/api/v1/stores/s1/daily", "/api/v1/stores/n2/daily.csv"):
        response = page.goto(path)
        assert response.status == 403, path
    page.screenshot(path=shot("manager-refused"))


def test_regional_user_compares_branches_and_exports_csv(page: Any, shot: Any) -> None:
    _login(page, "reg-north", start="/regions/north")
    assert page.inner_text("[data-testid=region-name]") == "North"
    page.click("th a[data-sort=wait_p90_s]")
    page.wait_for_load_state()
    order = [page.locator("tbody tr[data-store]").nth(i).get_attribute("data-store") for i in range(3)]
    assert order == ["n1", "n2", "n3"]  # lowest p90 wait first; n3 has no data and comes last
    assert page.locator("tr[data-store=n3] [data-testid=no-data]").count() == 1
    page.screenshot(path=shot("regional-compare"), full_page=True)
    with page.expect_download() as info:
        page.click("[data-testid=csv]")
    rows = list(csv.DictReader(io.StringIO(open(info.value.path(), encoding="utf-8-sig").read())))
    assert [r["store_id"] for r in rows] == ["n1", "n2", "n3"]
    assert rows[2]["status"] == "no_data" and rows[2]["interactions"] == ""


def test_regional_user_opens_a_branch_day_from_the_comparison(page: Any, shot: Any) -> None:
    _login(page, "reg-north", start="/regions/north")
    page.click("tr[data-store=n2] a[href='/stores/n2']")
    page.wait_for_load_state()
    assert page.inner_text("[data-testid=store-name]") == "Neustadt"
    assert page.locator("[data-testid=ratings] rect.bar").count() == 4
    page.screenshot(path=shot("regional-branch-daily"), full_page=True)


# ---- every page, three languages, desktop and phone -------------------------------------------------------------

PAGES = (  # (name, user, path)
    ("login", None, "/login"),
    ("home", "admin", "/"),
    ("store-day", "mgr-n1", f"/stores/n1?date={TODAY}"),
    ("store-latest", "mgr-n1", "/stores/n1"),
    ("store-week", "mgr-n1", f"/stores/n1?view=week&date={TODAY}"),
    ("store-month", "mgr-n1", f"/stores/n1?view=month&date={TODAY}"),
    ("compare", "reg-north", f"/regions/north?to={TODAY}"),
    ("compare-by-wait", "reg-north", f"/regions/north?to={TODAY}&sort=wait_p90_s"),
    ("branch-with-call", "reg-north", f"/stores/n2?date={TODAY}"),
    ("error-range", "reg-north", "/regions/north?from=2025-03-10&to=2025-03-01"),
    ("error-forbidden", "mgr-n1", "/stores/s1"),
)
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_in_every_language_fits_desktop_and_phone_with_a_screenshot(
    browser: Any, server: tuple[LiveServer, Org], request: pytest.FixtureRequest, width: str
) -> None:
    if request.node.callspec.params["server"] != "sqlite":
        pytest.skip("the screenshots are of the pages, the same on either database")
    live, _ = server
    out = artifacts_dir() / "pages"
    out.mkdir(parents=True, exist_ok=True)
    w, h = WIDTHS[width]
    overflow: dict[str, int] = {}
    for user in dict.fromkeys(u for _, u, _ in PAGES):  # one sign-in per user; ?lang= switches the language
        context = browser.new_context(base_url=live.url, viewport={"width": w, "height": h})
        page = context.new_page()
        if user:
            _login(page, user)
        for name, _, path in (p for p in PAGES if p[1] == user):
            for lang in ("en", "ru", "fa"):
                page.goto(path + ("&" if "?" in path else "?") + f"lang={lang}")
                assert page.get_attribute("html", "lang") == lang
                assert page.get_attribute("html", "dir") == ("rtl" if lang == "fa" else "ltr")
                scroll = page.evaluate("document.documentElement.scrollWidth")
                if scroll > w + 1:
                    overflow[f"{name}-{lang}"] = scroll
                page.screenshot(path=str(out / f"{name}-{lang}-{width}.png"), full_page=True)
        context.close()
    assert overflow == {}, f"pages wider than the {w} px window: {overflow}"
    shots = sorted(out.glob(f"*-{width}.png"))
    assert len(shots) >= len(PAGES) * 3 and all(p.stat().st_size > 5000 for p in shots)
