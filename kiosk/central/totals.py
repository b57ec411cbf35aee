"""Additive totals of aggregates, and the figures reports derive from them.

A :class:`Totals` adds up like counts do: the sum of a day's rows, of a week's days, of a region's stores.
Percentile figures come back as the n-weighted mean of the summed percentiles (``p50_sum / n``): the pooled
estimate, since percentiles of parts cannot be merged exactly (kiosk.wire.aggregate says so too). Rows whose
percentiles or ``met`` were withheld (fewer than k values) add nothing to those sums. ``None`` means "no data",
never zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from kiosk.vocabulary import MEASURES

STATS = ("p50", "p90", "mean")
_SUMS = ("n", "p50_sum", "p90_sum", "mean_sum")


def _empty_sums() -> dict[str, dict[str, float]]:
    return {m: {k: 0.0 for k in _SUMS} for m in MEASURES}


@dataclass
class Totals:
    """Sums over any set of aggregates.

    ``measure_sums[m]`` = {"n", "p50_sum", "p90_sum", "mean_sum"}; ``criteria[c]`` = [n judged, met].
    ``rows`` counts the aggregates added, so a store with no rows is told apart from one with zero customers.
    """

    interactions: int = 0
    greeted: int = 0
    abandoned: int = 0
    ratings: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    measure_sums: dict[str, dict[str, float]] = field(default_factory=_empty_sums)
    criteria: dict[str, list[int]] = field(default_factory=dict)
    rows: int = 0

    def add(self, other: Totals) -> None:
        self.interactions += other.interactions
        self.greeted += other.greeted
        self.abandoned += other.abandoned
        self.ratings = [a + b for a, b in zip(self.ratings, other.ratings, strict=False)]
        for m in MEASURES:
            for k in _SUMS:
                self.measure_sums[m][k] += other.measure_sums[m][k]
        for c, (n, met) in other.criteria.items():
            mine = self.criteria.setdefault(c, [0, 0])
            mine[0] += n
            mine[1] += met
        self.rows += other.rows

    # --- derived figures (None when there is nothing to divide, or fewer than k behind it) ---
    # ``k`` is the minimum group size (privacy.min_group_size): ingest already refuses groups under it, and the
    # figures check again so rows from before that rule, or from before k was raised, still show nothing smaller.

    def stat(self, measure: str, stat: str, k: int) -> float | None:
        """n-weighted mean of ``stat`` (p50/p90/mean) of ``measure``; None when fewer than k values gave it."""
        s = self.measure_sums[measure]
        return pooled(s[f"{stat}_sum"], s["n"], k)

    @property
    def ratings_n(self) -> int:
        return sum(self.ratings)

    @staticmethod
    def ratio(part: int | float, whole: int | float, k: int = 1) -> float | None:
        return None if whole <= 0 or whole < k else part / whole

    def rating_mean(self, k: int) -> float | None:
        return rating_mean(self.ratings, k)

    def low_rating_share(self, k: int) -> float | None:
        """Share of ratings that are 1 or 2 (the two unhappy faces)."""
        return low_rating_share(self.ratings, k)

    def criterion_share(self, criterion: str | None, k: int) -> float | None:
        """Share of judged interactions that met ``criterion``; None when judged on fewer than k."""
        if criterion is None or criterion not in self.criteria:
            return None
        n, met = self.criteria[criterion]
        return self.ratio(met, n, k)

    def figures(self, greeting_criterion: str | None, k: int) -> dict[str, float | int | None]:
        """The flat figures every report shows (keys are FIGURES); all None for fewer than k interactions."""
        if self.rows <= 0 or self.interactions < k:
            return dict.fromkeys(FIGURES)
        return {
            "interactions": self.interactions,
            "greeted_share": self.ratio(self.greeted, self.interactions, k),
            "greeted_within_target_share": self.criterion_share(greeting_criterion, k),
            "abandoned_share": self.ratio(self.abandoned, self.interactions, k),
            "greeting_p50_s": self.stat("greeting_s", "p50", k),
            "greeting_p90_s": self.stat("greeting_s", "p90", k),
            "wait_p50_s": self.stat("wait_s", "p50", k),
            "wait_p90_s": self.stat("wait_s", "p90", k),
            "eye_contact_ratio": self.stat("eye_contact_ratio", "mean", k),
            "distance_p50_m": self.stat("distance_m_median", "p50", k),
            "distance_p90_m": self.stat("distance_m_median", "p90", k),
            "rating_mean": self.rating_mean(k),
            "low_rating_share": self.low_rating_share(k),
            "ratings_n": self.ratings_n,
        }


# The same rules for callers holding bare sums (a weekly trend reads thousands of rows: no Totals per row).

def pooled(stat_sum: float, n: float, k: int) -> float | None:
    """A pooled percentile or mean from its n-weighted sum; None when fewer than k values (or none) gave it."""
    return None if n <= 0 or n < k else stat_sum / n


def rating_mean(ratings: list[int], k: int) -> float | None:
    return Totals.ratio(sum((i + 1) * c for i, c in enumerate(ratings)), sum(ratings), k)


def low_rating_share(ratings: list[int], k: int) -> float | None:
    """Share of ratings that are 1 or 2 (the two unhappy faces); None for fewer than k ratings."""
    return Totals.ratio(ratings[0] + ratings[1], sum(ratings), k)


FigureName = Literal[
    "interactions", "greeted_share", "greeted_within_target_share", "abandoned_share", "greeting_p50_s",
    "greeting_p90_s", "wait_p50_s", "wait_p90_s", "eye_contact_ratio", "distance_p50_m", "distance_p90_m",
    "rating_mean", "low_rating_share", "ratings_n",
]
# Every comparable figure, with whether a higher value is better (ranking, outliers, colouring changes).
# Distance has no better direction (the rubric wants a band, not "closer"): None.
FIGURES: dict[str, bool | None] = {
    "interactions": True,
    "greeted_share": True,
    "greeted_within_target_share": True,
    "abandoned_share": False,
    "greeting_p50_s": False,
    "greeting_p90_s": False,
    "wait_p50_s": False,
    "wait_p90_s": False,
    "eye_contact_ratio": True,
    "distance_p50_m": None,
    "distance_p90_m": None,
    "rating_mean": True,
    "low_rating_share": False,
    "ratings_n": True,
}


if tuple(FIGURES) != get_args(FigureName):  # the API's sort parameter is typed from FigureName
    raise RuntimeError("FigureName and FIGURES list different figures")


def totals_from_wire(
    *,
    interactions: int,
    greeted: int,
    abandoned: int,
    ratings: list[int],
    measures: Mapping[str, Mapping[str, Any]],
    within_target: Mapping[str, Mapping[str, Any]],
) -> Totals:
    """The Totals of one aggregate (measures and within_target in kiosk.wire.aggregate's JSON shape)."""
    t = Totals(interactions=interactions, greeted=greeted, abandoned=abandoned, ratings=list(ratings), rows=1)
    for m in MEASURES:
        st = measures.get(m) or {}
        n = int(st.get("n") or 0)
        if n <= 0 or any(st.get(s) is None for s in STATS):
            continue  # withheld (n < k): contributes to no pooled percentile
        t.measure_sums[m]["n"] = n
        for s in STATS:
            t.measure_sums[m][f"{s}_sum"] = float(st[s]) * n
    for c, cc in within_target.items():
        if cc.get("met") is not None:
            t.criteria[c] = [int(cc["n"]), int(cc["met"])]
    return t


def totals_to_columns(t: Totals) -> dict[str, Any]:
    """The ``store_days`` columns of ``t`` (criteria go to ``store_day_criteria``)."""
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
    return out


def totals_columns() -> list[str]:
    """Names of the additive ``store_days`` columns, for building ``SUM(...)`` queries."""
    return list(_COLUMNS)


def totals_from_columns(row: Mapping[str, Any], criteria: Mapping[str, list[int]] | None = None) -> Totals:
    """Inverse of :func:`totals_to_columns`, also for SQL ``SUM`` results labelled alike (plus a ``rows`` count).
    A column missing from ``row`` counts as 0 (a weekly read sums only the columns its points show)."""
    get = row.get
    t = Totals(
        interactions=int(get("interactions") or 0),
        greeted=int(get("greeted") or 0),
        abandoned=int(get("abandoned") or 0),
        ratings=[int(get(f"rating_{i}") or 0) for i in range(1, 5)],
        rows=int(get("rows", 1) or 0),
    )
    for m in MEASURES:
        sums = t.measure_sums[m]
        sums["n"] = int(get(f"{m}_n") or 0)
        for k in ("p50_sum", "p90_sum", "mean_sum"):
            sums[k] = float(get(f"{m}_{k}") or 0.0)
    t.criteria = {c: list(v) for c, v in (criteria or {}).items()}
    return t


_COLUMNS: tuple[str, ...] = tuple(totals_to_columns(Totals()))
