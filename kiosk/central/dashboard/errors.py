"""Errors on pages are pages: a reversed date range, a forbidden store or a bad date gets an HTML page in the
user's language that says what is wrong, with the status code; the JSON API keeps its JSON answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from kiosk.central.dashboard.text import t

Handler = Callable[[Request, Any], Awaitable[Response]]


def _is_page(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path.startswith("/static/") or path == "/openapi.json")


def _page(request: Request, status: int, message: str, detail: str | None) -> Response:
    from kiosk.central.api.routes.pages import render

    return render(request, "error.html", {"status": status, "message": message, "detail": detail}, status_code=status)


def _message(status: int, lang: str) -> str:
    return t({403: "error_403", 404: "error_404"}.get(status, "error_422"), lang)


async def html_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if not _is_page(request):
        return await http_exception_handler(request, exc)
    from kiosk.central.dashboard.present import page_lang

    lang = page_lang(request, None)
    detail = str(exc.detail) if exc.status_code not in (403, 404) else None
    return _page(request, exc.status_code, _message(exc.status_code, lang), detail)


def html_validation_error(api_handler: Handler) -> Handler:
    """Pages get an HTML 422 naming the bad parameter; API requests go to ``api_handler``."""

    async def handle(request: Request, exc: RequestValidationError) -> Response:
        if not _is_page(request):
            return await api_handler(request, exc)
        from kiosk.central.dashboard.present import page_lang

        lang = page_lang(request, None)
        detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}" for e in exc.errors())
        return _page(request, 422, t("error_422", lang), detail)

    return handle
