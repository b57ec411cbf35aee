"""The app factory. ``create_app(settings)`` builds the engine, migrates the schema and wires the routes;
nothing is created at import, so each test (and each ``kiosk serve``) gets its own app and database."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from kiosk.central import db
from kiosk.central.api.routes import auth, calls, heartbeat, ingest, pages, reports
from kiosk.central.dashboard import errors
from kiosk.central.deps import LoginRequired
from kiosk.central.limits import BodySizeLimit, RateLimiter, SecurityHeaders
from kiosk.central.settings import CentralSettings

STATIC_DIR = Path(__file__).parent / "static"
API_PREFIX = "/api/v1"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(
    settings: CentralSettings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], dt.datetime] = _utcnow,
    rate_clock: Callable[[], float] | None = None,
) -> FastAPI:
    """Build the central server.

    Args:
        settings: the validated settings (database, limits, thresholds).
        engine: an engine to use instead of one made from ``settings`` (tests share one across apps).
        clock: returns the current aware UTC time (tests pin it to make "today" and "silent" deterministic).
        rate_clock: monotonic seconds for the ingest and heartbeat rate limiter (tests step it instead of sleeping).
    Returns:
        The FastAPI app, its schema migrated to the newest revision.
    """
    engine = engine or db.make_engine(settings)
    db.migrate(engine)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="kiosk central",
        version="1",
        description="Anonymous service-quality aggregates from counter terminals: ingest, daily summaries, branch comparison.",
        lifespan=lifespan,
        # Swagger UI and ReDoc load their scripts from a CDN, which neither exists here nor is allowed (no CDN):
        # the schema itself stays at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = db.session_factory(engine)
    app.state.clock = clock
    app.state.rate_limiter = RateLimiter(settings.ingest_per_minute, settings.ingest_burst, *([rate_clock] if rate_clock else []))
    # SQLite has one writer at a time: serialising ingest and heartbeats here turns lock waits into an orderly queue.
    app.state.write_lock = threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    # Pages answer errors with an HTML page in the user's language; the API keeps its JSON (kiosk.central.dashboard).
    app.add_exception_handler(RequestValidationError, errors.html_validation_error(_readable_422))  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, errors.html_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(LoginRequired, _to_login)  # type: ignore[arg-type]
    for router in (ingest.router, heartbeat.router, calls.router, auth.router, reports.router):
        app.include_router(router, prefix=API_PREFIX)

    @app.get(f"{API_PREFIX}/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness, and which database the server runs on."""
        return {"status": "ok", "database": engine.dialect.name}

    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _where(loc: Iterable[Any]) -> str:
    parts = [p for p in loc if p not in ("body",)]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


async def _readable_422(_: Request, exc: RequestValidationError) -> JSONResponse:
    # One line per problem, naming the field: "aggregates[3].greeted: greeted (12) exceeds interactions (10)".
    # The offending input is not echoed back: a large batch would be sent back whole.
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "invalid")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    message = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in errors[:20])
    if len(errors) > 20:
        message += f"; and {len(errors) - 20} more"
    return JSONResponse({"detail": errors, "message": message}, status_code=422)


async def _to_login(_: Request, exc: LoginRequired) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(exc.next_url, safe='')}", status_code=303)
