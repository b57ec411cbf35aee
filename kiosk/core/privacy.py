"""Turn stored interactions into anonymous aggregates, cutting every group under ``k`` (DESIGN §5, §6).

Pure functions over plain values: no database, no clock. ``kiosk.device.database`` feeds them one or more whole UTC days.

The rule, per UTC day (see ``kiosk.wire.aggregate`` for what the rows mean on the wire):

1. Interactions are grouped by the UTC hour they started in.
2. A day with fewer than ``k`` interactions is dropped whole: nothing of it leaves the device.
3. An hour with at least ``k`` interactions is sent as an ``hour`` row; the smaller hours are merged into one
   ``day`` row holding only that remainder.
4. If the remainder is not empty but under ``k`` (say 3 with k=5), the smallest hour rows are folded into it,
   one by one, until it reaches ``k``. So every row has at least ``k`` interactions, no row can be subtracted
   from another to reveal a small group, and no interaction of a day that is sent is lost.

Within a row, a measure's percentiles and a criterion's ``met`` count are null when fewer than ``k``
interactions have them. Nothing carries an id, a per-person value, a staff member or a track.

Ratings: a rating linked to an interaction counts with that interaction. A stand-alone rating (a customer tap
the terminal could not link) counts in the hour it was tapped. A tap flagged ``no_customer`` (the camera saw
nobody at the counter) is kept on the terminal but never counted: counting it would let a tap without a
customer move the store's score.

Follow-up answers (what stood out, :data:`kiosk.wire.aggregate.REASON_CODES`) are stored on the terminal as counts per
UTC hour, never per tap, so nothing joins an answer to a rating or a person. They count in the row of the hour
they were given, exactly like stand-alone ratings: the same grouping, merging and suppression under ``k``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Literal

from kiosk.vocabulary import RATINGS
from kiosk.wire.aggregate import REASON_CODES, RATING_VALUES, Aggregate, CriterionCount, MeasureStats
from kiosk.core.interaction import Interaction

_DECIMALS = 3  # ms, mm and 0.1 % are finer than any of the four measures can resolve


@dataclass(frozen=True)
class TimedInteraction:
    """An interaction with the wall-clock UTC time its customer arrived, and its rubric verdicts.

    ``started_at`` decides the hour the interaction counts in. ``within_target`` maps a rubric criterion id to
    whether this interaction met it; a criterion missing from the map did not apply to this interaction.
    """

    interaction: Interaction
    started_at: datetime
    within_target: Mapping[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require_aware("TimedInteraction.started_at", self.started_at)


@dataclass(frozen=True)
class TimedRating:
    """A rating tap (1-4) not counted through an interaction, with the wall-clock UTC time of the tap."""

    value: int
    rated_at: datetime
    no_customer: bool = False

    def __post_init__(self) -> None:
        if self.value not in RATINGS:
            raise ValueError(f"TimedRating.value must be 1-4, got {self.value!r}")
        _require_aware("TimedRating.rated_at", self.rated_at)


@dataclass(frozen=True)
class ReasonCount:
    """How many follow-up answers ``reason`` were given in the UTC hour starting at ``hour``."""

    hour: datetime
    reason: str
    count: int

    def __post_init__(self) -> None:
        _require_aware("ReasonCount.hour", self.hour)
        if self.reason not in REASON_CODES:
            raise ValueError(f"ReasonCount.reason must be one of {REASON_CODES}, got {self.reason!r}")
        if self.count < 0:
            raise ValueError(f"ReasonCount.count must not be negative, got {self.count!r}")


@dataclass
class _Group:
    interactions: list[TimedInteraction] = field(default_factory=list)
    ratings: list[int] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    def absorb(self, other: _Group) -> None:
        self.interactions += other.interactions
        self.ratings += other.ratings
        for reason, count in other.reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + count

    @property
    def empty(self) -> bool:
        return not self.interactions and not self.ratings and not self.reasons


def aggregate(
    interactions: Iterable[TimedInteraction],
    ratings: Iterable[TimedRating] = (),
    reasons: Iterable[ReasonCount] = (),
    *,
    store_id: str,
    device_id: str,
    k: int,
) -> list[Aggregate]:
    """Aggregate whole UTC days into hour rows and one remainder day row per day, suppressing groups under ``k``.

    Args:
        interactions: every interaction of the days to aggregate (a partial day gives a partial answer).
        ratings: stand-alone rating taps of those days.
        reasons: follow-up answer counts per hour of those days.
        store_id, device_id: copied into every row.
        k: the minimum group size (``privacy.min_group_size``), 2 or more.

    Returns:
        Rows ordered by day, then hour rows by hour, then the day's remainder row.

    Example: 7 interactions at 09:xx and 2 at 14:xx with k=5 give an hour row for 09:00 (n=7); the 14:00 pair
    cannot stand alone and cannot be topped up without the 09:00 hour, so the result is one day row with n=9.
    """
    if k < 2:
        raise ValueError(f"k (privacy.min_group_size) must be 2 or more, got {k!r}")
    interactions = list(interactions)
    criteria = sorted({c for ti in interactions for c in ti.within_target})
    days: dict[date, dict[datetime, _Group]] = defaultdict(lambda: defaultdict(_Group))
    for ti in interactions:
        hour = _hour(ti.started_at)
        days[hour.date()][hour].interactions.append(ti)
    for tr in ratings:
        if not tr.no_customer:
            hour = _hour(tr.rated_at)
            days[hour.date()][hour].ratings.append(tr.value)
    for rc in reasons:
        if rc.count:
            group = days[_hour(rc.hour).date()][_hour(rc.hour)]
            group.reasons[rc.reason] = group.reasons.get(rc.reason, 0) + rc.count

    rows: list[Aggregate] = []
    for day in sorted(days):
        hours = days[day]
        if sum(len(g.interactions) for g in hours.values()) < k:
            continue  # rule 2: the whole day is too small to say anything about
        big = {h: g for h, g in hours.items() if len(g.interactions) >= k}
        remainder = _Group()
        for h, g in hours.items():
            if h not in big:
                remainder.absorb(g)
        while not remainder.empty and len(remainder.interactions) < k:
            # rule 4: fold the smallest hour (earliest on a tie) into the remainder until it may be sent
            smallest = min(big, key=lambda h: (len(big[h].interactions), h))
            remainder.absorb(big.pop(smallest))
        for h in sorted(big):
            rows.append(_row(big[h], "hour", h, store_id, device_id, k, criteria))
        if not remainder.empty:
            start = datetime.combine(day, time(0), tzinfo=UTC)
            rows.append(_row(remainder, "day", start, store_id, device_id, k, criteria))
    return rows


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of already sorted values, interpolating linearly (numpy's default method)."""
    if not sorted_values:
        raise ValueError("quantile of no values")
    pos = (len(sorted_values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def measure_stats(values: Sequence[float], k: int) -> MeasureStats:
    """p50, p90 and mean of ``values``, or only their count when there are fewer than ``k`` of them."""
    if len(values) < k:
        return MeasureStats(n=len(values))
    ordered = sorted(values)
    return MeasureStats(
        n=len(ordered),
        p50=round(quantile(ordered, 0.5), _DECIMALS),
        p90=round(quantile(ordered, 0.9), _DECIMALS),
        mean=round(sum(ordered) / len(ordered), _DECIMALS),
    )


def _row(
    group: _Group, period: Literal["hour", "day"], start: datetime,
    store_id: str, device_id: str, k: int, criteria: list[str],
) -> Aggregate:
    items = [ti.interaction for ti in group.interactions]
    taps = group.ratings + [i.rating for i in items if i.rating is not None]
    within: dict[str, CriterionCount] = {}
    for criterion in criteria:
        verdicts = [ti.within_target[criterion] for ti in group.interactions if criterion in ti.within_target]
        n = len(verdicts)
        within[criterion] = CriterionCount(n=n, met=sum(verdicts) if n >= k else None)

    def values(name: str) -> list[float]:
        return [v for v in (getattr(i, name) for i in items) if v is not None]

    return Aggregate(
        store_id=store_id,
        device_id=device_id,
        period=period,
        period_start=start,
        interactions=len(items),
        greeted=sum(i.greeted for i in items),
        abandoned=sum(i.abandoned for i in items),
        ratings={v: taps.count(int(v)) for v in RATING_VALUES},
        greeting_s=measure_stats(values("greeting_s"), k),
        wait_s=measure_stats(values("wait_s"), k),
        eye_contact_ratio=measure_stats(values("eye_contact_ratio"), k),
        distance_m_median=measure_stats(values("distance_m_median"), k),
        within_target=within,
        reasons=dict(group.reasons),
    )


def _hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _require_aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime (UTC), got {value!r}")
