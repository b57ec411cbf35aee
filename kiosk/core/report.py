"""Readable tables and JSON documents of measured interactions (DESIGN §5 output shapes)."""

from __future__ import annotations

import statistics
from typing import Any, Iterable

from kiosk.core.interaction import Interaction


def _fmt(v: Any, nd: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def interaction_json(x: Interaction) -> dict[str, Any]:
    """Interaction as JSON, floats rounded to what the camera can tell (centiseconds, centimetres)."""
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in x.to_dict().items()}


def summary(interactions: Iterable[Interaction]) -> dict[str, Any]:
    """Counts and medians over a list of interactions (for the JSON's "summary")."""
    xs = list(interactions)

    def med(name: str) -> float | None:
        vals = [getattr(x, name) for x in xs if getattr(x, name) is not None]
        return round(statistics.median(vals), 3) if vals else None

    return {
        "interactions": len(xs),
        "greeted": sum(x.greeted for x in xs),
        "abandoned": sum(x.abandoned for x in xs),
        "greeting_s_median": med("greeting_s"),
        "wait_s_median": med("wait_s"),
        "eye_contact_ratio_median": med("eye_contact_ratio"),
        "distance_m_median": med("distance_m_median"),
    }


COLUMNS = ("arrived_at", "greeting_s", "wait_s", "service_s", "eye_contact_ratio", "distance_m_median", "greeted",
           "abandoned")
HEADERS = ("arrive s", "greet s", "wait s", "serve s", "facing", "dist m", "greeted", "abandoned")


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def interactions_table(xs: list[Interaction], score_of=None) -> str:
    """One row per interaction; ``score_of`` optionally adds the rubric's overall score."""
    headers = list(HEADERS) + (["score"] if score_of else [])
    rows = []
    for x in xs:
        row = [_fmt(getattr(x, c)) for c in COLUMNS]
        if score_of:
            row.append(_fmt(score_of(x)))
        rows.append(row)
    return table(rows, headers)


def comparison_table(pairs: list[tuple[Interaction | None, Interaction | None]]) -> str:
    """Measured next to true, per matched interaction."""
    headers = ["", *HEADERS]
    rows = []
    for i, (m, w) in enumerate(pairs, 1):
        for label, x in (("measured", m), ("true", w)):
            rows.append([f"#{i} {label}", *([_fmt(getattr(x, c)) for c in COLUMNS] if x else ["(none)"] + [""] * 7)])
    return table(rows, headers)
