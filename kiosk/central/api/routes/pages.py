"""HTML pages over the same read models as the JSON API: sign-in, the manager's day, the regional comparison.

Pages take their store or region through ``PageStore`` / ``PageRegion`` (deps.py): the same tenancy rule as the
API, with a redirect to the sign-in page instead of a 401.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from kiosk.central import charts, crud
from kiosk.central import models as m
from kiosk.central.api.routes.auth import set_session_cookie, sign_in
from kiosk.central.api.routes.reports import DateQ, FromQ, ToQ, range_or_default
from kiosk.central.deps import SESSION_COOKIE, NowDep, PageRegion, PageStore, PageUser, SessionDep, SettingsDep
from kiosk.central.reports.compare import compare_region
from kiosk.central.reports.daily import daily_summary, store_today
from kiosk.central.totals import FIGURES

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parents[2] / "templates")

LABELS: dict[str, str] = {
    "interactions": "Interactions",
    "greeted_share": "Greeted",
    "greeted_within_target_share": "Greeted within target",
    "abandoned_share": "Left before service",
    "greeting_p50_s": "Greeting p50",
    "greeting_p90_s": "Greeting p90",
    "wait_p50_s": "Wait p50",
    "wait_p90_s": "Wait p90",
    "eye_contact_ratio": "Eye contact (facing)",
    "distance_p50_m": "Distance p50",
    "distance_p90_m": "Distance p90",
    "rating_mean": "Mean rating (1-4)",
    "low_rating_share": "Low ratings (1-2)",
    "ratings_n": "Ratings",
}


def fmt(name: str, v: Any) -> str:
    """A figure for people: shares as %, seconds and metres with units; '—' for no data."""
    if v is None:
        return "—"
    if name.endswith("_share") or name == "eye_contact_ratio":
        return f"{v:.0%}"
    if name.endswith("_s"):
        return f"{v:.1f} s"
    if name.endswith("_m"):
        return f"{v:.2f} m"
    if name == "rating_mean":
        return f"{v:.2f}"
    return f"{v:,.0f}" if isinstance(v, (int, float)) else str(v)


def fmt_change(name: str, v: float | None) -> tuple[str, str]:
    """(text, css class) of a change against the baseline: better/worse follows the figure's direction."""
    if v is None:
        return "", "same"
    shown: float
    if name.endswith("_share") or name == "eye_contact_ratio":
        shown, text = round(v * 100), f"{v * 100:+.0f} pts"
    elif name.endswith("_s"):
        shown, text = round(v, 1), f"{v:+.1f} s"
    elif name.endswith("_m"):
        shown, text = round(v, 2), f"{v:+.2f} m"
    elif name == "rating_mean":
        shown, text = round(v, 2), f"{v:+.2f}"
    else:
        shown, text = round(v), f"{v:+,.0f}"
    better = FIGURES.get(name)
    # Colour only what the reader can see: a change that rounds to zero is "same".
    kind = "same" if shown == 0 or better is None else ("better" if (v > 0) == better else "worse")
    return text + " vs 7 days", kind


def fmt_offset(seconds: float | None) -> str:
    """A terminal's clock offset for people: signed, in the largest unit that reads well; '—' when unknown.

    Example: ``fmt_offset(-7200.0)`` is ``"-2 h"``; a terminal that booted at 1970 shows thousands of days.
    """
    if seconds is None:
        return "—"
    for unit, size in (("days", 86_400), ("h", 3_600), ("min", 60)):
        if abs(seconds) >= 2 * size:
            return f"{seconds / size:+,.0f} {unit}"
    return f"{seconds:+.0f} s"


templates.env.globals.update(fmt=fmt, fmt_change=fmt_change, fmt_offset=fmt_offset, LABELS=LABELS, charts=charts,
                             FIGURES=FIGURES)


def _safe_next(url: str | None) -> str:
    # Only a local path: "//evil.example" or "https://..." would turn the login into an open redirect.
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    user = sign_in(request, db, username, password)
    if user is None:
        return templates.TemplateResponse(
            request, "login.html", {"next": _safe_next(next), "error": "Wrong username or password."}, status_code=401
        )
    token = crud.open_session(db, user, settings.session_ttl_s)
    db.commit()
    response = RedirectResponse(_safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    set_session_cookie(response, token, settings)
    return response


@router.post("/logout")
def logout_form(request: Request, db: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        crud.close_session(db, token)
        db.commit()
    response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: PageUser, db: SessionDep) -> Response:
    """A manager goes straight to their store; others choose among what they may see."""
    if user.role is m.Role.manager and user.store_id:
        return RedirectResponse(f"/stores/{user.store_id}", status_code=status.HTTP_303_SEE_OTHER)
    return templates.TemplateResponse(
        request, "home.html",
        {"user": user, "regions": crud.visible_regions(db, user), "stores": crud.visible_stores(db, user)},
    )


@router.get("/stores/{store_id}", response_class=HTMLResponse)
def daily_page(
    request: Request, store: PageStore, user: PageUser, db: SessionDep, settings: SettingsDep, now: NowDep,
    date: DateQ = None,
) -> Response:
    day = date or store_today(store, now)
    s = daily_summary(db, store, day, settings, now)
    return templates.TemplateResponse(
        request, "daily.html",
        {"user": user, "s": s, "edges": settings.distance_band_edges_m, "prev_day": day - dt.timedelta(days=1),
         "next_day": day + dt.timedelta(days=1), "back_to_region": user.role is not m.Role.manager},
    )


@router.get("/regions/{region_id}", response_class=HTMLResponse)
def compare_page(
    request: Request, region: PageRegion, user: PageUser, db: SessionDep, settings: SettingsDep, now: NowDep,
    date_from: FromQ = None, date_to: ToQ = None,
    sort: Annotated[str, Query(max_length=64)] = "greeted_within_target_share",
    order: Annotated[Literal["asc", "desc"] | None, Query()] = None,
) -> Response:
    start, end = range_or_default(date_from, date_to, now)
    try:
        c = compare_region(db, region, start, end, settings, now, sort=sort, order=order)
    except ValueError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(e)) from None
    return templates.TemplateResponse(request, "compare.html", {"user": user, "c": c})
