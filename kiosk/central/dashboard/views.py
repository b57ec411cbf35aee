"""What the store page and the comparison page show, built from the reports' read models plus
:mod:`kiosk.central.dashboard.figures`: a period (day, week or month), its figures with their change, the
store's alerts and manager calls, and the comparison ranked on the overall index with a region median row.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kiosk.central import calls
from kiosk.central import models as m
from kiosk.central.dashboard import figures as fg
from kiosk.central.reports.common import device_status, sum_store_days
from kiosk.central.reports.compare import compare_region
from kiosk.central.schemas import Alert, Comparison, CompareRow, DeviceStatus
from kiosk.settings.central import DEFAULT_DISTANCE_BAND_EDGES_M, CentralSettings
from kiosk.central.totals import FIGURES, Totals

View = Literal["day", "week", "month"]
VIEWS: tuple[View, ...] = ("day", "week", "month")
# The store page's figures, in reading order: the customer's verdict first, then the service, then volume.
STORE_FIGURES = (
    "satisfaction_index", "rating_mean", "low_rating_share", "response_rate", "interactions",
    "greeted_within_target_share", "greeted_share", "greeting_p50_s", "greeting_p90_s", "wait_p50_s", "wait_p90_s",
    "abandoned_share", "eye_contact_ratio", "distance_p50_m",
)
COMPARE_FIGURES = (
    "overall_index", "satisfaction_index", "interactions", "response_rate", "greeted_within_target_share",
    "wait_p50_s", "wait_p90_s", "eye_contact_ratio", "distance_p50_m", "low_rating_share",
)
BETTER: dict[str, bool | None] = {**FIGURES, "satisfaction_index": True, "overall_index": True,
                                  "response_rate": True}


def period_of(view: View, day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last local day of the ``view`` period holding ``day`` (weeks start on Monday)."""
    if view == "week":
        first = day - dt.timedelta(days=day.weekday())
        return first, first + dt.timedelta(days=6)
    if view == "month":
        return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    return day, day


def baseline_of(view: View, first: dt.date) -> tuple[dt.date, dt.date]:
    """What a period is compared with: the 7 days before a day or a week, the month before a month."""
    if view == "month":
        last = first - dt.timedelta(days=1)
        return last.replace(day=1), last
    return first - dt.timedelta(days=7), first - dt.timedelta(days=1)


def step(view: View, day: dt.date, direction: int) -> dt.date:
    """The same view one period earlier (-1) or later (+1)."""
    first, last = period_of(view, day)
    if direction < 0:
        return period_of(view, first - dt.timedelta(days=1))[0]
    return last + dt.timedelta(days=1)


def flat(t: Totals, greeting_criterion: str, k: int, per_day: bool = False) -> dict[str, float | None]:
    """Every figure of ``t`` by name (withheld under ``k`` as the reports do); counts as a mean per day with data
    when ``per_day`` asks for it."""
    f: dict[str, Any] = dict(t.figures(greeting_criterion, k))
    shown = f["interactions"] is not None
    if per_day and shown:
        f["interactions"] = t.interactions / t.rows
        f["ratings_n"] = t.ratings_n / t.rows
    f["satisfaction_index"] = fg.satisfaction_index(t.ratings, k) if shown else None
    f["response_rate"] = fg.response_rate(t.ratings_n, t.interactions) if shown else None
    f["overall_index"] = fg.overall_index(t, greeting_criterion, k)
    return f


@dataclass
class StorePage:
    store: m.Store
    view: View
    first: dt.date
    last: dt.date
    figures: dict[str, float | None]
    change: dict[str, float | None]
    ratings: list[int]
    criteria: list[tuple[str, int, int, float | None]]
    reasons: fg.Reasons
    hours: list[fg.HourFigures]
    heat: fg.HeatMap
    calls: list[m.ManagerCall]
    alerts: list[Alert]
    devices: list[DeviceStatus]
    has_data: bool
    open_calls: list[m.ManagerCall] = field(default_factory=list)  # still open (calls.OPEN_FOR): shown as alerts
    latest_shown: bool = False
    distance_edges: tuple[float, float, float] = DEFAULT_DISTANCE_BAND_EDGES_M


