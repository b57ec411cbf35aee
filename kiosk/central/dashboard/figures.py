"""What the dashboards add on top of the reports: the satisfaction and overall indices, follow-up answers,
manager calls, response rate, satisfaction by hour, the weekday x hour heat map, and the latest day with data.

All of it reads the same aggregates the reports do (never anything finer), and a figure with nothing behind it
is None, never zero.

**Satisfaction index (0-100).** The mean of the four faces mapped linearly onto 0-100:
``(mean rating - 1) / 3 x 100``. 100 means every customer who rated chose the happiest face, 0 the unhappiest,
67 an average of 3 (the "satisfied" face). It moves exactly with the mean rating and needs no weights.

**Overall index (0-100)**, the comparison's default ranking: the plain mean of the parts a store has data for,
each 0-100: the satisfaction index, the share greeted within target, the share served within the wait target
(rubric ``wait_time``) and the share who stayed (100 minus the share who left before service). A store with none
of them has no index and is listed last, never ranked as a zero.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.wire.aggregate import NEGATIVE_REASONS, POSITIVE_REASONS, REASON_CODES
from kiosk.central import models as m
from kiosk.central.totals import Totals, rating_mean

WAIT_CRITERION = "wait_time"
HEAT_WEEKS = 4


def satisfaction_index(ratings: Sequence[int], k: int = 1) -> float | None:
    """0-100 from the count per face (1..4); None with fewer than ``k`` ratings. See the module docstring."""
    mean = rating_mean(list(ratings), k)
    return None if mean is None else (mean - 1) / 3 * 100


def response_rate(ratings_n: int | None, interactions: int | None) -> float | None:
    """Ratings per interaction (0..1, may exceed 1 when stand-alone taps come without a seen customer)."""
    if not interactions or ratings_n is None:
        return None
    return ratings_n / interactions


def overall_index(t: Totals, greeting_criterion: str, k: int) -> float | None:
    """0-100: the mean of the parts with data, each from at least ``k`` customers (module docstring)."""
    if t.rows <= 0 or t.interactions < k:
        return None
    parts = [
        satisfaction_index(t.ratings, k),
        _pct(t.criterion_share(greeting_criterion, k)),
        _pct(t.criterion_share(WAIT_CRITERION, k)),
        _pct(1 - t.abandoned / t.interactions),
    ]
    known = [p for p in parts if p is not None]
    return sum(known) / len(known) if known else None


def _pct(share: float | None) -> float | None:
    return None if share is None else share * 100


def median_or_none(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


# ---- rows of one or more stores over local days ---------------------------------------------------------------

def _rows(session: Session, store_ids: Sequence[str], first: dt.date, last: dt.date) -> list[m.Aggregate]:
    if not store_ids:
        return []
    # period_start bounds as well as the day, so PostgreSQL reads only the partitions that can hold the range.
    lo = dt.datetime(first.year, first.month, first.day, tzinfo=dt.UTC) - dt.timedelta(days=1)
    hi = dt.datetime(last.year, last.month, last.day, tzinfo=dt.UTC) + dt.timedelta(days=2)
    return list(session.scalars(select(m.Aggregate).where(
        m.Aggregate.store_id.in_(list(store_ids)), m.Aggregate.day >= first, m.Aggregate.day <= last,
        m.Aggregate.period_start >= lo, m.Aggregate.period_start < hi,
    )))


@dataclass(frozen=True)
class Reasons:
    """Follow-up answers over a period: count per code, good ones and bad ones apart."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def positive(self) -> list[tuple[str, int]]:
        return [(c, self.counts.get(c, 0)) for c in POSITIVE_REASONS]

    def negative(self) -> list[tuple[str, int]]:
        return [(c, self.counts.get(c, 0)) for c in NEGATIVE_REASONS]

    def share(self, code: str) -> float | None:
        return None if not self.total else self.counts.get(code, 0) / self.total


def reasons_by_store(session: Session, store_ids: Sequence[str], first: dt.date, last: dt.date) -> dict[str, Reasons]:
    """Follow-up answers per store over local days ``first``..``last`` (rows without answers add nothing)."""
    sums: dict[str, dict[str, int]] = {s: {} for s in store_ids}
    for a in _rows(session, store_ids, first, last):
        for code, n in (a.reasons or {}).items():
            if code in REASON_CODES:
                sums[a.store_id][code] = sums[a.store_id].get(code, 0) + int(n)
    return {s: Reasons(c) for s, c in sums.items()}


def _add_ratings(into: list[int], a: m.Aggregate) -> None:
    for i, c in enumerate((a.rating_1, a.rating_2, a.rating_3, a.rating_4)):
        into[i] += c


@dataclass(frozen=True)
class HourFigures:
    """One local hour of a period: interactions and the satisfaction index of its hour rows."""

    hour: int
    interactions: int | None
    satisfaction: float | None
    ratings_n: int


def by_hour(session: Session, store: m.Store, first: dt.date, last: dt.date, k: int) -> list[HourFigures]:
    """24 local hours over ``first``..``last``: interactions and satisfaction from the hour rows (quiet hours are
    only in the day rows, so they show as no data)."""
    tz = ZoneInfo(store.timezone)
    counts: dict[int, int] = {}
    ratings: dict[int, list[int]] = {}
    for a in _rows(session, [store.id], first, last):
        if a.period != "hour":
            continue
        h = a.period_start.astimezone(tz).hour
        counts[h] = counts.get(h, 0) + a.interactions
        _add_ratings(ratings.setdefault(h, [0, 0, 0, 0]), a)
    return [HourFigures(h, counts.get(h), satisfaction_index(ratings.get(h, [0, 0, 0, 0]), k),
                        sum(ratings.get(h, [0, 0, 0, 0]))) for h in range(24)]


@dataclass(frozen=True)
class HeatMap:
    """Mean interactions per weekday (0 = Monday) and local hour over ``weeks`` weeks ending on ``last``."""

    first: dt.date
    last: dt.date
    cells: dict[tuple[int, int], float]      # (weekday, hour) -> mean interactions per such day
    satisfaction: dict[tuple[int, int], float]

    @property
    def top(self) -> float:
        return max(self.cells.values(), default=0.0)


def weekday_hour(session: Session, store: m.Store, last: dt.date, k: int, weeks: int = HEAT_WEEKS) -> HeatMap:
    first = last - dt.timedelta(days=7 * weeks - 1)
    tz = ZoneInfo(store.timezone)
    sums: dict[tuple[int, int], int] = {}
    ratings: dict[tuple[int, int], list[int]] = {}
    for a in _rows(session, [store.id], first, last):
        if a.period != "hour":
            continue
        local = a.period_start.astimezone(tz)
        key = (local.weekday(), local.hour)
        sums[key] = sums.get(key, 0) + a.interactions
        _add_ratings(ratings.setdefault(key, [0, 0, 0, 0]), a)
    sat = {cell: s for cell, v in ratings.items() if (s := satisfaction_index(v, k)) is not None}
    return HeatMap(first, last, {cell: v / weeks for cell, v in sums.items()}, sat)


def latest_day_with_data(session: Session, store: m.Store, up_to: dt.date) -> dt.date | None:
    """The store's last local day on or before ``up_to`` that has figures (the rollup holds one row per day)."""
    return session.scalar(
        select(m.StoreDay.day).where(m.StoreDay.store_id == store.id, m.StoreDay.day <= up_to)
        .order_by(m.StoreDay.day.desc()).limit(1)
    )
