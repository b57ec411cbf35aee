"""The only thing that leaves the terminal: an anonymous aggregate (DESIGN §5), and the batch that carries it.

This module is the single source of the wire format. The terminal builds these values (``kiosk.core.privacy``),
the outbox stores their JSON, and the central server validates its ingest with the same classes, so a field
added or renamed here is added or renamed on both ends at once. Every model forbids unknown fields: a stray
``track_id`` or ``keypoints`` key is a validation error, not a silently carried value.

How rows relate (so that the server never double-counts):

* The rows of one device and one UTC day **partition** that day's interactions: every interaction is counted in
  exactly one row. A ``period="hour"`` row holds one UTC hour (``period_start`` = that hour). The single
  ``period="day"`` row (``period_start`` = 00:00 UTC of the day) holds **only the remainder**: the hours that
  were too small to send on their own, merged. It is *not* the day's total.
* A day's totals are therefore the **sum of all its rows** (hour rows plus the day row). Counts add exactly;
  ``mean`` combines exactly weighted by ``n``; ``p50``/``p90`` of a day can only be approximated from rows.
* Every row has at least ``k`` interactions, and the remainder is either empty (no day row) or at least ``k``,
  so subtracting rows from each other never reveals a group under ``k``.
* A day is sent once, after it has ended; ``(device_id, period, period_start)`` is therefore unique across all
  batches of a device, and the server may use it as a natural key.

Example body of ``POST /api/v1/aggregates``::

    {"device_id": "pi-0042", "batch_id": "6f1c...-...", "aggregates": [
      {"store_id": "berlin-01", "device_id": "pi-0042", "period": "hour", "period_start": "2025-03-04T09:00:00Z",
       "interactions": 12, "greeted": 11, "abandoned": 1, "ratings": {"1": 0, "2": 1, "3": 4, "4": 3},
       "greeting_s": {"n": 11, "p50": 4.2, "p90": 9.8, "mean": 5.1}, ...,
       "within_target": {"G1": {"n": 12, "met": 10}}}]}
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from kiosk.vocabulary import MEASURES, RATINGS

RatingValue = Literal["1", "2", "3", "4"]
RATING_VALUES: tuple[RatingValue, ...] = tuple(str(r) for r in RATINGS)  # the JSON keys
MIN_ROW_INTERACTIONS = 2  # the smallest k PrivacySettings allows; a row of one is never valid under any k
# The terminal's one follow-up question after every rating (kiosk.terminal.ratings): what stood out, a good
# and a bad side of the same three things. Only these codes exist: a follow-up answer is never free text.
ReasonCode = Literal["quick", "friendly", "helpful", "waiting", "attitude", "competence"]
POSITIVE_REASONS: tuple[ReasonCode, ...] = ("quick", "friendly", "helpful")
NEGATIVE_REASONS: tuple[ReasonCode, ...] = ("waiting", "attitude", "competence")
REASON_CODES: tuple[ReasonCode, ...] = POSITIVE_REASONS + NEGATIVE_REASONS
CRITERION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"  # short rubric ids only: no room for free text


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class MeasureStats(_Wire):
    """One measure over the interactions of a row that have it.

    ``n`` counts the interactions with a value (e.g. only greeted customers have ``greeting_s``).
    ``p50``, ``p90`` and ``mean`` are null when ``n`` is under ``k``: a median of one is that person's value.
    Units are the measure's own: seconds, a 0..1 ratio, metres.
    """

    n: int = Field(ge=0, description="Interactions with a value for this measure.")
    p50: float | None = Field(default=None, ge=0, description="Median (linear interpolation); null when n < k.")
    p90: float | None = Field(default=None, ge=0, description="90th percentile (linear); null when n < k.")
    mean: float | None = Field(default=None, ge=0, description="Arithmetic mean; null when n < k.")

    @model_validator(mode="after")
    def _consistent(self) -> MeasureStats:
        values = (self.p50, self.p90, self.mean)
        if any(v is None for v in values) and not all(v is None for v in values):
            raise ValueError("p50, p90 and mean are either all set or all null")
        if self.n == 0 and self.p50 is not None:
            raise ValueError("a measure with n=0 has no p50, p90 or mean")
        if self.p50 is not None and self.p90 is not None and self.p50 > self.p90 + 1e-9:
            raise ValueError(f"p50 ({self.p50}) must not exceed p90 ({self.p90})")
        return self


class CriterionCount(_Wire):
    """How many interactions of a row a rubric criterion was judged on (``n``) and how many met it (``met``).

    ``met`` is null when ``n`` is under ``k``, for the same reason as a measure's percentiles.
    """

    n: int = Field(ge=0, description="Interactions the criterion applied to.")
    met: int | None = Field(default=None, ge=0, description="Of those, how many were within target; null when n < k.")

    @model_validator(mode="after")
    def _met_within_n(self) -> CriterionCount:
        if self.met is not None and self.met > self.n:
            raise ValueError(f"met ({self.met}) must not exceed n ({self.n})")
        return self


class Aggregate(_Wire):
    """Anonymous figures of one device for one UTC hour, or for the merged small hours of one UTC day.

    See the module docstring for how hour and day rows of the same day relate (they never overlap).
    """

    store_id: str = Field(min_length=1, max_length=64)
    device_id: str = Field(min_length=1, max_length=64)
    period: Literal["hour", "day"]
    period_start: AwareDatetime = Field(description="UTC, on the hour; 00:00 for a day row.")
    interactions: int = Field(ge=MIN_ROW_INTERACTIONS, description="Customers in this row (at least k).")
    greeted: int = Field(ge=0)
    abandoned: int = Field(ge=0)
    ratings: dict[RatingValue, int] = Field(description="Taps per rating value, all four keys.")
    greeting_s: MeasureStats
    wait_s: MeasureStats
    eye_contact_ratio: MeasureStats
    distance_m_median: MeasureStats
    within_target: dict[str, CriterionCount] = Field(default_factory=dict, max_length=100)
    reasons: dict[ReasonCode, int] = Field(
        default_factory=dict,
        description="Follow-up answers per reason code, counted in the same row as the ratings (so under the "
                    "same k rule). Added later: a row without it means none were given or an older terminal.")

    @model_serializer(mode="wrap")
    def _omit_no_reasons(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        # A row without answers serialises as before, so a terminal that gets this version first can still
        # sync with a server that does not know the field yet.
        out: dict[str, object] = handler(self)
        if not self.reasons:
            out.pop("reasons", None)
        return out

    @field_validator("reasons")
    @classmethod
    def _reason_counts(cls, v: dict[ReasonCode, int]) -> dict[ReasonCode, int]:
        if any(c < 0 for c in v.values()):
            raise ValueError(f"reason counts must not be negative, got {v}")
        return {key: v[key] for key in REASON_CODES if v.get(key)}

    @field_validator("period_start")
    @classmethod
    def _utc(cls, v: AwareDatetime) -> AwareDatetime:
        try:
            return v.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01 at a positive offset falls before year 1 in UTC
            raise ValueError(f"period_start {v.isoformat()} has no UTC equivalent") from None

    @field_validator("ratings")
    @classmethod
    def _all_rating_values(cls, v: dict[RatingValue, int]) -> dict[RatingValue, int]:
        if sorted(v) != list(RATING_VALUES):
            raise ValueError(f"ratings needs exactly the keys 1, 2, 3, 4, got {sorted(v)}")
        if any(c < 0 for c in v.values()):
            raise ValueError(f"rating counts must not be negative, got {v}")
        return {key: v[key] for key in RATING_VALUES}

    @field_validator("within_target")
    @classmethod
    def _criterion_ids(cls, v: dict[str, CriterionCount]) -> dict[str, CriterionCount]:
        bad = [key for key in v if not re.fullmatch(CRITERION_ID_PATTERN, key)]
        if bad:
            raise ValueError(f"criterion ids must match {CRITERION_ID_PATTERN}, got {bad}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Aggregate:
        start = self.period_start
        if (start.minute, start.second, start.microsecond) != (0, 0, 0):
            raise ValueError(f"period_start must be on the hour, got {start.isoformat()}")
        if self.period == "day" and start.hour != 0:
            raise ValueError(f"a day row starts at 00:00 UTC, got {start.isoformat()}")
        for name in ("greeted", "abandoned"):
            if getattr(self, name) > self.interactions:
                raise ValueError(f"{name} ({getattr(self, name)}) exceeds interactions ({self.interactions})")
        for name in MEASURES:
            stats: MeasureStats = getattr(self, name)
            if stats.n > self.interactions:
                raise ValueError(f"{name}.n ({stats.n}) exceeds interactions ({self.interactions})")
        ratio = self.eye_contact_ratio
        if any(v is not None and v > 1.0 for v in (ratio.p50, ratio.p90, ratio.mean)):
            raise ValueError("eye_contact_ratio figures must be within 0..1")
        for key, count in self.within_target.items():
            if count.n > self.interactions:
                raise ValueError(f"within_target[{key!r}].n ({count.n}) exceeds interactions ({self.interactions})")
        return self

    @property
    def key(self) -> tuple[str, str, str]:
        """The natural key ``(device_id, period, period_start ISO)``: unique across a device's batches."""
        return (self.device_id, self.period, self.period_start.isoformat())


class AggregateBatch(_Wire):
    """The body of ``POST /api/v1/aggregates``. The server applies a ``batch_id`` once; a repeat is a no-op 200."""

    device_id: str = Field(min_length=1, max_length=64)
    batch_id: UUID
    aggregates: list[Aggregate] = Field(min_length=1, max_length=10_000)

    @model_validator(mode="after")
    def _one_device(self) -> AggregateBatch:
        others = sorted({a.device_id for a in self.aggregates} - {self.device_id})
        if others:
            raise ValueError(f"every aggregate must carry the batch's device_id {self.device_id!r}, got {others}")
        return self
