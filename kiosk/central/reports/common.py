"""Pieces shared by the reports: store and device views, range sums over ``store_days``."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
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


def _sum_columns(columns: Sequence[str] | None) -> list[Any]:
    sd = m.StoreDay.__table__.c
    return [func.sum(sd[c]).label(c) for c in (columns or totals_columns())] + [func.count().label("rows")]


def sum_store_days(
    session: Session,
    store_ids: Sequence[str],
    date_from: dt.date,
    date_to: dt.date,
    by_week: bool = False,
    criteria: Sequence[str] | None = None,
) -> dict[Any, Totals]:
    """Totals per store (or per (store, week_start) with ``by_week``) over ``store_days`` in the range.

    ``rows`` of a result counts store-days with data. Criteria are summed alongside (only ``criteria`` when
    given). By week, only WEEKLY_COLUMNS are summed; the other sums stay 0.
    """
    if not store_ids:
        return {}
    sd = m.StoreDay
    keys: list[Any] = [sd.store_id] + ([sd.week_start] if by_week else [])
    q = (
        select(*keys, *_sum_columns(WEEKLY_COLUMNS if by_week else None))
        .where(sd.store_id.in_(store_ids), sd.day >= date_from, sd.day <= date_to)
        .group_by(*keys)
    )
    out: dict[Any, Totals] = {}
    for row in session.execute(q).mappings():
        key = (row["store_id"], row["week_start"]) if by_week else row["store_id"]
        values = dict(row)
        for c in totals_columns():
            values.setdefault(c, 0)
        out[key] = totals_from_columns(values)
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
    c = m.StoreDayCriterion
    keys: list[Any] = [c.store_id] + ([c.week_start] if by_week else [])
    q = (
        select(*keys, c.criterion, func.sum(c.n).label("n"), func.sum(c.met).label("met"))
        .where(c.store_id.in_(store_ids), c.day >= date_from, c.day <= date_to)
        .group_by(*keys, c.criterion)
    )
    if criteria is not None:
        q = q.where(c.criterion.in_(criteria))
    out: dict[Any, dict[str, list[int]]] = defaultdict(dict)
    for row in session.execute(q).mappings():
        key = (row["store_id"], row["week_start"]) if by_week else row["store_id"]
        out[key][row["criterion"]] = [int(row["n"] or 0), int(row["met"] or 0)]
    return out
