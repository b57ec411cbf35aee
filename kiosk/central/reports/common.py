"""Pieces shared by the reports: store and device views, range sums over ``store_days``."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select, union_all
from sqlalchemy.orm import Session

from kiosk.central import models as m
from kiosk.central.schemas import DeviceStatus, Figures, StorePublic
from kiosk.central.settings import CentralSettings
from kiosk.central.totals import Totals, totals_columns, totals_from_columns
from kiosk.heartbeat import device_status as heartbeat_state

MAX_RANGE_DAYS = 366
# The days a report may be asked for: every day ingest can hold (kiosk.central.ingest bounds period_start far
# inside these), with a range's worth of room on either side so no report's date arithmetic leaves the calendar.
FIRST_REPORT_DAY = dt.date(2000, 1, 1)
LAST_REPORT_DAY = dt.date(2099, 12, 31)


def store_public(store: m.Store) -> StorePublic:
    return StorePublic(id=store.id, name=store.name, region_id=store.region_id, timezone=store.timezone)


def device_status(device: m.Device, now: dt.datetime, settings: CentralSettings) -> DeviceStatus:
    """What the reports show of a device: silent by its syncs, never/ok/stale by its heartbeats (both on the
    server's clock, ``now``)."""
    seen = device.last_seen_at
    silent = seen is None or (now - seen).total_seconds() > settings.silent_after_s
    beat, sent = device.last_heartbeat_at, device.heartbeat_sent_at
    return DeviceStatus(
        id=device.id,
        last_seen_at=seen,
        silent=silent,
        last_heartbeat_at=beat,
        status=heartbeat_state(beat, now, dt.timedelta(seconds=settings.heartbeat_stale_after_s)),
        software_version=device.software_version,
        outbox_pending=device.outbox_pending,
        pipeline_fps=device.pipeline_fps,
        clock_offset_s=None if beat is None or sent is None else (sent - beat).total_seconds(),
    )


def figures_model(t: Totals, settings: CentralSettings) -> Figures:
    return Figures.model_validate(t.figures(settings.greeting_target_criterion, settings.min_group_size))


def check_range(date_from: dt.date, date_to: dt.date) -> None:
    if date_to < date_from:
        raise ValueError(f"to ({date_to}) is before from ({date_from})")
    if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
        raise ValueError(f"a range covers at most {MAX_RANGE_DAYS} days, got {(date_to - date_from).days + 1}")


# What a weekly trend point shows (WeekPoint): summing only these keeps a year of weeks cheap.
WEEKLY_COLUMNS = ("interactions", "rating_1", "rating_2", "rating_3", "rating_4", "wait_s_n", "wait_s_p90_sum")


def whole_weeks(date_from: dt.date, date_to: dt.date) -> tuple[dt.date, dt.date] | None:
    """(first, last) Monday of the ISO weeks lying wholly inside ``date_from``..``date_to``; None when there is none."""
    first = date_from + dt.timedelta(days=-date_from.weekday() % 7)
    last = date_to - dt.timedelta(days=(date_to.weekday() + 1) % 7 + 6)
    return (first, last) if first <= last else None


def _rollup_parts(day_table: Any, week_table: Any, store_ids: Sequence[str], date_from: dt.date, date_to: dt.date,
                  keys: Sequence[str], columns: Sequence[str], count_days: bool) -> Any:
    """One UNION ALL over the range: whole weeks from ``week_table``, the days around them from ``day_table``.

    Each part sums ``columns`` grouped by ``keys`` (column names both tables have), plus with ``count_days`` a
    ``rows`` column of the store-days with data. Weeks and days never overlap, so summing the union gives the range.
    """
    def part(table: Any, where: Any, days: Any) -> Any:
        sums = [func.sum(table.c[c]).label(c) for c in columns] + ([days.label("rows")] if count_days else [])
        return (select(*[table.c[k] for k in keys], *sums)
                .where(table.c.store_id.in_(store_ids), where).group_by(*[table.c[k] for k in keys]))

    d, w = day_table.__table__, week_table.__table__
    weeks = whole_weeks(date_from, date_to)
    if weeks is None:
        return part(d, d.c.day.between(date_from, date_to), func.count())
    first, last = weeks
    edges = or_(d.c.day.between(date_from, first - dt.timedelta(days=1)),
                d.c.day.between(last + dt.timedelta(days=7), date_to))
    week_days = func.sum(w.c.days) if count_days else None
    return union_all(part(w, w.c.week_start.between(first, last), week_days), part(d, edges, func.count()))


def sum_store_days(
    session: Session,
    store_ids: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
    by_week: bool = False,
    criteria: Sequence[str] | None = None,
) -> dict[Any, Totals]:
    """Totals per store (or per (store_id, week_start) with ``by_week``) over the range, from the rollups:
    ``store_weeks`` for its whole weeks and ``store_days`` for the days around them.

    ``rows`` of a result counts store-days with data. Criteria are summed alongside (only ``criteria`` when
    given). By week, only WEEKLY_COLUMNS are summed; the other sums stay 0.
    """
    if not store_ids:
        return {}
    columns = WEEKLY_COLUMNS if by_week else totals_columns()
    keys = ["store_id", "week_start"] if by_week else ["store_id"]
    parts = _rollup_parts(m.StoreDay, m.StoreWeek, store_ids, date_from, date_to, keys, columns, True).subquery()
    q = select(*[parts.c[k] for k in keys], *[func.sum(parts.c[c]).label(c) for c in (*columns, "rows")])
    q = q.group_by(*[parts.c[k] for k in keys])
    out: dict[Any, Totals] = {}
    for row in session.execute(q).mappings():
        key = (row["store_id"], row["week_start"]) if by_week else row["store_id"]
        out[key] = totals_from_columns(row)
    for key, crit in sum_criteria(session, store_ids, date_from, date_to, by_week, criteria).items():
        if key in out:
            out[key].criteria = crit
    return out


def sum_criteria(
    session: Session,
    store_ids: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
    by_week: bool = False,
    criteria: Sequence[str] | None = None,
) -> dict[Any, dict[str, list[int]]]:
    """{store_id or (store_id, week_start): {criterion: [n, met]}} over the range."""
    keys = ["store_id", "week_start", "criterion"] if by_week else ["store_id", "criterion"]
    sub = _rollup_parts(m.StoreDayCriterion, m.StoreWeekCriterion, store_ids, date_from, date_to, keys, ("n", "met"),
                        False).subquery()
    q = (select(*[sub.c[k] for k in keys], func.sum(sub.c.n).label("n"), func.sum(sub.c.met).label("met"))
         .group_by(*[sub.c[k] for k in keys]))
    if criteria is not None:
        q = q.where(sub.c.criterion.in_(criteria))
    out: dict[Any, dict[str, list[int]]] = defaultdict(dict)
    for row in session.execute(q).mappings():
        key = (row["store_id"], row["week_start"]) if by_week else row["store_id"]
        out[key][row["criterion"]] = [int(row["n"] or 0), int(row["met"] or 0)]
    return out
