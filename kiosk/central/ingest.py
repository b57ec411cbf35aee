"""Applying a device's batch of aggregates: once per batch_id, only for the device's own store.

The ``aggregates`` table keeps the latest version of each (device, period, period_start): a terminal that
re-sends an hour (say, after a late rating tap) replaces it instead of adding to it. Each batch then recomputes
the ``store_days`` rollup for exactly the store-days it touched, so rollups never drift from their rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kiosk.vocabulary import MEASURES
from kiosk.wire.aggregate import Aggregate
from kiosk.central import models as m
from kiosk.central.partitions import ensure_partitions
from kiosk.settings.central import CentralSettings
from kiosk.central.totals import Totals, totals_columns, totals_from_wire, totals_to_columns

_UPSERT_COLUMNS = (
    "store_id", "interactions", "greeted", "abandoned", "rating_1", "rating_2", "rating_3", "rating_4",
    "measures", "within_target", "reasons", "batch_id", "received_at", "day",
)


class IngestForbidden(Exception):
    """The device may not post this batch (another device's id, or another store's aggregates)."""


class IngestInvalid(ValueError):
    """An aggregate the wire model accepts but no counter can produce (the API answers 422)."""


class BatchConflict(Exception):
    """The batch_id was already used by a different device."""


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    accepted: int
    duplicate: bool


def local_day(period_start: dt.datetime, period: str, tz: ZoneInfo) -> dt.date:
    """The store-local calendar day an aggregate counts towards.

    An hour row belongs to the local date of its start. A day row (the merged quiet hours of a UTC day, which
    cannot be split by hour) belongs to the local date of that UTC day's noon: the same date for any zone
    within UTC-11..UTC+11, so every interaction lands in exactly one local day.
    """
    at = period_start + dt.timedelta(hours=12) if period == "day" else period_start
    return at.astimezone(tz).date()


def week_start(day: dt.date) -> dt.date:
    """Monday of ``day``'s ISO week: stored with each rollup row so weekly trends group the same way in any SQL."""
    return day - dt.timedelta(days=day.weekday())


# Upper bounds no counter reaches. kiosk.wire.aggregate leaves these open; the server needs them so a broken or
# hostile terminal cannot overflow a database integer or push a percentile sum to infinity.
MAX_ROW_INTERACTIONS = 100_000  # one counter, one day
MAX_MEASURE = {"greeting_s": 86_400.0, "wait_s": 86_400.0, "eye_contact_ratio": 1.0, "distance_m_median": 100.0}
PERIOD_LENGTH = {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1)}
_K_RULE = "privacy.min_group_size"


@dataclass(frozen=True)
class IngestRules:
    """What a row must satisfy beyond the wire model, fixed for one request (settings plus the server's clock).

    ``latest_end``: no period may end after it (the current hour is unfinished, a future one impossible);
    ``earliest_start``: none may start before it (retention).
    """

    k: int
    earliest_start: dt.datetime
    latest_end: dt.datetime

    @classmethod
    def at(cls, now: dt.datetime, settings: CentralSettings) -> IngestRules:
        return cls(k=settings.min_group_size,
                   earliest_start=now - dt.timedelta(days=settings.max_age_days),
                   latest_end=now + dt.timedelta(seconds=settings.clock_skew_s))


def check_batch(device: m.Device, device_id: str, rows: Iterable[Aggregate], rules: IngestRules) -> None:
    """Refuse (before writing anything) a batch that is not wholly the device's own, or not plausible.

    Raises:
        IngestForbidden: another device's or another store's aggregates (403).
        IngestInvalid: a count or measure beyond what a counter can produce, a group under k, or a period that
            is unfinished, in the future or past retention (422, naming the rule).
    """
    if device_id != device.id:
        raise IngestForbidden(f"device_id {device_id!r} in the body is not the token's device {device.id!r}")
    for i, r in enumerate(rows):
        if r.device_id != device.id:
            raise IngestForbidden(f"aggregates[{i}].device_id {r.device_id!r} is not the token's device {device.id!r}")
        if r.store_id != device.store_id:
            raise IngestForbidden(f"aggregates[{i}].store_id {r.store_id!r}: this device belongs to store {device.store_id!r}")
        _check_period(i, r, rules)
        _check_k(i, r, rules.k)
        _check_plausible(i, r)


