"""Protection of the edge: security headers, a request-size and body-time cap (ASGI middleware), a per-device token
bucket."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

import anyio
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

# The pages run no script and load nothing from elsewhere, so the browser may refuse both outright.
_SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'none'; object-src 'none'; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


class SecurityHeaders:
    """Adds the headers above to every response (pure ASGI, so streaming responses stay streaming).

    Everything but the static files also gets ``Cache-Control: no-store``: signed-in pages, CSV and JSON must
    not stay in a shared or back-button cache. An error no handler caught is answered here, with the headers,
    instead of by Starlette's outermost plain-text 500 (which sits outside every middleware).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope.get("path", "").startswith("/static/")
        started = False

        async def with_headers(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=msg)
                for k, v in _SECURITY_HEADERS.items():
                    headers.setdefault(k, v)
                if not cacheable:
                    headers["cache-control"] = "no-store"
            await send(msg)

        try:
            await self.app(scope, receive, with_headers)
        except Exception:
            if started:
                raise
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            await send_json(with_headers, 500, "internal error; the server log has the details")


class BodySizeLimit:
    """Answer 413 to a request whose body exceeds ``max_bytes``, counting the bytes actually received.

    Content-Length is checked first (cheap refusal). The body is then read up to the limit before the app
    sees it, because a chunked request has no Content-Length, a client can lie about it, and an error raised
    while the app itself reads would reach the client as a 400 instead of a 413.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(send)
                return
        messages: list[Message] = []
        received = 0
        # A client trickling its body would hold a connection (and, on ingest, a worker) open for ever.
        with anyio.move_on_after(self.timeout_s) as deadline:
            while True:
                msg = await receive()
                messages.append(msg)
                if msg["type"] != "http.request":
                    break  # a disconnect: hand it on, the app will see it
                received += len(msg.get("body", b""))
                if received > self.max_bytes:
                    await self._refuse(send)
                    return
                if not msg.get("more_body", False):
                    break
        if deadline.cancelled_caught:
            await send_json(send, 408, f"request body not received within {self.timeout_s:g} s",
                            headers={"connection": "close"})
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        await send_json(send, 413, f"request body larger than {self.max_bytes} bytes")


async def send_json(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    """A whole JSON error response ``{"detail": ...}`` from ASGI middleware."""
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """A token bucket per key: ``burst`` requests at once, refilled at ``per_minute``.

    In memory, so it limits one server process; that is the deployment of DESIGN §8 (one machine per region).
    ``clock`` is injectable so tests step time instead of sleeping.
    """

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate_per_s = per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> float:
        """Take one token for ``key``. Returns 0 when allowed, else the seconds until a token is free."""
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate_per_s)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate_per_s


