"""What a terminal sends (DESIGN §5 Aggregate and the sync batch), validated at the edge.

PROVISIONAL: written against DESIGN §5 until kiosk/aggregate.py lands; then ``AggregateIn`` becomes that model
and :func:`row_from_wire` its adapter. Everything past this module sees only :class:`AggregateRow`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kiosk.central.models import BANDS, MEASURES

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Count = Annotated[int, Field(ge=0, le=1_000_000)]


class MeasureIn(BaseModel):
    """Percentiles of one measure over the period's interactions that have it (``n`` of them)."""

    model_config = ConfigDict(extra="forbid")
    p50: float | None = Field(None, ge=0, le=1e6, allow_inf_nan=False)
    p90: float | None = Field(None, ge=0, le=1e6, allow_inf_nan=False)
    mean: float | None = Field(None, ge=0, le=1e6, allow_inf_nan=False)
    n: Count = 0

    @model_validator(mode="after")
    def _complete_when_counted(self) -> "MeasureIn":
        have = [v is not None for v in (self.p50, self.p90, self.mean)]
        if self.n > 0 and not all(have):
            raise ValueError(f"n = {self.n} needs p50, p90 and mean all set")
        if self.n == 0 and any(have):
            raise ValueError("p50/p90/mean given with n = 0")
        if self.p50 is not None and self.p90 is not None and self.p90 < self.p50:
            raise ValueError(f"p90 ({self.p90}) must not be below p50 ({self.p50})")
        return self


class AggregateIn(BaseModel):
    """One hour (or one day's merged small hours) of one device (DESIGN §5)."""

    model_config = ConfigDict(extra="forbid")
    store_id: Id
    device_id: Id
    period_start: dt.datetime
    period: Literal["hour", "day"]
    interactions: Count
    greeted: Count
    abandoned: Count
    ratings: dict[Literal["1", "2", "3", "4"], Count] = Field(default_factory=dict)
    measures: dict[Literal["greeting_s", "wait_s", "eye_contact_ratio", "distance_m"], MeasureIn] = Field(default_factory=dict)
    distance_bands: dict[Literal["intimate", "personal", "social", "public"], Count] = Field(default_factory=dict)
    within_target: dict[Annotated[str, Field(min_length=1, max_length=64)], Count] = Field(default_factory=dict, max_length=100)

    @field_validator("period_start")
    @classmethod
    def _utc_hour(cls, v: dt.datetime) -> dt.datetime:
        if v.tzinfo is None:
            raise ValueError("period_start needs a UTC offset (e.g. 2025-01-31T09:00:00Z)")
        v = v.astimezone(dt.timezone.utc)
        if (v.minute, v.second, v.microsecond) != (0, 0, 0):
            raise ValueError(f"period_start must be on the hour, got {v.isoformat()}")
        if not dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc) <= v <= dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc):
            raise ValueError(f"period_start {v.isoformat()} is outside 2000..2100")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "AggregateIn":
        if self.greeted > self.interactions:
            raise ValueError(f"greeted ({self.greeted}) exceeds interactions ({self.interactions})")
        if self.abandoned > self.interactions:
            raise ValueError(f"abandoned ({self.abandoned}) exceeds interactions ({self.interactions})")
        if sum(self.ratings.values()) > self.interactions:
            raise ValueError(f"ratings ({sum(self.ratings.values())}) exceed interactions ({self.interactions})")
        for name, m in self.measures.items():
            if m.n > self.interactions:
                raise ValueError(f"measures.{name}.n ({m.n}) exceeds interactions ({self.interactions})")
            if name == "eye_contact_ratio" and m.p90 is not None and m.p90 > 1:
                raise ValueError(f"measures.eye_contact_ratio is a 0..1 ratio, got p90 = {m.p90}")
        for crit, c in self.within_target.items():
            if c > self.interactions:
                raise ValueError(f"within_target.{crit} ({c}) exceeds interactions ({self.interactions})")
        return self


class BatchIn(BaseModel):
    """``POST /api/v1/aggregates`` body: a device's batch, applied once per ``batch_id``."""

    model_config = ConfigDict(extra="forbid")
    device_id: Id
    batch_id: uuid.UUID
    aggregates: list[AggregateIn] = Field(max_length=1_000_000)


@dataclass(frozen=True)
class AggregateRow:
    """The server's own view of one aggregate, independent of the wire's spelling."""

    store_id: str
    device_id: str
    period: str
    period_start: dt.datetime
    interactions: int
    greeted: int
    abandoned: int
    ratings: tuple[int, int, int, int]
    measures: dict[str, dict[str, Any]]
    bands: dict[str, int]
    within_target: dict[str, int]


def row_from_wire(a: AggregateIn) -> AggregateRow:
    return AggregateRow(
        store_id=a.store_id,
        device_id=a.device_id,
        period=a.period,
        period_start=a.period_start,
        interactions=a.interactions,
        greeted=a.greeted,
        abandoned=a.abandoned,
        ratings=(a.ratings.get("1", 0), a.ratings.get("2", 0), a.ratings.get("3", 0), a.ratings.get("4", 0)),
        measures={m: a.measures[m].model_dump() for m in MEASURES if m in a.measures and a.measures[m].n > 0},
        bands={b: a.distance_bands.get(b, 0) for b in BANDS},
        within_target=dict(a.within_target),
    )