def _check_period(i: int, r: Aggregate, rules: IngestRules) -> None:
    start = r.period_start
    if start < rules.earliest_start:
        raise IngestInvalid(f"aggregates[{i}].period_start {start.isoformat()} is before {rules.earliest_start:%Y-%m-%d}: "
                            "older than central.max_age_days allows")
    # start is checked on its own first: the end of a period on 9999-12-31 is past the calendar (OverflowError).
    if start >= rules.latest_end or start + PERIOD_LENGTH[r.period] > rules.latest_end:
        raise IngestInvalid(f"aggregates[{i}].period_start {start.isoformat()}: this {r.period} has not ended by the "
                            f"server's clock plus central.clock_skew_s ({rules.latest_end.isoformat()}); only finished "
                            "periods may be sent (check the terminal's clock)")


def _check_k(i: int, r: Aggregate, k: int) -> None:
    rule = f"under the minimum group size k={k} ({_K_RULE})"
    if r.interactions < k:
        raise IngestInvalid(f"aggregates[{i}].interactions = {r.interactions} is {rule}: such a group must be merged "
                            "into the day or dropped on the terminal")
    for name in MEASURES:
        st = getattr(r, name)
        if st.p50 is not None and st.n < k:
            raise IngestInvalid(f"aggregates[{i}].{name} has percentiles of n = {st.n} values, {rule}: send them null")
    for c, cc in r.within_target.items():
        if cc.met is not None and cc.n < k:
            raise IngestInvalid(f"aggregates[{i}].within_target.{c} has met of n = {cc.n}, {rule}: send it null")


def _check_plausible(i: int, r: Aggregate) -> None:
    if r.interactions > MAX_ROW_INTERACTIONS:
        raise IngestInvalid(f"aggregates[{i}].interactions = {r.interactions} is above {MAX_ROW_INTERACTIONS}")
    for face, count in r.ratings.items():
        if count > MAX_ROW_INTERACTIONS:
            raise IngestInvalid(f"aggregates[{i}].ratings.{face} = {count} is above {MAX_ROW_INTERACTIONS}")
    for name, top in MAX_MEASURE.items():
        st = getattr(r, name)
        for stat in ("p50", "p90", "mean"):
            v = getattr(st, stat)
            if v is not None and v > top:
                raise IngestInvalid(f"aggregates[{i}].{name}.{stat} = {v} is above {top:g}")


def apply_batch(session: Session, device: m.Device, batch_id: str, rows: list[Aggregate], now: dt.datetime) -> BatchResult:
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
    ensure_partitions(session.get_bind(), (r.period_start for r in rows))  # type: ignore[arg-type]
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


def _row_values(r: Aggregate, tz: ZoneInfo, batch_id: str, now: dt.datetime) -> dict[str, Any]:
    d = r.model_dump()  # one serialiser call per aggregate: field by field costs six
    return {
        "store_id": d["store_id"],
        "device_id": d["device_id"],
        "period": d["period"],
        "period_start": r.period_start,
        "day": local_day(r.period_start, r.period, tz),
        "interactions": d["interactions"],
        "greeted": d["greeted"],
        "abandoned": d["abandoned"],
        **{f"rating_{k}": c for k, c in d["ratings"].items()},
        "measures": {name: d[name] for name in MEASURES},
        "within_target": d["within_target"],
        "reasons": d.get("reasons") or None,
        "batch_id": batch_id,
        "received_at": now,
    }


