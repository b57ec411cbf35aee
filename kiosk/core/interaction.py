"""One served (or abandoned) customer, as numbers only (DESIGN §5). This is what the terminal stores."""

from __future__ import annotations

import math
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from kiosk.vocabulary import RATINGS

_TIMES = ("arrived_at", "greeted_at", "service_started_at", "left_at")
_DURATIONS = ("greeting_s", "wait_s", "service_s")


def new_interaction_id() -> str:
    """A random id: it names the record, never the person."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Interaction:
    """A customer's visit at the counter.

    Times are seconds on the video clock; durations are seconds; distances metres; ratio 0..1.
    ``abandoned`` is True when the customer left before service started.
    ``rubric_scores`` maps a rubric criterion id to a score 0..1.
    """

    arrived_at: float
    greeted_at: float | None
    service_started_at: float | None
    left_at: float | None
    greeting_s: float | None
    wait_s: float | None
    service_s: float | None
    eye_contact_ratio: float | None
    distance_m_median: float | None
    distance_m_min: float | None
    greeted: bool
    abandoned: bool
    rating: int | None = None
    rubric_scores: dict[str, float] = field(default_factory=dict)
    id: str = field(default_factory=new_interaction_id)

    def __post_init__(self) -> None:
        for name in _TIMES + _DURATIONS + ("eye_contact_ratio", "distance_m_median", "distance_m_min"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (int, float)) or not math.isfinite(v)):
                raise ValueError(f"Interaction.{name} must be a finite number or None, got {v!r}")
        for name in _DURATIONS + ("distance_m_median", "distance_m_min"):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise ValueError(f"Interaction.{name} must not be negative, got {v!r}")
        if self.eye_contact_ratio is not None and not 0.0 <= self.eye_contact_ratio <= 1.0:
            raise ValueError(f"Interaction.eye_contact_ratio must be within 0..1, got {self.eye_contact_ratio!r}")
        if self.rating is not None and self.rating not in RATINGS:
            raise ValueError(f"Interaction.rating must be 1-4 or None, got {self.rating!r}")
        if self.greeted != (self.greeted_at is not None):
            raise ValueError("Interaction.greeted must be True exactly when greeted_at is set")
        for k, v in self.rubric_scores.items():
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"Interaction.rubric_scores[{k!r}] must be within 0..1, got {v!r}")

    def with_rating(self, rating: int | None) -> "Interaction":
        return replace(self, rating=rating)

    def with_scores(self, scores: dict[str, float]) -> "Interaction":
        return replace(self, rubric_scores=dict(scores))

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of DESIGN §5."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Interaction":
        return cls(**data)
