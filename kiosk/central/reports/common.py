"""Pieces shared by the reports: store and device views, range sums and weekly trends over the rollups."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select, union_all
from sqlalchemy.orm import Session

from kiosk.central import models as m
from kiosk.central.schemas import DeviceStatus, Figures, StorePublic, WeekPoint
from kiosk.settings.central import CentralSettings
from kiosk.central.totals import Totals, low_rating_share, pooled, rating_mean, totals_columns, totals_from_columns
from kiosk.wire.heartbeat import device_status as heartbeat_state

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
    session: Session, store_ids: Sequence[str], date_from: dt.date, date_to: dt.date
) -> dict[str, Totals]:
    """Totals per store over the range, from the rollups: ``store_weeks`` for its whole weeks and ``store_days``
    for the days around them. ``rows`` of a result counts the store-days with data."""
    if not store_ids:
        return {}
    columns = totals_columns()
    parts = _rollup_parts(m.StoreDay, m.StoreWeek, store_ids, date_from, date_to, ["store_id"], columns, True).subquery()
    q = (select(parts.c.store_id, *[func.sum(parts.c[c]).label(c) for c in (*columns, "rows")])
         .group_by(parts.c.store_id))
    names = [c.name for c in q.selected_columns]
    out = {row[0]: totals_from_columns(dict(zip(names, row, strict=True))) for row in session.execute(q).tuples()}
    for store_id, crit in sum_criteria(session, store_ids, date_from, date_to).items():
        if store_id in out:
            out[store_id].criteria = crit
    return out


def weekly_points(session: Session, store_ids: Sequence[str], date_from: dt.date, date_to: dt.date, criterion: str,
                  k: int) -> dict[str, list[WeekPoint]]:
    """Each store's weekly trend over the range, oldest week first; weeks without data have no point.

    One query returns the few sums a point shows, its criterion joined in: a year of a hundred stores is
    five thousand points, so nothing per point but arithmetic happens here.
    """
    if not store_ids:
        return {}
    w, wc, d, dc = (t.__table__ for t in (m.StoreWeek, m.StoreWeekCriterion, m.StoreDay, m.StoreDayCriterion))
    shown = ("interactions", "rating_1", "rating_2", "rating_3", "rating_4", "wait_s_n", "wait_s_p90_sum")

    def part(table: Any, crit: Any, on_day: bool, where: Any) -> Any:
        on = [crit.c.store_id == table.c.store_id, crit.c.criterion == criterion]
        on.append(crit.c.day == table.c.day if on_day else crit.c.week_start == table.c.week_start)
        cols = [table.c[c] for c in shown] + [crit.c.n, crit.c.met]
        if on_day:  # days are summed into their week; whole weeks are one row each already
            cols = [func.sum(c) for c in cols]
        q = (select(table.c.store_id, table.c.week_start, *cols)
             .select_from(table.outerjoin(crit, and_(*on))).where(table.c.store_id.in_(store_ids), where))
        return q.group_by(table.c.store_id, table.c.week_start) if on_day else q

    weeks = whole_weeks(date_from, date_to)
    if weeks is None:
        q = part(d, dc, True, d.c.day.between(date_from, date_to))
    else:
        first, last = weeks
        edges = or_(d.c.day.between(date_from, first - dt.timedelta(days=1)),
                    d.c.day.between(last + dt.timedelta(days=7), date_to))
        q = union_all(part(w, wc, False, w.c.week_start.between(first, last)), part(d, dc, True, edges))
    out: dict[str, list[WeekPoint]] = defaultdict(list)
    for store_id, week, interactions, r1, r2, r3, r4, wait_n, wait_p90_sum, n, met in sorted(session.execute(q).tuples()):
        ratings = [int(r1), int(r2), int(r3), int(r4)]
        out[store_id].append(WeekPoint(
            week_start=week,
            interactions=int(interactions),
            greeted_within_target_share=None if met is None else Totals.ratio(int(met), int(n), k),
            wait_p90_s=pooled(float(wait_p90_sum), float(wait_n), k),
            rating_mean=rating_mean(ratings, k),
            low_rating_share=low_rating_share(ratings, k),
        ))
    return out


def sum_criteria(
    session: Session, store_ids: Sequence[str], date_from: dt.date, date_to: dt.date
) -> dict[str, dict[str, list[int]]]:
    """{store_id: {criterion: [n, met]}} over the range."""
    sub = _rollup_parts(m.StoreDayCriterion, m.StoreWeekCriterion, store_ids, date_from, date_to,
                        ["store_id", "criterion"], ("n", "met"), False).subquery()
    q = (select(sub.c.store_id, sub.c.criterion, func.sum(sub.c.n), func.sum(sub.c.met))
         .group_by(sub.c.store_id, sub.c.criterion))
    out: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for store_id, criterion, n, met in session.execute(q).tuples():
        out[store_id][criterion] = [int(n or 0), int(met or 0)]
    return out