def _upsert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    ins = postgresql.insert(m.Aggregate) if dialect == "postgresql" else sqlite.insert(m.Aggregate)
    return ins.on_conflict_do_update(
        index_elements=["device_id", "period", "period_start"],
        set_={c: ins.excluded[c] for c in _UPSERT_COLUMNS},
    )


def aggregate_totals(a: Any) -> Totals:
    """Totals of one ``aggregates`` row (an ORM object or a Core row with the same attribute names)."""
    return totals_from_wire(
        interactions=a.interactions,
        greeted=a.greeted,
        abandoned=a.abandoned,
        ratings=[a.rating_1, a.rating_2, a.rating_3, a.rating_4],
        measures=a.measures,
        within_target=a.within_target,
    )


def refresh_store_days(session: Session, pairs: set[tuple[str, dt.date]], chunk: int = 500) -> None:
    """Recompute the ``store_days`` (and criteria) rollup of each (store_id, day) in ``pairs`` from its rows, and the
    ``store_weeks`` of their weeks from the days.

    A day's total is the plain sum of its rows: hour rows carry the hours with at least k interactions and the
    day row only the quiet hours merged together (kiosk.wire.aggregate), so no interaction is in two rows.
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
    a_ = m.Aggregate
    # Core rows of just the summed columns: building ORM objects here cost more than the sums.
    rows = session.execute(
        select(a_.day, a_.interactions, a_.greeted, a_.abandoned, a_.rating_1, a_.rating_2, a_.rating_3,
               a_.rating_4, a_.measures, a_.within_target)
        .where(a_.store_id == store_id, a_.day.in_(days))
    )
    for a in rows:
        totals.setdefault(a.day, Totals()).add(aggregate_totals(a))
    session.execute(delete(m.StoreDay).where(m.StoreDay.store_id == store_id, m.StoreDay.day.in_(days)))
    session.execute(delete(m.StoreDayCriterion).where(m.StoreDayCriterion.store_id == store_id, m.StoreDayCriterion.day.in_(days)))
    day_rows = [{"store_id": store_id, "day": d, "week_start": week_start(d), **totals_to_columns(t)} for d, t in totals.items()]
    crit_rows = [
        {"store_id": store_id, "day": d, "week_start": week_start(d), "criterion": c, "n": n, "met": met}
        for d, t in totals.items()
        for c, (n, met) in t.criteria.items()
    ]
    if day_rows:
        session.execute(insert(m.StoreDay), day_rows)
    if crit_rows:
        session.execute(insert(m.StoreDayCriterion), crit_rows)
    _refresh_weeks(session, store_id, sorted({week_start(d) for d in days}))


def _refresh_weeks(session: Session, store_id: str, weeks: list[dt.date]) -> None:
    """Recompute ``store_weeks`` (and criteria) of ``weeks`` from their ``store_days``, in SQL: at most 7 rows each."""
    sd, sdc, sw, swc = m.StoreDay, m.StoreDayCriterion, m.StoreWeek, m.StoreWeekCriterion
    session.execute(delete(sw).where(sw.store_id == store_id, sw.week_start.in_(weeks)))
    session.execute(delete(swc).where(swc.store_id == store_id, swc.week_start.in_(weeks)))
    cols = totals_columns()
    days = (select(sd.store_id, sd.week_start, func.count(), *[func.sum(getattr(sd, c)) for c in cols])
            .where(sd.store_id == store_id, sd.week_start.in_(weeks)).group_by(sd.store_id, sd.week_start))
    session.execute(insert(sw).from_select(["store_id", "week_start", "days", *cols], days))
    crit = (select(sdc.store_id, sdc.week_start, sdc.criterion, func.sum(sdc.n), func.sum(sdc.met))
            .where(sdc.store_id == store_id, sdc.week_start.in_(weeks))
            .group_by(sdc.store_id, sdc.week_start, sdc.criterion))
    session.execute(insert(swc).from_select(["store_id", "week_start", "criterion", "n", "met"], crit))