def store_page(session: Session, store: m.Store, view: View, day: dt.date, settings: CentralSettings,
               now: dt.datetime) -> StorePage:
    crit, k = settings.greeting_target_criterion, settings.min_group_size
    first, last = period_of(view, day)
    b_first, b_last = baseline_of(view, first)
    cur = sum_store_days(session, [store.id], first, last).get(store.id, Totals())
    base = sum_store_days(session, [store.id], b_first, b_last).get(store.id, Totals())
    figs = flat(cur, crit, k)
    # A day is compared with the mean day of the week before; a week or month with the whole period before.
    base_f = flat(base, crit, k, per_day=view == "day")
    change = {k: (None if figs.get(k) is None or base_f.get(k) is None else figs[k] - base_f[k])  # type: ignore[operator]
              for k in figs}
    open_from = now - calls.OPEN_FOR
    start_utc = dt.datetime.combine(first, dt.time(0), tzinfo=dt.UTC) - dt.timedelta(hours=14)
    end_utc = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC) + dt.timedelta(hours=14)
    period_calls = [c for c in calls.calls_between(session, store.id, start_utc, end_utc)
                    if first <= _local(c.received_at, store) <= last]
    region = session.get(m.Region, store.region_id)
    alerts: list[Alert] = []
    if region is not None:
        # The region's alert rules, applied once, so a store's page and its region's list never disagree.
        comparison = compare_region(session, region, first, last, settings, now, sort="interactions")
        alerts = [a for a in comparison.alerts if a.store_id == store.id]
    return StorePage(
        store=store, view=view, first=first, last=last, figures=figs, change=change, ratings=list(cur.ratings),
        criteria=[(c, n, met, cur.criterion_share(c, k)) for c, (n, met) in sorted(cur.criteria.items())],
        reasons=fg.reasons_by_store(session, [store.id], first, last)[store.id],
        hours=fg.by_hour(session, store, first, last, k),
        heat=fg.weekday_hour(session, store, last, k),
        calls=period_calls, alerts=alerts,
        devices=[device_status(d, now, settings) for d in store.devices],
        has_data=cur.rows > 0, distance_edges=settings.distance_band_edges_m,
        open_calls=[c for c in period_calls if c.received_at >= open_from],
    )


def _local(at: dt.datetime, store: m.Store) -> dt.date:
    return at.astimezone(ZoneInfo(store.timezone)).date()


@dataclass
class CompareView:
    c: Comparison
    rows: list[CompareRow]
    values: dict[str, dict[str, float | None]]   # store id -> figure -> value (incl. indices)
    median: dict[str, float | None]
    reasons: dict[str, fg.Reasons]
    calls: list[tuple[m.ManagerCall, m.Store]]
    sort: str
    desc: bool


def compare_view(session: Session, region: m.Region, first: dt.date, last: dt.date, settings: CentralSettings,
                 now: dt.datetime, sort: str | None, order: str | None) -> CompareView:
    """The comparison ranked best first on ``sort`` (the overall index by default), with a region median row.

    Raises:
        ValueError: an unknown figure or an invalid range (the page answers with an error page).
    """
    sort = sort or "overall_index"
    if sort not in BETTER:
        raise ValueError(f"sort {sort!r} is not a figure; choose one of {', '.join(BETTER)}")
    base_sort = sort if sort in FIGURES else "interactions"
    c = compare_region(session, region, first, last, settings, now, sort=base_sort, order=None)
    ids = [r.store.id for r in c.stores]
    totals = sum_store_days(session, ids, first, last)
    crit = settings.greeting_target_criterion
    values = {sid: flat(totals.get(sid, Totals()), crit, settings.min_group_size) for sid in ids}
    better = BETTER[sort] is not False
    desc = (order or ("desc" if better else "asc")) == "desc"

    def key(r: CompareRow) -> tuple[Any, ...]:
        v = values[r.store.id].get(sort)
        return (1, 0.0, r.store.id) if v is None else (0, -v if desc else v, r.store.id)

    rows = sorted(c.stores, key=key)
    ranked = sorted((r for r in rows if values[r.store.id].get(sort) is not None),
                    key=lambda r: values[r.store.id][sort], reverse=better)  # type: ignore[arg-type,return-value]
    prev, rank = None, 0
    for i, r in enumerate(ranked, start=1):
        v = values[r.store.id][sort]
        if v != prev:
            rank, prev = i, v
        r.rank = rank
    for r in rows:
        if values[r.store.id].get(sort) is None:
            r.rank = None
    median = {f: fg.median_or_none(values[s].get(f) for s in ids if totals.get(s)) for f in COMPARE_FIGURES}
    stores = {s.id: s for s in region.stores}
    open_calls = calls.recent_calls(session, ids, now, calls.OPEN_FOR)
    return CompareView(c=c, rows=rows, values=values, median=median,
                       reasons=fg.reasons_by_store(session, ids, first, last),
                       calls=[(call, stores[call.store_id]) for call in open_calls if call.store_id in stores],
                       sort=sort, desc=desc)
