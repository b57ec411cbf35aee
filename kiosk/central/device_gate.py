"""The device token is checked before a terminal's body is read, and guessing tokens is throttled.

Without this, a forged token made the server read (and hold) up to max_body_bytes before the route's own
check refused it. The route still checks the token again (deps.current_device): this gate only keeps
unauthenticated bytes and guesses away.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
from sqlalchemy.orm import Session
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from kiosk.central import crud
from kiosk.central.limits import send_json
from kiosk.central.throttle import FailureThrottle, retry_after

_BEARER = {"WWW-Authenticate": "Bearer"}


class DeviceGate:
    """For POSTs to ``paths``: 429 while the client address is locked out for guessing, 401 for a missing or
    unknown token (counted as a guess), and only then the body."""

    def __init__(self, app: ASGIApp, paths: frozenset[str], sessions: Callable[[], Session],
                 throttle: FailureThrottle) -> None:
        self.app = app
        self.paths = paths
        self.sessions = sessions
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") not in self.paths:
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        wait_s = self.throttle.wait_s(client)
        if wait_s > 0:
            await send_json(send, 429, f"too many unknown device tokens from this address; retry in {retry_after(wait_s)} s",
                            headers={"Retry-After": retry_after(wait_s)})
            return
        scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await send_json(send, 401, "missing bearer token", headers=_BEARER)
            return
        if not await anyio.to_thread.run_sync(self._known, token.strip()):
            self.throttle.failed(client)
            await send_json(send, 401, "unknown or revoked device token", headers=_BEARER)
            return
        await self.app(scope, receive, send)

    def _known(self, token: str) -> bool:
        with self.sessions() as session:
            return crud.device_by_token(session, token) is not None
