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
from kiosk.central.dashboard import present, text
from kiosk.central.dashboard import views as dv
from kiosk.central.dashboard.figures import latest_day_with_data
from kiosk.central.deps import SESSION_COOKIE, NowDep, PageRegion, PageStore, PageUser, SessionDep, SettingsDep
from kiosk.central.reports.daily import store_today
from kiosk.central.totals import FIGURES

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parents[2] / "templates")

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


templates.env.globals.update(fmt=present.fmt, fmt_change=present.fmt_change, fmt_offset=fmt_offset,
                             charts=charts, FIGURES=FIGURES, t=text.t, figure_text=text.figure_text,
                             criterion_name=text.criterion_name, reason_name=text.reason_name, weekday=text.weekday,
                             NATIVE=text.NATIVE, alert_text=present.alert_text,
                             weekdays=lambda lang: [text.weekday(i, lang) for i in range(7)])


def render(request: Request, name: str, context: dict[str, Any], user: m.User | None = None,
           status_code: int = 200) -> Response:
    """A page in the request's language (``?lang=`` is remembered in a cookie and on the signed-in user)."""
    lang = present.page_lang(request, user)
    settings = request.app.state.settings
    ctx = {"lang": lang, "rtl": lang in text.RTL, "lang_links": present.lang_links(request), "user": user,
           "targets": text.target_fields(settings.alerts.low_rating_share, settings.alerts.p90_wait_s), **context}
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    if request.query_params.get("lang") in text.LANGS:
        response.set_cookie(present.LANG_COOKIE, lang, max_age=365 * 86_400, samesite="lax", path="/")
    return response


def render_error(request: Request, status_code: int, title: str, message: str,
                 headers: dict[str, str] | None = None) -> Response:
    """An error page (kiosk.central.errors): what the status means in the visitor's language, then the reason."""
    lang = present.page_lang(request, None)
    key = {403: "error_403", 404: "error_404", 422: "error_422"}.get(status_code)
    response = render(request, "error.html", {"status": status_code, "title": title,
                                              "explanation": text.t(key, lang) if key else title,
                                              "message": message}, status_code=status_code)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _remember_language(request: Request, user: m.User, db: SessionDep) -> None:
    asked = request.query_params.get("lang")
    if asked in text.LANGS and user.language != asked:
        user.language = asked
        db.commit()


def _safe_next(url: str | None) -> str:
    # Only a local path: "//evil.example" or "https://..." would turn the login into an open redirect.
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


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
        return render(request, "login.html", {"next": _safe_next(next), "error": "wrong_login"}, status_code=401)
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
    _remember_language(request, user, db)
    if user.role is m.Role.manager and user.store_id:
        return RedirectResponse(f"/stores/{user.store_id}", status_code=status.HTTP_303_SEE_OTHER)
    return render(request, "home.html",
                  {"regions": crud.visible_regions(db, user), "stores": crud.visible_stores(db, user)}, user)


@router.get("/stores/{store_id}", response_class=HTMLResponse)
def daily_page(
    request: Request, store: PageStore, user: PageUser, db: SessionDep, settings: SettingsDep, now: NowDep,
    date: DateQ = None,
    view: Annotated[dv.View, Query()] = "day",
) -> Response:
    """The store's day, week or month; without a date, the latest day with data (not an empty today)."""
    _remember_language(request, user, db)
    today = store_today(store, now)
    latest = None if date is not None else latest_day_with_data(db, store, today)
    day = date or latest or today
    page = dv.store_page(db, store, view, day, settings, now)
    page.latest_shown = latest is not None and latest != today
    return render(request, "daily.html", {
        "p": page, "day": day, "prev": dv.step(view, day, -1), "next": dv.step(view, day, +1),
        "figures": dv.STORE_FIGURES, "views": dv.VIEWS, "back_to_region": user.role is not m.Role.manager,
    }, user)


@router.get("/regions/{region_id}", response_class=HTMLResponse)
def compare_page(
    request: Request, region: PageRegion, user: PageUser, db: SessionDep, settings: SettingsDep, now: NowDep,
    date_from: FromQ = None, date_to: ToQ = None,
    sort: Annotated[str | None, Query(max_length=64)] = None,
    order: Annotated[Literal["asc", "desc"] | None, Query()] = None,
) -> Response:
    """The region's stores ranked best first on the overall index (or the figure chosen), with the median row."""
    _remember_language(request, user, db)
    start, end = range_or_default(date_from, date_to, now)
    try:
        cv = dv.compare_view(db, region, start, end, settings, now, sort, order)
    except ValueError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(e)) from None
    return render(request, "compare.html", {"v": cv, "c": cv.c, "shown": dv.COMPARE_FIGURES,
                                            "choices": list(dv.BETTER)}, user)
