"""Figures for people: values with units, changes coloured by direction, and the page's language.

The language is the user's choice: ``?lang=`` on any page stores it (cookie, and on the user when signed in);
otherwise the user's stored choice, then the cookie, then English.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from kiosk.central import models as m
from kiosk.central.dashboard.text import LANGS, t
from kiosk.central.dashboard.views import BETTER

LANG_COOKIE = "kiosk_lang"

_PERCENT = ("_share", "eye_contact_ratio", "response_rate")


def is_percent(name: str) -> bool:
    return name.endswith(_PERCENT[0]) or name in _PERCENT[1:]


def fmt(name: str, v: Any) -> str:
    """A figure with its unit; "—" for no data (never 0)."""
    if v is None:
        return "—"
    if is_percent(name):
        return f"{v:.0%}".replace("%", " %")
    if name.endswith("_index"):
        return f"{v:.0f}"
    if name.endswith("_s"):
        return f"{v:.0f} s" if v >= 10 else f"{v:.1f} s"
    if name.endswith("_m"):
        return f"{v:.2f} m"
    if name == "rating_mean":
        return f"{v:.2f}"
    return f"{v:,.0f}" if isinstance(v, int | float) else str(v)


def fmt_change(name: str, v: float | None) -> tuple[str, str]:
    """(signed change, css class better/worse/same); a change that rounds to zero is "same"."""
    if v is None:
        return "", "same"
    if is_percent(name):
        shown, text = round(v * 100), f"{v * 100:+.0f} pts"
    elif name.endswith("_index"):
        shown, text = round(v), f"{v:+.0f}"
    elif name.endswith("_s"):
        shown, text = round(v, 1), f"{v:+.1f} s"
    elif name.endswith("_m"):
        shown, text = round(v, 2), f"{v:+.2f} m"
    elif name == "rating_mean":
        shown, text = round(v, 2), f"{v:+.2f}"
    else:
        shown, text = round(v), f"{v:+,.0f}"
    better = BETTER.get(name)
    kind = "same" if shown == 0 or better is None else ("better" if (v > 0) == better else "worse")
    return text, kind


def page_lang(request: Request, user: m.User | None) -> str:
    """The language this request is shown in (module docstring)."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked  # type: ignore[return-value]
    stored = getattr(user, "language", None)
    if stored in LANGS:
        return stored  # type: ignore[return-value]
    cookie = request.cookies.get(LANG_COOKIE)
    return cookie if cookie in LANGS else "en"


def lang_links(request: Request) -> list[tuple[str, str]]:
    """(code, URL of this page in that language) for the language switch."""
    links = []
    for code in LANGS:
        url = request.url.include_query_params(lang=code)
        links.append((code, f"{url.path}?{url.query}"))
    return links


def alert_text(kind: str, store_name: str, value: float | None, threshold: float | None, lang: str,
               fallback: str) -> str:
    """An alert in the page's language, naming the store by its name."""
    texts = {
        "low_ratings": ("{s}: {v} of ratings are unhappy (alert at {th})", "{s}: {v} плохих оценок (порог {th})",
                        "{s}: {v} امتیازها ناراضی است (هشدار از {th})"),
        "p90_wait": ("{s}: the slowest 10 % waited {v} or more (alert at {th})",
                     "{s}: худшие 10 % ждали {v} и дольше (порог {th})",
                     "{s}: ۱۰ درصد کندتر {v} یا بیشتر منتظر ماندند (هشدار از {th})"),
        "silent_device": ("{s}: a terminal has not sent figures for over {th}", "{s}: терминал не присылает данные "
                          "более {th}", "{s}: یک دستگاه بیش از {th} داده نفرستاده است"),
        "stale_device": ("{s}: a terminal has not reported for {v}", "{s}: терминал молчит {v}",
                         "{s}: یک دستگاه {v} گزارشی نداده است"),
        "no_device": ("{s}: no terminal registered", "{s}: нет терминала", "{s}: دستگاهی ثبت نشده است"),
    }
    if kind not in texts:
        return fallback
    i = LANGS.index(lang) if lang in LANGS else 0

    def show(x: float | None) -> str:
        if x is None:
            return ""
        if kind == "low_ratings":
            return f"{x:.0%}"
        if kind == "silent_device":
            return f"{x:.0f} h"
        if kind == "stale_device":
            return f"{x / 60:.0f} min"
        return f"{x:.0f} s"

    return texts[kind][i].format(s=store_name, v=show(value), th=show(threshold))


__all__ = ["alert_text", "fmt", "fmt_change", "lang_links", "page_lang", "t"]
