"""CSV exports of the two views. Empty cells mean "no data", never zero, as on the pages."""

from __future__ import annotations

import csv
import io
from typing import Any

from kiosk.central.schemas import Comparison, DailySummary
from kiosk.central.totals import FIGURES


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4f}".rstrip("0").rstrip(".") if v == v else ""
    return v


def _guard(v: Any) -> Any:
    # A text cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def _write(rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        # Guard first, format after: only text from the database is guarded, so a negative change stays -7.
        w.writerow([_cell(_guard(v)) for v in r])
    return buf.getvalue()


def daily_csv(s: DailySummary) -> str:
    """One tidy table: figure, value, previous_7_days, change; then ratings, criteria and hours as figures."""
    rows: list[list[Any]] = [["store_id", "date", "figure", "value", "previous_7_days", "change"]]
    head = [s.store.id, s.date.isoformat()]
    for name in FIGURES:
        rows.append([*head, name, getattr(s.figures, name), getattr(s.previous_7_days, name), s.change.get(name)])
    for face, count in s.ratings.items():
        rows.append([*head, f"rating_{face}", count, "", ""])
    for c in s.criteria:
        rows.append([*head, f"criterion:{c.criterion}", c.share, "", ""])
    for h in s.hours:
        rows.append([*head, f"hour_{h.hour:02d}", h.interactions, "", ""])
    rows.append([*head, "merged_interactions", s.merged_interactions, "", ""])
    return _write(rows)


def compare_csv(c: Comparison) -> str:
    """One row per store in the listing's order, every figure and criterion share as a column."""
    header = ["store_id", "store_name", "status", "rank", *c.figures, *[f"criterion:{k}" for k in c.criteria],
              "outliers", "silent_devices", "stale_devices", "date_from", "date_to"]
    rows: list[list[Any]] = [header]
    for r in c.stores:
        rows.append([
            r.store.id, r.store.name, r.status, r.rank,
            *[getattr(r.figures, f) for f in c.figures],
            *[r.criteria.get(k) for k in c.criteria],
            " ".join(r.outliers), " ".join(r.silent_devices), " ".join(r.stale_devices),
            c.date_from.isoformat(), c.date_to.isoformat(),
        ])
    return _write(rows)
