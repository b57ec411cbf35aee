"""Applying a device's batch of aggregates: once per batch_id, only for the device's own store.

The ``aggregates`` table keeps the latest version of each (device, period, period_start): a terminal that
re-sends an hour (say, after a late rating tap) replaces it instead of adding to it. Each batch then recomputes
the ``store_days`` rollup for exactly the store-days it touched, so rollups never drift from their rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kiosk.central import models as m
from kiosk.central.totals import Totals, totals_from_aggregate, totals_to_columns
from kiosk.central.wire import AggregateRow

_UPSERT_COLUMNS = (
    "store_id", "interactions", "greeted", "abandoned", "rating_1", "rating_2", "rating_3", "rating_4",
    "measures", "bands", "within_target", "batch_id", "received_at", "day",
)


class IngestForbidden(Exception):
    """The device may not post this batch (another device's id, or another store's aggregates)."""


class BatchConflict(Exception):
    """The batch_id was already used by a different device."""


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    accepted: int
    duplicate: bool


def local_day(period_start: dt.datetime, period: str, tz: ZoneInfo) -> dt.date:
    """The store-local calendar day an aggregate counts towards.

    An hour row belongs to the local date of its start. A day row belongs to the local date of its midpoint
    (start + 12 h), which is right whether the terminal starts its day at local or at UTC midnight.
    """
    at = period_start + dt.timedelta(hours=12) if period == "day" else period_start
    return at.astimezone(tz).date()


def check_batch(device: m.Device, device_id: str, rows: Iterable[AggregateRow]) -> None:
    """Refuse (before writing anything) a batch that is not wholly the device's own."""
    if device_id != device.id:
        raise IngestForbidden(f"device_id {device_id!r} in the body is not the token's device {device.id!r}")
    for i, r in enumerate(rows):
        if r.device_id != device.id:
            raise IngestForbidden(f"aggregates[{i}].device_id {r.device_id!r} is not the token's device {device.id!r}")
        if r.store_id != device.store_id:
            raise IngestForbidden(f"aggregates[{i}].store_id {r.store_id!r}: this device belongs to store {device.store_id!r}")


def apply_batch(session: Session, device: m.Device, batch_id: str, rows: list[AggregateRow], now: dt.datetime) -> BatchResult:
    """Store ``rows`` as batch ``batch_id`` of ``device``; a batch seen before is a no-op.

    Raises:
        BatchConflict: the batch id belongs to another device.
    Commits the session.
    """
    seen = session.get(m.Batch, batch_id)
    if seen is not None:
        return _duplicate(seen, device, batch_id)
    tz = ZoneInfo(device.store.timezone)
    values = [_row_values(r, tz, batch_id, now) for r in rows]
    session.add(m.Batch(id=batch_id, device_id=device.id, received_at=now, aggregates=len(rows)))
    try:
        # The batch row goes first: a concurrent twin of this batch fails here, before writing aggregates.
        session.flush()
    except IntegrityError:
        session.rollback()
        seen = session.get(m.Batch, batch_id)
        if seen is None:
            raise
        return _duplicate(seen, device, batch_id)
    if values:
        session.execute(_upsert(session), values)
        refresh_store_days(session, {(v["store_id"], v["day"]) for v in values})
    device.last_seen_at = now
    session.commit()
    return BatchResult(batch_id=batch_id, accepted=len(rows), duplicate=False)


def _duplicate(seen: m.Batch, device: m.Device, batch_id: str) -> BatchResult:
    if seen.device_id != device.id:
        raise BatchConflict(f"batch_id {batch_id} was already used by another device")
    return BatchResult(batch_id=batch_id, accepted=0, duplicate=True)


def _row_values(r: AggregateRow, tz: ZoneInfo, batch_id: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "store_id": r.store_id,
        "device_id": r.device_id,
        "period": r.period,
        "period_start": r.period_start,
        "day": local_day(r.period_start, r.period, tz),
        "interactions": r.interactions,
        "greeted": r.greeted,
        "abandoned": r.abandoned,
        **{f"rating_{i + 1}": c for i, c in enumerate(r.ratings)},
        "measures": r.measures,
        "bands": r.bands,
        "within_target": r.within_target,
        "batch_id": batch_id,
        "received_at": now,
    }


def _upsert(session: Session) -> Any:
    table = m.Aggregate.__table__
    dialect = session.get_bind().dialect.name
    ins = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return ins.on_conflict_do_update(
        index_elements=["device_id", "period", "period_start"],
        set_={c: ins.excluded[c] for c in _UPSERT_COLUMNS},
    )


def aggregate_totals(a: m.Aggregate) -> Totals:
    return totals_from_aggregate(
        interactions=a.interactions,
        greeted=a.greeted,
        abandoned=a.abandoned,
        ratings=[a.rating_1, a.rating_2, a.rating_3, a.rating_4],
        measures=a.measures,
        bands=a.bands,
        within_target=a.within_target,
    )


def refresh_store_days(session: Session, pairs: set[tuple[str, dt.date]], chunk: int = 500) -> None:
    """Recompute the ``store_days`` (and criteria) rollup of each (store_id, day) in ``pairs`` from its rows.

    A day's total is the plain sum of its rows: hour rows carry the hours with at least k interactions and the
    day row only the small hours merged together (DESIGN §5), so no interaction is in two rows.
    """
    by_store: dict[str, set[dt.date]] = defaultdict(set)
    for store_id, day in pairs:
        by_store[store_id].add(day)
    for store_id, days in by_store.items():
        ordered = sorted(days)
        for i in range(0, len(ordered), chunk):
            _refresh(session, store_id, ordered[i : i + chunk])


def _refresh(session: Session, store_id: str, days: list[dt.date]) -> None:
    totals: dict[dt.date, Totals] = {}
    rows = session.scalars(select(m.Aggregate).where(m.Aggregate.store_id == store_id, m.Aggregate.day.in_(days)))
    for a in rows:
        totals.setdefault(a.day, Totals()).add(aggregate_totals(a))
    session.execute(delete(m.StoreDay).where(m.StoreDay.store_id == store_id, m.StoreDay.day.in_(days)))
    session.execute(delete(m.StoreDayCriterion).where(m.StoreDayCriterion.store_id == store_id, m.StoreDayCriterion.day.in_(days)))
    day_rows = [
        {"store_id": store_id, "day": d, "week_start": d - dt.timedelta(days=d.weekday()), **totals_to_columns(t)}
        for d, t in totals.items()
    ]
    crit_rows = [
        {"store_id": store_id, "day": d, "criterion": c, "within_target": v}
        for d, t in totals.items()
        for c, v in t.within_target.items()
    ]
    if day_rows:
        session.execute(m.StoreDay.__table__.insert(), day_rows)
    if crit_rows:
        session.execute(m.StoreDayCriterion.__table__.insert(), crit_rows)
