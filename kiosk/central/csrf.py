"""Cross-site request refusal: a POST (or any state-changing method) must come from the server's own origin.

Browsers send ``Origin`` with every POST, and ``Sec-Fetch-Site`` too; a form on another site that posts to
``/login`` or ``/logout`` therefore names that site, and is refused before it can sign the browser in or out
(login CSRF). Requests without either header are not from a browser form (a terminal's sync, curl) and pass:
they carry no ambient cookie an attacker could borrow.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from kiosk.central.errors import html_error, wants_html
from kiosk.central.limits import send_json

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _netloc(scheme: str, netloc: str) -> str:
    netloc = netloc.lower()
    port = _DEFAULT_PORTS.get(scheme)
    return netloc.removesuffix(f":{port}") if port else netloc


def cross_site_reason(headers: Headers, scheme: str, trusted_origins: tuple[str, ...]) -> str | None:
    """Why a state-changing request with these headers is cross-site, or None when it is not."""
    origin = headers.get("origin")
    if origin is None and headers.get("referer"):
        parts = urlsplit(headers["referer"])
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "null"
    if origin is None:
        site = headers.get("sec-fetch-site")
        return None if site in (None, "same-origin", "none") else f"Sec-Fetch-Site: {site}"
    origin = origin.lower()
    if origin in trusted_origins:
        return None
    parts = urlsplit(origin)
    own = _netloc(scheme, headers.get("host", ""))
    # The host is compared, not the scheme: behind a TLS proxy the browser says https and the server sees http.
    if origin != "null" and parts.netloc and _netloc(parts.scheme, parts.netloc) in (own, _netloc("https", own)):
        return None
    return f"Origin {origin}"


class OriginCheck:
    """Refuse (403) a state-changing request whose Origin is neither this server nor in ``trusted_origins``."""

    def __init__(self, app: ASGIApp, trusted_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.trusted_origins = trusted_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") not in SAFE_METHODS:
            reason = cross_site_reason(Headers(scope=scope), scope.get("scheme", "http"), self.trusted_origins)
            if reason is not None:
                message = (f"cross-site request refused ({reason}): sign in and submit forms from this server's own "
                           "pages, or add the origin to central.trusted_origins")
                if wants_html(scope.get("path", "")):
                    await html_error(Request(scope), 403, message)(scope, receive, send)
                else:
                    await send_json(send, 403, message)
                return
        await self.app(scope, receive, send)
