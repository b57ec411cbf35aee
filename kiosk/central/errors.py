"""How the server answers a request it refuses: JSON under /api, a small HTML page elsewhere.

A page's visitor is a person with a browser; a JSON body would show them raw braces. Either way the answer names
the field and the rule, and never echoes the offending input back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

API_PREFIX = "/api/"
_TITLES = {400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Not found", 405: "Not allowed",
           408: "Too slow", 413: "Too large", 422: "Cannot show that", 429: "Too many attempts"}


def wants_html(path: str) -> bool:
    """Pages are everything outside the JSON API and its schema."""
    return not path.startswith(API_PREFIX) and path != "/openapi.json"


def html_error(request: Request, status_code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The error page in the visitor's language (kiosk.central.dashboard): what it means, then the exact reason."""
    from kiosk.central.api.routes.pages import render_error

    return render_error(request, status_code, _TITLES.get(status_code, "Error"), message, headers)


def _where(loc: Iterable[Any]) -> str:
    parts = [p for p in loc if p not in ("body",)]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


async def readable_422(request: Request, exc: RequestValidationError) -> Response:
    # One line per problem, naming the field: "aggregates[3].greeted: greeted (12) exceeds interactions (10)".
    # The offending input is not echoed back: a large batch would be sent back whole.
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "invalid")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    message = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in errors[:20])
    if len(errors) > 20:
        message += f"; and {len(errors) - 20} more"
    if wants_html(request.url.path):
        return html_error(request, 422, message)
    return JSONResponse({"detail": errors, "message": message}, status_code=422)


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    headers = dict(exc.headers or {})
    if wants_html(request.url.path):
        return html_error(request, exc.status_code, str(exc.detail), headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
