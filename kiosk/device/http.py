"""The device's one way to talk to the central server: settings check, Session, POST, and what a failure means.

The outbox (``sync``), the heartbeat and the manager call all go through here, so the token is always sent the
same way (a Bearer header set per request, which ``~/.netrc`` cannot replace), TLS is verified the same way, and
a failure reads the same whoever met it. Each caller adds what the failure means for it (the outbox is kept,
the customer is asked to go to the counter) and decides whether to retry: only the outbox does, because its POST
is idempotent by ``batch_id``.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
import requests.auth
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from kiosk import __version__
from kiosk.settings.tree import SyncSettings

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)
TransportFailure = Literal["tls", "timeout", "unreachable"]
StatusFailure = Literal["token", "missing", "busy", "refused"]


class BearerAuth(requests.auth.AuthBase):
    """The device token as a Bearer header, set per request so ~/.netrc cannot replace it."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


def check_sync_settings(sync: SyncSettings, error: type[Exception]) -> None:
    """Refuse settings no request can succeed with (or none should be sent with), raising ``error`` with the fix."""
    if sync.server_url.startswith("http://") and not _is_local(sync.server_url) and not sync.allow_plain_http:
        raise error(
            f"sync.server_url = {sync.server_url!r} is plain HTTP to another machine: the device token and the "
            "aggregates would cross the network unencrypted. Use https://, or set sync.allow_plain_http = true "
            "(KIOSK_SYNC__ALLOW_PLAIN_HTTP) on a network you trust")
    if not sync.device_token:
        raise error(
            "sync.device_token is empty: register this device on the central server and set the token it printed "
            "(KIOSK_SYNC__DEVICE_TOKEN or [sync] device_token)")
    if sync.ca_bundle is not None and not sync.ca_bundle.is_file():
        raise error(f"sync.ca_bundle = {str(sync.ca_bundle)!r} is not a file: point it at the CA bundle "
                    "(PEM) that signed the server's certificate, or unset it to use certifi's bundle")


class _CappedRetry(Retry):
    """urllib3's Retry, with the server's Retry-After obeyed only up to ``retry_after_cap_s`` (set by
    :func:`server_session` from ``sync.retry_after_cap_s``; a server asking for a longer pause gets it from the
    next round, not a blocked thread)."""

    retry_after_cap_s: float

    def new(self, **kw: Any) -> _CappedRetry:
        fresh = super().new(**kw)
        fresh.retry_after_cap_s = self.retry_after_cap_s
        return fresh

    def get_retry_after(self, response: Any) -> float | None:
        wait = super().get_retry_after(response)
        return None if wait is None else min(wait, self.retry_after_cap_s)


def server_session(sync: SyncSettings, error: type[Exception], *, retries: bool,
                   retry_after_cap_s: float | None = None) -> requests.Session:
    """A Session for the central server: TLS verification, the device token, and retries when asked for.

    With ``retries``, backoff between retries is ``backoff_s * 2**(n-1)`` plus up to ``backoff_s`` of jitter
    (urllib3; the first retry is immediate), capped at 2 minutes; a 429/503 Retry-After replaces it, up to
    ``retry_after_cap_s`` (default ``sync.retry_after_cap_s``). Without, one request is one attempt.

    Raises:
        error: empty ``sync.device_token``, plain HTTP to another machine, or a ``sync.ca_bundle`` that does not exist.
    """
    check_sync_settings(sync, error)
    if sync.server_url.startswith("http://") and not _is_local(sync.server_url):
        log.warning("sync.server_url %s is plain HTTP: the device token travels unencrypted", sync.server_url)
    session = requests.Session()
    if retries:
        retry = _CappedRetry(
            total=sync.max_retries, connect=sync.max_retries, read=sync.max_retries, status=sync.max_retries,
            backoff_factor=sync.backoff_s, backoff_max=120.0, status_forcelist=RETRY_STATUSES,
            backoff_jitter=sync.backoff_s,  # terminals coming back after an outage must not retry in lockstep
            allowed_methods=frozenset({"POST"}),  # only idempotent POSTs come with retries (module docstring)
            respect_retry_after_header=True, raise_on_status=False,
        )
        retry.retry_after_cap_s = sync.retry_after_cap_s if retry_after_cap_s is None else retry_after_cap_s
        adapter = HTTPAdapter(max_retries=retry)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    session.verify = _verify(sync)
    # Set as the session's auth, not only a header: with no auth set, requests would let a ~/.netrc entry
    # for the server's host replace the Authorization header.
    session.auth = BearerAuth(sync.device_token)
    session.headers.update(_HEADERS)
    return session


def post_json(session: requests.Session, url: str, body: str | bytes, sync: SyncSettings,
              timeout_s: float | None = None) -> requests.Response:
    """POST ``body`` (JSON) to ``url`` with the device token and TLS settings given per request, so a caller's own
    Session can drop neither, and $REQUESTS_CA_BUNDLE cannot override ``sync.ca_bundle``.

    Raises:
        requests.RequestException: the request failed; :func:`transport_failure` says what it means.
    """
    timeout = sync.timeout_s if timeout_s is None else timeout_s
    return session.post(url, data=body, timeout=(timeout, timeout), auth=BearerAuth(sync.device_token),
                        verify=_verify(sync), headers=_HEADERS)


def transport_failure(exc: requests.RequestException, url: str, timeout_s: float,
                      timeout_setting: str = "sync.timeout_s") -> tuple[TransportFailure, str]:
    """What a request that got no answer means, and what to check (``timeout_setting`` names the timeout used)."""
    reason = getattr(exc.args[0], "reason", exc.args[0]) if exc.args else exc
    if isinstance(exc, requests.exceptions.SSLError):
        return "tls", (
            f"TLS verification of {url} failed ({reason}); if the server uses a private CA, set sync.ca_bundle to "
            "its CA certificate (PEM). Check the terminal's clock too: a wrong date invalidates certificates.")
    if isinstance(exc, requests.exceptions.ReadTimeout) or isinstance(reason, ReadTimeoutError):
        return "timeout", f"{url} did not answer within {timeout_setting} = {timeout_s} s"
    return "unreachable", (f"cannot reach {url} ({reason}); check the network and sync.server_url, and that the "
                           "central server is running")


def status_failure(response: requests.Response, url: str) -> tuple[StatusFailure, str]:
    """What a non-2xx answer means, and what to do about it."""
    status = response.status_code
    if status in (401, 403):
        return "token", (f"device token rejected by {url} (HTTP {status}: {body_text(response)}); re-register the "
                         "device on the central server and set the new sync.device_token")
    if status == 404:
        return "missing", f"{url} does not exist (HTTP 404): check sync.server_url"
    if status in RETRY_STATUSES:
        return "busy", f"{url} answered HTTP {status} ({body_text(response)})"
    return "refused", f"{url} answered HTTP {status}: {body_text(response)}"


def body_text(response: requests.Response) -> str:
    """The server's explanation: FastAPI's ``detail`` when the body is JSON, else the start of the text."""
    try:
        body = response.json()
        detail = body.get("detail", body) if isinstance(body, dict) else body
        return str(detail)[:500]
    except ValueError:
        return response.text[:500] or response.reason or ""


_HEADERS = {"Content-Type": "application/json", "User-Agent": f"kiosk-terminal/{__version__}"}


def _verify(sync: SyncSettings) -> str | bool:
    return str(sync.ca_bundle) if sync.ca_bundle is not None else True


def _is_local(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
