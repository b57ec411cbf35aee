"""What the store manager and the regional analyst read: every figure named, defined and targeted; the latest
day with data; day, week and month; the indices; follow-up answers; manager calls; alerts by store name; the
comparison ranked best first with a region median; HTML error pages; three languages per user."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from fastapi.testclient import TestClient

from kiosk.central.dashboard.figures import overall_index, satisfaction_index
from kiosk.central.dashboard.text import FIGURE_TEXT, LANGS, criterion_name, figure_text, target_fields
from kiosk.central.dashboard.views import COMPARE_FIGURES, STORE_FIGURES, period_of
from kiosk.central.totals import Totals

from .helpers import NOW, TODAY, Org, aggregate, auth, hour, login, post


@pytest.fixture
def backend() -> str:
    return "sqlite"  # presentation; the API tests cover both databases


def card(html: str, figure: str) -> str:
    m = re.search(rf'<div class="card" data-figure="{figure}".*?</div>\s*</div>', html, re.S)
    assert m, figure
    return m.group(0)


def with_reasons(row: dict, **counts: int) -> dict:
    return row | {"reasons": counts}


# ---- figures that explain themselves -----------------------------------------------------------------------

def test_every_figure_has_a_name_definition_unit_and_target_in_every_language() -> None:
    fields = target_fields(0.25, 300)
    for lang in LANGS:
        for name in set(STORE_FIGURES) | set(COMPARE_FIGURES):
            ft = figure_text(name, lang, fields)
            assert all(ft[k].strip() for k in ("name", "definition", "unit", "target")), (name, lang)
            assert "{" not in ft["target"]
    assert set(STORE_FIGURES) <= set(FIGURE_TEXT)


def test_targets_and_criterion_names_come_from_the_rubric() -> None:
    assert criterion_name("greeting_prompt", "en") == "Greeted within 10 s"
    assert criterion_name("wait_time", "en") == "Served within 2 min"
    assert criterion_name("mutual_facing", "en") == "Faced each other 50-80 % of the service"
    assert figure_text("greeted_within_target_share", "en", target_fields(0.25, 300))["target"].startswith(
        "greeting within 10 s")


def test_the_store_page_states_each_figures_target_and_the_glossary_defines_it(client: TestClient, org: Org) -> None:
    post(client, org, "d-n1", [aggregate("n1", "d-n1", hour(TODAY, 9), interactions=10)])
    login(client, "mgr-n1")
    html = client.get(f"/stores/n1?date={TODAY}").text
    assert "Target: greeting within 10 s" in card(html, "greeted_within_target_share")
    glossary = html[html.index('data-testid="glossary"'):]
    for name in STORE_FIGURES:
        assert f'<tr data-figure="{name}">' in glossary
    assert "Greeted within 10 s" in html and ">greeting_prompt<" not in html  # human criterion names


def test_satisfaction_index_maps_the_mean_face_onto_0_to_100() -> None:
    assert satisfaction_index([0, 0, 0, 7]) == 100
    assert satisfaction_index([3, 0, 0, 0]) == 0
    assert satisfaction_index([0, 0, 5, 0]) == pytest.approx(200 / 3)
    assert satisfaction_index([0, 0, 0, 0]) is None
    assert satisfaction_index([0, 0, 0, 4], k=5) is None  # fewer ratings than k


def test_overall_index_is_the_mean_of_the_parts_with_data() -> None:
    t = Totals(interactions=10, abandoned=2, ratings=[0, 0, 0, 4], rows=1, criteria={"greeting_prompt": [10, 5]})
    assert overall_index(t, "greeting_prompt", 2) == pytest.approx((100 + 50 + 80) / 3)  # no wait_time verdicts
    assert overall_index(t, "greeting_prompt", 11) is None  # fewer than k customers: withheld like every figure
    assert overall_index(Totals(), "greeting_prompt", 2) is None


def test_index_response_rate_and_change_against_the_previous_7_days(client: TestClient, org: Org) -> None:
    post(client, org, "d-n1", [aggregate("n1", "d-n1", hour(TODAY, 9), interactions=10, ratings=(0, 0, 0, 8))])
    post(client, org, "d-n1", [aggregate("n1", "d-n1", hour(TODAY - dt.timedelta(days=3), 9), interactions=20,
                                         ratings=(0, 0, 10, 0))])
    login(client, "mgr-n1")
    html = client.get(f"/stores/n1?date={TODAY}").text
    assert '<div class="v ">100<' in card(html, "satisfaction_index")
    assert "+33 vs previous 7 days" in card(html, "satisfaction_index")
    assert '<div class="v ">80 %<' in card(html, "response_rate")
    assert "-10 vs previous 7 days" in card(html, "interactions")  # 10 today against 20 on the one day with data


# ---- which period ------------------------------------------------------------------------------------------

def test_the_page_opens_on_the_latest_day_with_data_not_an_empty_today(client: TestClient, org: Org) -> None:
    yesterday = TODAY - dt.timedelta(days=1)
    post(client, org, "d-n2", [aggregate("n2", "d-n2", hour(yesterday, 9))])
    login(client, "admin")
    html = client.get("/stores/n2").text
    assert f'data-testid="date">{yesterday}<' in html and 'data-testid="latest-note"' in html
    assert f'data-testid="date">{TODAY}<' in client.get(f"/stores/n2?date={TODAY}").text


def test_a_date_picker_and_week_and_month_views_sum_their_days(client: TestClient, org: Org) -> None:
    monday = TODAY - dt.timedelta(days=TODAY.weekday())
    post(client, org, "d-n2", [aggregate("n2", "d-n2", hour(monday + dt.timedelta(days=d), 9), interactions=10)
                               for d in (0, 1)] + [aggregate("n2", "d-n2", hour(monday - dt.timedelta(days=3), 9),
                                                             interactions=7)])
    login(client, "admin")
    html = client.get(f"/stores/n2?date={TODAY}").text
    assert re.search(r'<form method="get" class="picker".*<input type="date" name="date" value="' + str(TODAY), html, re.S)
    week = client.get(f"/stores/n2?view=week&date={TODAY}").text
    assert f'{monday} to {monday + dt.timedelta(days=6)}' in week
    assert '<div class="v ">20<' in card(week, "interactions")
    month = client.get(f"/stores/n2?view=month&date={TODAY}").text
    assert '<div class="v ">27<' in card(month, "interactions")
    assert period_of("month", dt.date(2024, 2, 10)) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))


# ---- reasons, calls, alerts ----------------------------------------------------------------------------------

def test_follow_up_answers_show_on_the_store_page_and_in_the_comparison(client: TestClient, org: Org) -> None:
    post(client, org, "d-n1", [with_reasons(aggregate("n1", "d-n1", hour(TODAY, 9)), quick=4, waiting=2)])
    post(client, org, "d-n1", [with_reasons(aggregate("n1", "d-n1", hour(TODAY, 10)), waiting=1)])
    login(client, "reg-north")
    html = client.get(f"/stores/n1?date={TODAY}").text
    reasons = html[html.index('data-testid="reasons"'):]
    assert 'data-reason="quick" data-count="4"' in reasons and 'data-reason="waiting" data-count="3"' in reasons
    compare = client.get(f"/regions/north?to={TODAY}").text
    row = compare[compare.index('<tr class="ok" data-store="n1"'):]
    cell = row[row.index('data-testid="store-reasons"'):row.index("</td>", row.index('data-testid="store-reasons"'))]
    assert "Quick service 4" in cell and "Long wait 3" in cell


def test_a_manager_call_shows_on_its_stores_page_and_in_the_regions_alerts_by_name(client: TestClient, org: Org) -> None:
    r = client.post("/api/v1/manager-calls", headers=auth(org.tokens["d-n1"]),
                    json={"device_id": "d-n1", "call_id": str(uuid.uuid4()), "called_at": NOW.isoformat()})
    assert r.status_code == 201
    login(client, "mgr-n1")
    page = client.get("/stores/n1").text
    assert 'data-kind="manager_call"' in page[page.index('data-testid="store-alerts"'):]
    login(client, "reg-north")
    alerts = client.get("/regions/north").text
    alerts = alerts[alerts.index('data-testid="alerts"'):alerts.index("</ul>", alerts.index('data-testid="alerts"'))]
    assert re.search(r'data-kind="manager_call" data-store="n1".*Nordhafen: A customer asked for a manager', alerts)


def test_a_stores_alerts_are_on_its_managers_page_by_name(client: TestClient, org: Org) -> None:
    post(client, org, "d-n1", [aggregate("n1", "d-n1", hour(TODAY, 9), interactions=12, ratings=(6, 2, 2, 2))])
    login(client, "mgr-n1")
    page = client.get(f"/stores/n1?date={TODAY}").text
    box = page[page.index('data-testid="store-alerts"'):]
    assert 'data-kind="low_ratings"' in box and "Nordhafen: 67% of ratings are unhappy" in box
    assert "n1:" not in box


# ---- the comparison --------------------------------------------------------------------------------------------

def test_the_comparison_ranks_best_first_on_the_overall_index_with_a_median_row(client: TestClient, org: Org) -> None:
    post(client, org, "d-n1", [aggregate("n1", "d-n1", hour(TODAY, 9), ratings=(5, 3, 0, 0), wait=(200.0, 400.0))])
    post(client, org, "d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9), ratings=(0, 0, 2, 8))])
    login(client, "reg-north")
    html = client.get(f"/regions/north?to={TODAY}").text
    order = re.findall(r'<tr class="(?:ok|no_data)" data-store="(\w+)"', html)
    assert order == ["n2", "n1", "n3"]  # best first; the store without data last, unranked
    median = html[html.index('data-testid="median-row"'):]
    assert "Region median" in median and 'data-figure="overall_index"' in median


# ---- errors and languages -------------------------------------------------------------------------------------

@pytest.mark.parametrize("case, user, path, status", [
    ("reversed range", "reg-north", "/regions/north?from=2025-03-10&to=2025-03-01", 422),
    ("bad date", "mgr-n1", "/stores/n1?date=yesterday", 422),
    ("another store", "mgr-n1", "/stores/s1", 403),
])
def test_page_errors_are_html_pages_not_json(client: TestClient, org: Org, case: str, user: str, path: str,
                                             status: int) -> None:
    login(client, user)
    r = client.get(path)
    assert r.status_code == status and r.headers["content-type"].startswith("text/html"), case
    assert f'data-status="{status}"' in r.text and '{"detail"' not in r.text
    assert client.get("/api/v1/stores/s1/daily").headers["content-type"].startswith("application/json")


def test_the_language_is_chosen_per_user_and_persian_reads_right_to_left(client: TestClient, org: Org, app) -> None:  # type: ignore[no-untyped-def]
    from kiosk.central import models as m

    login(client, "mgr-n1")
    html = client.get("/stores/n1?lang=fa").text
    assert '<html lang="fa" dir="rtl">' in html and "شاخص رضایت" in html
    client.cookies.clear()
    login(client, "mgr-n1")  # a new browser: the choice was stored on the user
    assert '<html lang="fa" dir="rtl">' in client.get("/stores/n1").text
    with app.state.sessionmaker() as s:
        assert s.query(m.User).filter_by(username="mgr-n1").one().language == "fa"
    ru = client.get("/stores/n1?lang=ru").text
    assert '<html lang="ru" dir="ltr">' in ru and "Индекс удовлетворённости" in ru


def test_answers_given_at_a_terminal_reach_the_store_page_through_the_real_sync(
    client: TestClient, org: Org, live_server, tmp_path  # type: ignore[no-untyped-def]
) -> None:
    from kiosk.settings.tree import PrivacySettings, Settings, StoreSettings, SyncSettings
    from kiosk.device.database import Store
    from kiosk.device.sync import fill_outbox, sync_once
    from tests.storekit import ended, served

    day = TODAY - dt.timedelta(days=1)
    at = dt.datetime(day.year, day.month, day.day, 9, 10, tzinfo=dt.UTC)
    terminal = Settings(store=StoreSettings(data_dir=tmp_path / "t", store_id="n2", device_id="d-n2"),
                        privacy=PrivacySettings(min_group_size=5),
                        sync=SyncSettings(server_url=live_server.url, device_token=org.tokens["d-n2"], max_retries=0))
    with Store.in_data_dir(tmp_path / "t") as store:
        for i in range(6):
            store.add_interaction(served(), ended(at + dt.timedelta(minutes=i)))
        for code in ("helpful", "helpful", "attitude"):
            store.add_reason(code, at)
        fill_outbox(store, terminal, now=NOW, grace=dt.timedelta(0))
        assert sync_once(store, terminal).sent == 1
    login(client, "admin")
    html = client.get(f"/stores/n2?date={day}").text
    reasons = html[html.index('data-testid="reasons"'):]
    assert 'data-reason="helpful" data-count="2"' in reasons and 'data-reason="attitude" data-count="1"' in reasons
