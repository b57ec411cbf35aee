"""The read API: a store's day, a region's comparison and alerts, and their CSV exports (DESIGN §5 Central reads).

Every route takes its store or region through ``AuthorizedStore`` / ``AuthorizedRegion`` (deps.py), so a
request for another tenant's data is refused before any figure is read.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status

from kiosk.central import crud
from kiosk.central.deps import AuthorizedRegion, AuthorizedStore, CurrentUser, NowDep, SessionDep, SettingsDep
from kiosk.central.reports.common import FIRST_REPORT_DAY, LAST_REPORT_DAY, store_public
from kiosk.central.reports.compare import compare_region
from kiosk.central.reports.csv_export import compare_csv, daily_csv
from kiosk.central.reports.daily import daily_summary, store_today
from kiosk.central.schemas import Alert, Comparison, DailySummary, RegionPublic, StorePublic
from kiosk.central.totals import FigureName

router = APIRouter(tags=["reports"])

DEFAULT_RANGE_DAYS = 28
_DENIED: dict[int | str, dict[str, Any]] = {403: {"description": "Not this user's store or region."},
                                             401: {"description": "Not signed in."}}
_CSV: dict[int | str, dict[str, Any]] = {**_DENIED, 200: {"content": {"text/csv": {}}}}
# Bounded so that no date arithmetic of a report can leave the calendar (year 1 minus a day is an OverflowError).
_DAY_BOUNDS: dict[str, Any] = {"ge": FIRST_REPORT_DAY, "le": LAST_REPORT_DAY}
DateQ = Annotated[dt.date | None, Query(description="Store-local date (YYYY-MM-DD); today when left out.", **_DAY_BOUNDS)]
FromQ = Annotated[dt.date | None, Query(alias="from", description="First local day; 27 days before `to` when left out.",
                                        **_DAY_BOUNDS)]
ToQ = Annotated[dt.date | None, Query(alias="to", description="Last local day (inclusive); today when left out.",
                                      **_DAY_BOUNDS)]
SortQ = Annotated[FigureName, Query(description="Figure to rank on.")]
OrderQ = Annotated[Literal["asc", "desc"] | None, Query(description="Listing order; best first when left out.")]


@router.get("/stores", response_model=list[StorePublic], responses=_DENIED)
def list_stores(user: CurrentUser, db: SessionDep) -> list[StorePublic]:
    """The stores this user may read."""
    return [store_public(s) for s in crud.visible_stores(db, user)]


@router.get("/regions", response_model=list[RegionPublic], responses=_DENIED)
def list_regions(user: CurrentUser, db: SessionDep) -> list[RegionPublic]:
    """The regions this user may compare (none for a store manager)."""
    return [RegionPublic(id=r.id, name=r.name) for r in crud.visible_regions(db, user)]


def _day(store_date: dt.date | None, store: AuthorizedStore, now: dt.datetime) -> dt.date:
    return store_date or store_today(store, now)


@router.get("/stores/{store_id}/daily", response_model=DailySummary, responses=_DENIED)
def get_daily(store: AuthorizedStore, db: SessionDep, settings: SettingsDep, now: NowDep, date: DateQ = None) -> DailySummary:
    """The manager's day for one store."""
    return daily_summary(db, store, _day(date, store, now), settings, now)


@router.get("/stores/{store_id}/daily.csv", response_class=Response, responses=_CSV)
def get_daily_csv(store: AuthorizedStore, db: SessionDep, settings: SettingsDep, now: NowDep, date: DateQ = None) -> Response:
    """The manager's day as CSV: figure, value, previous_7_days, change (blank = no data)."""
    summary = daily_summary(db, store, _day(date, store, now), settings, now)
    return _csv(daily_csv(summary), f"{store.id}-{summary.date.isoformat()}.csv")


def range_or_default(date_from: dt.date | None, date_to: dt.date | None, now: dt.datetime) -> tuple[dt.date, dt.date]:
    to = date_to or now.date()
    return (date_from or to - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1)), to


def _comparison(region: AuthorizedRegion, db: SessionDep, settings: SettingsDep, now: dt.datetime,
                date_from: dt.date | None, date_to: dt.date | None, sort: str, order: str | None) -> Comparison:
    start, end = range_or_default(date_from, date_to, now)
    try:
        return compare_region(db, region, start, end, settings, now, sort=sort, order=order)
    except ValueError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(e)) from None


@router.get("/regions/{region_id}/compare", response_model=Comparison, responses=_DENIED)
def get_compare(region: AuthorizedRegion, db: SessionDep, settings: SettingsDep, now: NowDep, date_from: FromQ = None,
                date_to: ToQ = None, sort: SortQ = "greeted_within_target_share", order: OrderQ = None) -> Comparison:
    """The region's stores side by side over the range, ranked on ``sort``."""
    return _comparison(region, db, settings, now, date_from, date_to, sort, order)


@router.get("/regions/{region_id}/compare.csv", response_class=Response, responses=_CSV)
def get_compare_csv(region: AuthorizedRegion, db: SessionDep, settings: SettingsDep, now: NowDep, date_from: FromQ = None,
                    date_to: ToQ = None, sort: SortQ = "greeted_within_target_share", order: OrderQ = None) -> Response:
    """The comparison as CSV: one row per store in the listing's order (blank = no data)."""
    c = _comparison(region, db, settings, now, date_from, date_to, sort, order)
    return _csv(compare_csv(c), f"{region.id}-{c.date_from.isoformat()}-{c.date_to.isoformat()}.csv")


@router.get("/regions/{region_id}/alerts", response_model=list[Alert], responses=_DENIED)
def get_alerts(region: AuthorizedRegion, db: SessionDep, settings: SettingsDep, now: NowDep,
               date_from: FromQ = None, date_to: ToQ = None) -> list[Alert]:
    """Stores whose low-rating share or p90 wait crosses its threshold, and silent devices."""
    return _comparison(region, db, settings, now, date_from, date_to, "interactions", None).alerts


def _csv(text: str, filename: str) -> Response:
    # The byte-order mark makes Excel read the file as UTF-8 (store names in Cyrillic or Persian), not ANSI.
    return Response("\ufeff" + text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
