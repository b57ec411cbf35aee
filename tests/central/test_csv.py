"""CSV exports of the daily and comparison views: same figures as the JSON, blanks for no data."""

from __future__ import annotations

import csv
import datetime as dt
import io

from fastapi.testclient import TestClient

from kiosk.central.reports.csv_export import _guard

from .helpers import TODAY, Org, aggregate, hour, login, post


def _rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff"), "CSV for Excel starts with the UTF-8 byte-order mark"
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_csv_is_utf8_with_a_byte_order_mark_for_excel(client: TestClient, org: Org, app) -> None:  # type: ignore[no-untyped-def]
    from kiosk.central import models as m

    with app.state.sessionmaker() as s:
        s.get(m.Store, "n1").name = "Северный"
        s.commit()
    login(client, "reg-north")
    body = client.get("/api/v1/regions/north/compare.csv").content
    assert body.startswith(b"\xef\xbb\xbf") and "Северный".encode() in body


def test_compare_csv_has_one_row_per_store_in_listing_order(client: TestClient, org: Org) -> None:
    post(client, org, "d-n1", [aggregate("n1", "d-n1", hour(TODAY, 9), wait=(20.0, 50.0))])
    post(client, org, "d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9), wait=(20.0, 80.0))])
    login(client, "reg-north")
    r = client.get("/api/v1/regions/north/compare.csv", params={"sort": "wait_p90_s", "to": TODAY.isoformat()})
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = _rows(r.text)
    assert [(row["store_id"], row["rank"], row["wait_p90_s"]) for row in rows] == [("n1", "1", "50"), ("n2", "2", "80"), ("n3", "", "")]


def test_compare_csv_marks_store_without_data(client: TestClient, org: Org) -> None:
    login(client, "reg-north")
    rows = _rows(client.get("/api/v1/regions/north/compare.csv").text)
    assert {row["status"] for row in rows} == {"no_data"}
    assert all(row["interactions"] == "" for row in rows)


def test_daily_csv_lists_figures_with_baseline(client: TestClient, org: Org) -> None:
    post(client, org, "d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9), interactions=10)])
    login(client, "mgr-n1")
    assert client.get(f"/api/v1/stores/n2/daily.csv?date={TODAY}").status_code == 403
    login(client, "admin")
    rows = {row["figure"]: row for row in _rows(client.get(f"/api/v1/stores/n2/daily.csv?date={TODAY}").text)}
    assert rows["interactions"]["value"] == "10"
    assert rows["hour_09"]["value"] == "10"
    assert rows["criterion:greeting_prompt"]["value"] == "0.8"


def test_text_cells_cannot_become_spreadsheet_formulas() -> None:
    assert _guard("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert _guard("Nordhafen") == "Nordhafen"


def test_negative_numbers_stay_numbers(client: TestClient, org: Org) -> None:
    yesterday = TODAY - dt.timedelta(days=1)
    post(client, org, "d-n2", [aggregate("n2", "d-n2", hour(yesterday, 9), wait=(20.0, 90.0))])
    post(client, org, "d-n2", [aggregate("n2", "d-n2", hour(TODAY, 9), wait=(20.0, 83.0))])
    login(client, "admin")
    rows = {row["figure"]: row for row in _rows(client.get(f"/api/v1/stores/n2/daily.csv?date={TODAY}").text)}
    assert float(rows["wait_p90_s"]["change"]) == -7.0


def test_store_name_like_a_formula_is_still_guarded(client: TestClient, org: Org, app) -> None:  # type: ignore[no-untyped-def]
    from kiosk.central import models as m

    with app.state.sessionmaker() as s:
        s.get(m.Store, "n1").name = "-2+3"
        s.commit()
    login(client, "reg-north")
    rows = _rows(client.get("/api/v1/regions/north/compare.csv").text)
    assert [r["store_name"] for r in rows if r["store_id"] == "n1"] == ["'-2+3"]
