"""The store manager's day: today's figures, the hour-of-day strip, rubric criteria, and the change against
the 7 days before (DESIGN §5 central reads)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import models as m
from kiosk.central.ingest import aggregate_totals
from kiosk.central.reports.common import device_status, figures_model, store_public, sum_store_days
from kiosk.central.schemas import CriterionFigure, DailySummary, Figures, HourCell
from kiosk.settings.central import CentralSettings
from kiosk.central.totals import FIGURES, Totals
from kiosk.core.measures import distance_band

BASELINE_DAYS = 7


def store_today(store: m.Store, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(store.timezone)).date()


def daily_summary(session: Session, store: m.Store, day: dt.date, settings: CentralSettings, now: dt.datetime) -> DailySummary:
    """Everything the daily page and its CSV show for ``store`` on its local date ``day``."""
    crit_name, k = settings.greeting_target_criterion, settings.min_group_size
    tz = ZoneInfo(store.timezone)
    # The period_start bounds are implied by the day (any zone is within a day of UTC); stating them lets
    # PostgreSQL read only the month partitions that can hold the day.
    lo = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) - dt.timedelta(days=1)
    rows = list(session.scalars(select(m.Aggregate).where(
        m.Aggregate.store_id == store.id, m.Aggregate.day == day,
        m.Aggregate.period_start >= lo, m.Aggregate.period_start < lo + dt.timedelta(days=3),
    )))
    today = Totals()
    per_hour: dict[int, int] = {}
    merged = 0
    for a in rows:
        today.add(aggregate_totals(a))
        if a.period == "hour":
            h = a.period_start.astimezone(tz).hour
            per_hour[h] = per_hour.get(h, 0) + a.interactions
        else:
            merged += a.interactions

    start = day - dt.timedelta(days=BASELINE_DAYS)
    base = sum_store_days(session, [store.id], start, day - dt.timedelta(days=1)).get(store.id, Totals())
    figures = figures_model(today, settings)
    baseline = _baseline_figures(base, crit_name, k)
    criteria = [
        CriterionFigure(criterion=c, n=n, met=met, share=today.criterion_share(c, k))
        for c, (n, met) in sorted(today.criteria.items()) if n >= k
    ]
    return DailySummary(
        store=store_public(store),
        date=day,
        status="ok" if rows else "no_data",
        figures=figures,
        previous_7_days=baseline,
        change=_change(figures, baseline),
        ratings={str(i + 1): c for i, c in enumerate(today.ratings)},
        distance_band=distance_band(figures.distance_p50_m, settings.distance_band_edges_m),
        hours=[HourCell(hour=h, interactions=_at_least(per_hour.get(h), k)) for h in range(24)],
        merged_interactions=merged,
        criteria=criteria,
        devices=[device_status(d, now, settings) for d in store.devices],
    )


def _at_least(count: int | None, k: int) -> int | None:
    return None if count is None or count < k else count


def _baseline_figures(base: Totals, crit_name: str, k: int) -> Figures:
    fig = base.figures(crit_name, k)
    if fig["interactions"] is not None:
        # Interactions compare per day: the mean over the baseline days that had data.
        fig["interactions"] = round(base.interactions / base.rows)
        fig["ratings_n"] = round(base.ratings_n / base.rows)
    return Figures.model_validate(fig)


def _change(today: Figures, base: Figures) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name in FIGURES:
        a, b = getattr(today, name), getattr(base, name)
        out[name] = None if a is None or b is None else a - b
    return out
