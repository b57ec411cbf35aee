"""Additive totals of aggregates, and the figures reports derive from them.

A :class:`Totals` adds up like counts do: the sum of a day's rows, of a week's days, of a region's stores.
Percentile figures come back as the n-weighted mean of the summed percentiles (``p50_sum / n``): the pooled
estimate, since percentiles of parts cannot be merged exactly. ``None`` means "no data", never zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from kiosk.central.models import BANDS, MEASURES

STATS = ("p50", "p90", "mean")


@dataclass
class Totals:
    """Sums over any set of aggregates. ``measure_sums[m]`` = {"n", "p50_sum", "p90_sum", "mean_sum"}."""

    interactions: int = 0
    greeted: int = 0
    abandoned: int = 0
    ratings: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    measure_sums: dict[str, dict[str, float]] = field(
        default_factory=lambda: {m: {"n": 0, "p50_sum": 0.0, "p90_sum": 0.0, "mean_sum": 0.0} for m in MEASURES}
    )
    bands: dict[str, int] = field(default_factory=lambda: {b: 0 for b in BANDS})
    within_target: dict[str, int] = field(default_factory=dict)
    rows: int = 0

    def add(self, other: "Totals") -> None:
        self.interactions += other.interactions
        self.greeted += other.greeted
        self.abandoned += other.abandoned
        self.ratings = [a + b for a, b in zip(self.ratings, other.ratings)]
        for m in MEASURES:
            for k in ("n", "p50_sum", "p90_sum", "mean_sum"):
                self.measure_sums[m][k] += other.measure_sums[m][k]
        for b in BANDS:
            self.bands[b] += other.bands[b]
        for c, v in other.within_target.items():
            self.within_target[c] = self.within_target.get(c, 0) + v
        self.rows += other.rows

    # --- derived figures (None when there is nothing to divide) ---

    def stat(self, measure: str, stat: str) -> float | None:
        """n-weighted mean of ``stat`` (p50/p90/mean) of ``measure``; None when n is 0."""
        s = self.measure_sums[measure]
        return None if s["n"] <= 0 else s[f"{stat}_sum"] / s["n"]

    @property
    def ratings_n(self) -> int:
        return sum(self.ratings)

    def share(self, part: int, whole: int | None = None) -> float | None:
        whole = self.interactions if whole is None else whole
        return None if whole <= 0 else part / whole

    def rating_mean(self) -> float | None:
        n = self.ratings_n
        return None if n == 0 else sum((i + 1) * c for i, c in enumerate(self.ratings)) / n

    def low_rating_share(self) -> float | None:
        """Share of ratings that are 1 or 2 (the two unhappy faces)."""
        return self.share(self.ratings[0] + self.ratings[1], self.ratings_n)

    def criterion_share(self, criterion: str | None) -> float | None:
        if criterion is None or criterion not in self.within_target:
            return None
        return self.share(self.within_target[criterion])

    def figures(self, greeting_criterion: str | None) -> dict[str, float | int | None]:
        """The flat figures every report shows (keys are the names in FIGURES)."""
        return {
            "interactions": self.interactions if self.rows else None,
            "greeted_share": self.share(self.greeted),
            "greeted_within_target_share": self.criterion_share(greeting_criterion),
            "abandoned_share": self.share(self.abandoned),
            "greeting_p50_s": self.stat("greeting_s", "p50"),
            "greeting_p90_s": self.stat("greeting_s", "p90"),
            "wait_p50_s": self.stat("wait_s", "p50"),
            "wait_p90_s": self.stat("wait_s", "p90"),
            "eye_contact_ratio": self.stat("eye_contact_ratio", "mean"),
            "distance_p50_m": self.stat("distance_m", "p50"),
            "rating_mean": self.rating_mean(),
            "low_rating_share": self.low_rating_share(),
            "ratings_n": self.ratings_n if self.rows else None,
        }


# Every comparable figure, with whether a higher value is better (for ranking and for colouring changes).
FIGURES: dict[str, bool] = {
    "interactions": True,
    "greeted_share": True,
    "greeted_within_target_share": True,
    "abandoned_share": False,
    "greeting_p50_s": False,
    "greeting_p90_s": False,
    "wait_p50_s": False,
    "wait_p90_s": False,
    "eye_contact_ratio": True,
    "distance_p50_m": False,
    "rating_mean": True,
    "low_rating_share": False,
    "ratings_n": True,
}


def totals_from_aggregate(
    *,
    interactions: int,
    greeted: int,
    abandoned: int,
    ratings: list[int],
    measures: Mapping[str, Mapping[str, Any]],
    bands: Mapping[str, int],
    within_target: Mapping[str, int],
) -> Totals:
    """The Totals of one aggregate row (as stored in the ``aggregates`` table)."""
    t = Totals(interactions=interactions, greeted=greeted, abandoned=abandoned, ratings=list(ratings), rows=1)
    for m in MEASURES:
        st = measures.get(m) or {}
        n = int(st.get("n") or 0)
        if n <= 0:
            continue
        t.measure_sums[m]["n"] = n
        for s in STATS:
            v = st.get(s)
            # A missing statistic with n > 0 counts as absent for that statistic only would skew the weights;
            # the wire model refuses it, so here it can only be a complete set.
            t.measure_sums[m][f"{s}_sum"] = float(v) * n if v is not None else 0.0
    for b in BANDS:
        t.bands[b] = int(bands.get(b, 0))
    t.within_target = {str(k): int(v) for k, v in within_target.items()}
    return t


def totals_columns() -> list[str]:
    """Column names of ``store_days`` that hold Totals fields, in a fixed order."""
    cols = ["interactions", "greeted", "abandoned", "rating_1", "rating_2", "rating_3", "rating_4"]
    for m in MEASURES:
        cols += [f"{m}_n", f"{m}_p50_sum", f"{m}_p90_sum", f"{m}_mean_sum"]
    cols += [f"band_{b}" for b in BANDS]
    return cols


def totals_to_columns(t: Totals) -> dict[str, Any]:
    out: dict[str, Any] = {
        "interactions": t.interactions,
        "greeted": t.greeted,
        "abandoned": t.abandoned,
        **{f"rating_{i + 1}": c for i, c in enumerate(t.ratings)},
    }
    for m in MEASURES:
        s = t.measure_sums[m]
        out[f"{m}_n"] = int(s["n"])
        for k in ("p50_sum", "p90_sum", "mean_sum"):
            out[f"{m}_{k}"] = s[k]
    for b in BANDS:
        out[f"band_{b}"] = t.bands[b]
    return out


def totals_from_columns(row: Mapping[str, Any], within_target: Mapping[str, int] | None = None, rows: int = 1) -> Totals:
    """Inverse of :func:`totals_to_columns` (also for SQL ``SUM`` results labelled with the same names)."""
    t = Totals(
        interactions=int(row["interactions"] or 0),
        greeted=int(row["greeted"] or 0),
        abandoned=int(row["abandoned"] or 0),
        ratings=[int(row[f"rating_{i}"] or 0) for i in range(1, 5)],
        rows=rows,
    )
    for m in MEASURES:
        t.measure_sums[m]["n"] = int(row[f"{m}_n"] or 0)
        for k in ("p50_sum", "p90_sum", "mean_sum"):
            t.measure_sums[m][k] = float(row[f"{m}_{k}"] or 0.0)
    for b in BANDS:
        t.bands[b] = int(row[f"band_{b}"] or 0)
    t.within_target = dict(within_target or {})
    return t


__all__ = ["FIGURES", "STATS", "Totals", "totals_columns", "totals_from_aggregate", "totals_from_columns", "totals_to_columns"]
