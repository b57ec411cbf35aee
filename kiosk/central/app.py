"""The app factory. ``create_app(settings)`` builds the engine, migrates the schema and wires the routes;
nothing is created at import, so each test (and each ``kiosk serve``) gets its own app and database."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from kiosk.central import db
from kiosk.central.api.routes import auth, calls, heartbeat, ingest, pages, reports
from kiosk.central.deps import LoginRequired
from kiosk.central.csrf import OriginCheck
from kiosk.central.device_gate import DeviceGate
from kiosk.central.errors import http_error, readable_422
from kiosk.central.limits import BodySizeLimit, RateLimiter, SecurityHeaders
from kiosk.clock import utc_now
from kiosk.settings.central import CentralSettings
from kiosk.central.throttle import FailureThrottle, HashGate

STATIC_DIR = Path(__file__).parent / "static"
API_PREFIX = "/api/v1"
DEVICE_PATHS = frozenset({f"{API_PREFIX}/aggregates", f"{API_PREFIX}/heartbeat", f"{API_PREFIX}/manager-calls"})


def create_app(
    settings: CentralSettings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], dt.datetime] = utc_now,
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
    clocks = [rate_clock] if rate_clock else []
    app.state.rate_limiter = RateLimiter(settings.ingest_per_minute, settings.ingest_burst, *clocks)
    t = settings.throttle
    app.state.account_throttle = FailureThrottle(t.account_free_failures, t.backoff_s, t.max_backoff_s, *clocks)
    app.state.client_throttle = FailureThrottle(t.client_free_failures, t.backoff_s, t.max_backoff_s, *clocks)
    token_throttle = FailureThrottle(t.token_free_failures, t.backoff_s, t.max_backoff_s, *clocks)
    app.state.hash_gate = HashGate(t.max_concurrent_hashes)
    # SQLite has one writer at a time: serialising ingest and heartbeats here turns lock waits into an orderly queue.
    app.state.write_lock = threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()

    # Outermost last: headers on every answer, then the Host check, cross-site refusal, the device token (before
    # any body is read), and the body's size and time caps.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    app.add_middleware(DeviceGate, paths=DEVICE_PATHS, sessions=app.state.sessionmaker, throttle=token_throttle)
    app.add_middleware(OriginCheck, trusted_origins=settings.trusted_origins)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.trusted_hosts), www_redirect=False)
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(RequestValidationError, readable_422)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
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


async def _to_login(_: Request, exc: LoginRequired) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(exc.next_url, safe='')}", status_code=303)
