"""The demo's past: four weeks of simulated counter days per store, so trends, heat maps and week views have data.

The camera is not simulated here (that takes minutes a day): each customer is drawn as numbers, shaped by the
store's character (how long its customers wait, how soon they are greeted, how often they give up), by the
weekday and by the hour. Everything after that is the real path: the rubric scores each interaction, the
customer's tap and follow-up answer go into the terminal's SQLite store, and the days are aggregated (small
groups cut) and synced by the caller exactly as the terminal does it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import numpy as np

from kiosk.wire.aggregate import NEGATIVE_REASONS, POSITIVE_REASONS
from kiosk.core.rubrics import Rubric, score_interaction, within_target
from kiosk.core.interaction import Interaction
from kiosk.device.database import Store


@dataclass(frozen=True)
class Character:
    """How a store's counter behaves on an ordinary day (medians in seconds, shares 0..1)."""

    customers_per_hour: float
    wait_median_s: float
    greeting_median_s: float
    abandon_share: float
    facing_mean: float
    open_hours: tuple[int, int] = (9, 19)
    weekend_factor: float = 1.0     # Saturday and Sunday traffic against a weekday
    mood: int = 0                   # added to each rating, as in kiosk.demo.run


CHARACTERS = {
    "north-retail": Character(9.0, 25.0, 5.0, 0.03, 0.6, weekend_factor=1.4),
    "north-bank": Character(6.0, 150.0, 14.0, 0.10, 0.5, open_hours=(9, 17), weekend_factor=0.0, mood=-1),
    "north-mall": Character(7.0, 45.0, 9.0, 0.05, 0.55, open_hours=(10, 21), weekend_factor=1.8),
}


def _hour_shape(hour: int, open_hours: tuple[int, int]) -> float:
    """Traffic over the day: a lunch peak and an after-work peak."""
    lo, hi = open_hours
    x = (hour - lo) / max(1, hi - lo)
    return 0.5 + 0.8 * math.exp(-((x - 0.35) ** 2) / 0.02) + 0.6 * math.exp(-((x - 0.8) ** 2) / 0.02)


def simulate_customer(c: Character, rng: np.random.Generator) -> Interaction:
    """One customer's numbers, drawn around the store's medians (log-normal waits: a few wait very long)."""
    wait = float(rng.lognormal(math.log(c.wait_median_s), 0.6))
    greeting = min(wait, float(rng.lognormal(math.log(c.greeting_median_s), 0.7)))
    abandoned = bool(rng.random() < c.abandon_share * (1 + wait / (4 * c.wait_median_s)))
    greeted = abandoned is False or rng.random() < 0.4
    service = float(rng.lognormal(math.log(90), 0.5))
    if abandoned:
        left = wait * float(rng.uniform(0.4, 1.0))
        return Interaction(arrived_at=0.0, greeted_at=greeting if greeted and greeting < left else None,
                           service_started_at=None, left_at=left,
                           greeting_s=greeting if greeted and greeting < left else None, wait_s=None, service_s=None,
                           eye_contact_ratio=None, distance_m_median=None, distance_m_min=None,
                           greeted=greeted and greeting < left, abandoned=True)
    distance = float(np.clip(rng.normal(1.15, 0.2), 0.5, 2.5))
    return Interaction(arrived_at=0.0, greeted_at=greeting, service_started_at=wait, left_at=wait + service,
                       greeting_s=greeting, wait_s=wait, service_s=service,
                       eye_contact_ratio=float(np.clip(rng.beta(6 * c.facing_mean, 6 * (1 - c.facing_mean)), 0, 1)),
                       distance_m_median=distance, distance_m_min=max(0.4, distance - 0.2), greeted=True,
                       abandoned=False)


def follow_up(rating: int, wait_s: float | None, c: Character, rng: np.random.Generator) -> str | None:
    """The customer's answer to the one follow-up question (about half answer); None for no answer."""
    if rng.random() > 0.5:
        return None
    if rating >= 3:
        weights = np.array([3.0 if (wait_s or 0) < c.wait_median_s else 1.0, 2.0, 1.5])
        return str(rng.choice(POSITIVE_REASONS, p=weights / weights.sum()))
    weights = np.array([3.0 if (wait_s or 0) > c.wait_median_s else 1.0, 1.2, 1.0])
    return str(rng.choice(NEGATIVE_REASONS, p=weights / weights.sum()))


RatingRule = Callable[[Interaction, int, np.random.Generator], "int | None"]  # kiosk.demo.run.rating_for


def backfill(store: Store, store_id: str, rubric: Rubric, first: date, days: int, seed: int,
             rate: RatingRule) -> tuple[int, int]:
    """Store ``days`` simulated days from ``first`` in ``store``; returns (interactions, follow-up answers)."""
    c = CHARACTERS[store_id]
    rng = np.random.default_rng(seed)
    items: list[tuple[Interaction, datetime, dict[str, bool]]] = []
    answers: list[tuple[str, datetime]] = []
    for d in range(days):
        day = first + timedelta(days=d)
        factor = c.weekend_factor if day.weekday() >= 5 else 1.0
        start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        for hour in range(*c.open_hours):
            for _ in range(int(rng.poisson(c.customers_per_hour * factor * _hour_shape(hour, c.open_hours)))):
                x = simulate_customer(c, rng)
                ended = start + timedelta(hours=hour, seconds=float(rng.uniform(0, 3000)) + (x.left_at or 0.0))
                scored = x.with_scores(score_interaction(rubric, x)).with_rating(rate(x, c.mood, rng))
                items.append((scored, ended, within_target(rubric, x)))
                if scored.rating is not None and (code := follow_up(scored.rating, x.wait_s, c, rng)) is not None:
                    answers.append((code, ended))
    store.add_interactions(items)
    store.add_reasons(answers)
    return len(items), len(answers)
