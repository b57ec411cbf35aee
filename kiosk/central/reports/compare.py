"""The regional comparison: a region's stores side by side over a date range, ranked, with weekly trends,
outliers and alerts. A store without data stays "no_data" with empty figures; it is never ranked as a zero."""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kiosk.central import models as m
from kiosk.central.reports.common import (
    check_range,
    device_status,
    figures_model,
    store_public,
    sum_store_days,
    weekly_points,
)
from kiosk.central.schemas import Alert, CompareRow, Comparison, DeviceStatus, RegionPublic
from kiosk.settings.central import CentralSettings
from kiosk.central.totals import FIGURES, Totals

# Outliers need a spread to stand out from; below this many stores with a value none is flagged.
MIN_STORES_FOR_OUTLIERS = 4
# 0.6745 makes the median absolute deviation comparable to a standard deviation for normal data.
_MAD_SCALE = 0.6745


def compare_region(
    session: Session,
    region: m.Region,
    date_from: dt.date,
    date_to: dt.date,
    settings: CentralSettings,
    now: dt.datetime,
    sort: str = "greeted_within_target_share",
    order: str | None = None,
) -> Comparison:
    """Compare the stores of ``region`` over local days ``date_from``..``date_to`` (inclusive).

    Args:
        sort: a figure name (FIGURES) to rank on; rank 1 is the best store on it.
        order: "asc" or "desc" for the listing; by default best first.
    Raises:
        ValueError: an unknown sort figure or an invalid range (the API turns it into a 422).
    """
    if sort not in FIGURES:
        raise ValueError(f"sort {sort!r} is not a figure; choose one of {', '.join(FIGURES)}")
    if order not in (None, "asc", "desc"):
        raise ValueError(f"order {order!r} must be asc or desc")
    check_range(date_from, date_to)
    crit_name, k = settings.greeting_target_criterion, settings.min_group_size
    # Devices in one query with their stores, not one query per store.
    stores = list(session.scalars(
        select(m.Store).where(m.Store.region_id == region.id).order_by(m.Store.id).options(selectinload(m.Store.devices))
    ))
    ids = [s.id for s in stores]
    totals = sum_store_days(session, ids, date_from, date_to)
    weekly = weekly_points(session, ids, date_from, date_to, crit_name, k)
    criteria = sorted({c for t in totals.values() for c in t.criteria})

    rows: list[CompareRow] = []
    stale: dict[str, list[DeviceStatus]] = {}
    for store in stores:
        t = totals.get(store.id, Totals())
        devices = [device_status(d, now, settings) for d in store.devices]
        stale[store.id] = [d for d in devices if d.status == "stale"]
        rows.append(
            CompareRow(
                store=store_public(store),
                status="ok" if t.rows else "no_data",
                rank=None,
                figures=figures_model(t, settings),
                criteria={c: t.criterion_share(c, k) for c in criteria},
                outliers=[],
                silent_devices=[d.id for d in devices if d.silent],
                stale_devices=[d.id for d in stale[store.id]],
                devices=len(devices),
                weekly=weekly.get(store.id, []),
            )
        )
    _flag_outliers(rows, settings.alerts.outlier_z)
    higher_better = FIGURES[sort] is not False
    _rank(rows, sort, higher_better)
    desc = (order or ("desc" if higher_better else "asc")) == "desc"
    rows.sort(key=lambda r: _sort_key(r, sort, desc))
    return Comparison(
        region=RegionPublic(id=region.id, name=region.name),
        date_from=date_from,
        date_to=date_to,
        sort=sort,
        order="desc" if desc else "asc",
        figures=list(FIGURES),
        criteria=criteria,
        stores=rows,
        alerts=_alerts(rows, stale, settings, now),
    )


def _sort_key(row: CompareRow, sort: str, desc: bool) -> tuple[Any, ...]:
    v = getattr(row.figures, sort)
    # Stores without a value go last in either order, then by id for a stable listing.
    if v is None:
        return (1, 0.0, row.store.id)
    return (0, -v if desc else v, row.store.id)


def _rank(rows: list[CompareRow], sort: str, higher_better: bool) -> None:
    valued = [r for r in rows if getattr(r.figures, sort) is not None]
    valued.sort(key=lambda r: getattr(r.figures, sort), reverse=higher_better)
    prev: float | None = None
    rank = 0
    for i, r in enumerate(valued, start=1):
        v = getattr(r.figures, sort)
        if v != prev:  # ties share a rank ("1, 2, 2, 4")
            rank, prev = i, v
        r.rank = rank


def robust_z(values: list[float]) -> list[float | None]:
    """Robust z-score of each value: 0.6745 (x - median) / MAD. None for all when the MAD is 0."""
    med = statistics.median(values)
    mad = statistics.median(abs(v - med) for v in values)
    if mad == 0:
        return [None] * len(values)
    return [_MAD_SCALE * (v - med) / mad for v in values]


def _flag_outliers(rows: list[CompareRow], z_limit: float) -> None:
    for name in FIGURES:
        valued = [(r, getattr(r.figures, name)) for r in rows if getattr(r.figures, name) is not None]
        if len(valued) < MIN_STORES_FOR_OUTLIERS:
            continue
        for (r, _), z in zip(valued, robust_z([v for _, v in valued]), strict=False):
            if z is not None and abs(z) > z_limit:
                r.outliers.append(name)


def _alerts(rows: list[CompareRow], stale: dict[str, list[DeviceStatus]], settings: CentralSettings,
            now: dt.datetime) -> list[Alert]:
    """The region's alerts by store id; ``stale`` holds each store's stale devices (value: seconds since the beat)."""
    a = settings.alerts
    out: list[Alert] = []
    for r in sorted(rows, key=lambda r: r.store.id):
        sid, f = r.store.id, r.figures
        if r.devices == 0:
            out.append(Alert(store_id=sid, kind="no_device", value=None, threshold=None, message=f"{sid}: no device registered"))
        for dev in r.silent_devices:
            out.append(Alert(store_id=sid, kind="silent_device", value=None, threshold=settings.silent_after_s / 3600,
                             message=f"{sid}: device {dev} has not synced for over {settings.silent_after_s // 3600} h"))
        for d in stale.get(sid, []):
            since = d.last_heartbeat_at
            if since is None:  # never reached: a device that never sent a heartbeat is "never", not stale
                continue
            out.append(Alert(store_id=sid, kind="stale_device", value=(now - since).total_seconds(),
                             threshold=float(settings.heartbeat_stale_after_s),
                             message=f"{sid}: device {d.id} has sent no heartbeat since {since:%Y-%m-%d %H:%M} UTC "
                                     f"(stale after {settings.heartbeat_stale_after_s // 60} min)"))
        low = f.low_rating_share
        if low is not None and (f.ratings_n or 0) >= a.min_ratings and low >= a.low_rating_share:
            out.append(Alert(store_id=sid, kind="low_ratings", value=low, threshold=a.low_rating_share,
                             message=f"{sid}: {low:.0%} of {f.ratings_n} ratings are 1 or 2 (alert at {a.low_rating_share:.0%})"))
        if f.wait_p90_s is not None and f.wait_p90_s >= a.p90_wait_s:
            out.append(Alert(store_id=sid, kind="p90_wait", value=f.wait_p90_s, threshold=a.p90_wait_s,
                             message=f"{sid}: p90 wait {f.wait_p90_s:.0f} s (alert at {a.p90_wait_s:.0f} s)"))
    return out

