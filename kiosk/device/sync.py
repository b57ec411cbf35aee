"""Send the outbox to the central server, and keep sending until every batch is acknowledged (DESIGN §5).

The flow is insert, send, mark sent: ``fill_outbox`` closes finished days into batches (one transaction),
``sync_once`` POSTs each pending batch and marks it sent only on a 2xx answer. A batch keeps its ``batch_id``
and exact bytes across retries and restarts, and the server applies a ``batch_id`` once, so a terminal killed
between the server's commit and its own ``mark_sent`` re-sends the batch and nothing is counted twice. That is
also why POST may be retried by urllib3 here: the request is idempotent by construction.

Answers: 2xx acknowledged; 401/403 stop (the device token is wrong); 422 sets the batch aside with the server's
message (re-sending a malformed batch would fail forever); 429 and 5xx are retried with exponential backoff,
then left in the outbox for the next round. Every failure is a :class:`SyncError` a technician can act on.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.auth
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from kiosk import __version__
from kiosk.clock import utc_now
from kiosk.settings.tree import Settings, SyncSettings
from kiosk.core.privacy import aggregate
from kiosk.device.database import CloseReport, OutboxBatch, Store, StoreError

log = logging.getLogger(__name__)

ENDPOINT = "/api/v1/aggregates"
RETRY_STATUSES = (429, 500, 502, 503, 504)


class SyncError(Exception):
    """Sending stopped; the outbox is kept. ``report`` says what was done before the failure."""

    def __init__(self, message: str, report: SyncReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class SyncConfigError(SyncError):
    """The sync settings cannot work (no token, a CA bundle that does not exist)."""


class TokenRejectedError(SyncError):
    """The server refused the device token (401/403)."""


class ServerUnreachableError(SyncError):
    """No connection to the server (down, wrong address, no network, TLS failure)."""


class ServerTimeoutError(SyncError):
    """The server accepted the connection but did not answer in time."""


class ServerRefusedError(SyncError):
    """The server kept answering with an error (5xx, 429 or an unexpected status) after every retry."""


@dataclass(frozen=True)
class SyncReport:
    """One round of sending: batches acknowledged, set aside as malformed, and still waiting."""

    sent: int = 0
    failed: int = 0
    pending: int = 0
    aggregates_sent: int = 0
    bytes_sent: int = 0

    def summary(self) -> str:
        return (f"{self.sent} batches sent ({self.aggregates_sent} aggregates, {self.bytes_sent} bytes), "
                f"{self.failed} set aside as malformed, {self.pending} waiting")


class BearerAuth(requests.auth.AuthBase):
    """The device token as a Bearer header, set per request so ~/.netrc cannot replace it."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


def check_sync_settings(sync: SyncSettings, error: type[Exception] = SyncConfigError) -> None:
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
    :func:`build_session` from ``sync.retry_after_cap_s``; a server asking for a longer pause gets it from the next
    round, not a blocked thread)."""

    retry_after_cap_s: float

    def new(self, **kw: Any) -> _CappedRetry:
        fresh = super().new(**kw)
        fresh.retry_after_cap_s = self.retry_after_cap_s
        return fresh

    def get_retry_after(self, response: Any) -> float | None:
        wait = super().get_retry_after(response)
        return None if wait is None else min(wait, self.retry_after_cap_s)


def build_session(sync: SyncSettings, *, retry_after_cap_s: float | None = None) -> requests.Session:
    """A Session for the central server: retries with exponential backoff, TLS verification, the device token.

    Backoff between retries is ``backoff_s * 2**(n-1)`` plus up to ``backoff_s`` of jitter (urllib3; the
    first retry is immediate), capped at 2 minutes; a 429/503 Retry-After replaces it, up to
    ``retry_after_cap_s`` (default ``sync.retry_after_cap_s``).

    Raises:
        SyncConfigError: empty ``sync.device_token`` or a ``sync.ca_bundle`` file that does not exist.
    """
    check_sync_settings(sync)
    if sync.server_url.startswith("http://") and not _is_local(sync.server_url):
        log.warning("sync.server_url %s is plain HTTP: the device token travels unencrypted", sync.server_url)
    retry = _CappedRetry(
        total=sync.max_retries, connect=sync.max_retries, read=sync.max_retries, status=sync.max_retries,
        backoff_factor=sync.backoff_s, backoff_max=120.0, status_forcelist=RETRY_STATUSES,
        backoff_jitter=sync.backoff_s,  # terminals coming back after an outage must not retry in lockstep
        allowed_methods=frozenset({"POST"}),  # idempotent by batch_id (module docstring)
        respect_retry_after_header=True, raise_on_status=False,
    )
    retry.retry_after_cap_s = sync.retry_after_cap_s if retry_after_cap_s is None else retry_after_cap_s
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.verify = str(sync.ca_bundle) if sync.ca_bundle is not None else True
    # Set as the session's auth, not only a header: with no auth set, requests would let a ~/.netrc entry
    # for the server's host replace the Authorization header.
    session.auth = BearerAuth(sync.device_token)
    session.headers.update({"Content-Type": "application/json", "User-Agent": f"kiosk-terminal/{__version__}"})
    return session


def fill_outbox(store: Store, settings: Settings, now: datetime, *, grace: timedelta | None = None) -> CloseReport:
    """Close every UTC day that ended at least ``grace`` (default ``sync.close_grace_s``) before ``now`` into outbox
    batches (``kiosk.core.privacy``)."""
    if grace is None:
        grace = timedelta(seconds=settings.sync.close_grace_s)
    build = partial(aggregate, store_id=settings.store.store_id, device_id=settings.store.device_id,
                    k=settings.privacy.min_group_size)
    report = store.close_days(until=now - grace, build=build, device_id=settings.store.device_id,
                              batch_size=settings.sync.batch_size, now=now)
    if report.days:
        log.info("closed %d day(s): %d aggregates in %d batch(es), %d interaction(s) suppressed (groups under k)",
                 report.days, report.aggregates, report.batches, report.suppressed_interactions)
    return report


def sync_once(
    store: Store, settings: Settings, *, session: requests.Session | None = None,
    clock: Callable[[], datetime] | None = None,
) -> SyncReport:
    """POST every pending outbox batch, oldest first; mark each sent on a 2xx answer.

    Raises:
        TokenRejectedError, ServerUnreachableError, ServerTimeoutError, ServerRefusedError, SyncConfigError:
            sending stopped; the unsent batches stay in the outbox; ``exc.report`` has the progress.
    """
    sync, clock = settings.sync, clock or utc_now
    own_session = session is None
    session = session or build_session(sync)
    url = sync.server_url.rstrip("/") + ENDPOINT
    sent = failed = aggregates = size = 0

    def report() -> SyncReport:
        return SyncReport(sent, failed, len(store.pending_batches()), aggregates, size)

    try:
        for batch in store.pending_batches():
            try:
                # verify passed per request: otherwise $REQUESTS_CA_BUNDLE would override session.verify
                response = session.post(url, data=batch.payload, timeout=(sync.timeout_s, sync.timeout_s),
                                        verify=session.verify)
            except requests.RequestException as exc:
                raise _transport_error(exc, url, sync, report()) from exc
            status = response.status_code
            if 200 <= status < 300:
                store.mark_sent(batch.batch_id, clock())
                sent, aggregates, size = sent + 1, aggregates + batch.aggregates, size + len(batch.payload)
            elif status == 422:
                _set_aside(store, batch, response, clock())
                failed += 1
            else:
                raise _status_error(response, url, sync, report())
    finally:
        if own_session:
            session.close()
    return report()


def run_sync(settings: Settings, *, now: datetime | None = None) -> SyncReport:
    """What ``kiosk sync`` does: open the store in ``store.data_dir``, close finished days, send, close."""
    now = now or utc_now()
    with Store.in_data_dir(settings.store.data_dir, max_size_bytes=int(settings.store.max_db_mb * 1e6)) as store:
        fill_outbox(store, settings, now)
        return sync_once(store, settings)


class SyncLoop:
    """The app's background sender: every ``sync.interval_s`` it closes days, sends, and applies retention.

    It shares the app's :class:`Store` (one writer; the store serialises access). Failures are logged and kept
    in ``last_error`` for the status screen; the loop keeps going, since a server that is down comes back.
    """

    def __init__(self, store: Store, settings: Settings, *, clock: Callable[[], datetime] | None = None,
                 session: requests.Session | None = None) -> None:
        self._store, self._settings = store, settings
        self._clock = clock or utc_now
        self._session = session
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_report: SyncReport | None = None
        self.last_error: Exception | None = None

    def run_once(self) -> SyncReport:
        """One round: close finished days, send, then delete what is past retention.

        Each step runs even if an earlier one failed (a full disk must not stop sending, and retention is what
        frees the disk); the first failure is raised afterwards, the others are logged.
        """
        now, report = self._clock(), SyncReport()
        errors: list[Exception] = []
        try:
            fill_outbox(self._store, self._settings, now)
        except StoreError as exc:
            errors.append(exc)
        try:
            report = sync_once(self._store, self._settings, session=self._session, clock=self._clock)
        except SyncError as exc:
            errors.append(exc)
        try:
            self._store.apply_retention(now, self._settings.privacy.retention_days)
        except StoreError as exc:
            errors.append(exc)
        for later in errors[1:]:
            log.warning("also in this sync round: %s", later)
        if errors:
            raise errors[0]
        return report

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("SyncLoop already started")
        self._thread = threading.Thread(target=self._run, name="kiosk-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float | None = None) -> bool:
        """Ask the loop to stop and wait for it; True if it has stopped. A request in flight ends by its timeout."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            return not self._thread.is_alive()
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.last_report, self.last_error = self.run_once(), None
            except (SyncError, StoreError) as exc:
                self.last_error = exc
                log.warning("sync round failed: %s", exc)
            except Exception as exc:  # the loop must outlive a bug in one round; the app shows last_error
                self.last_error = exc
                log.exception("sync round crashed")
            self._stop.wait(self._settings.sync.interval_s)


def _set_aside(store: Store, batch: OutboxBatch, response: requests.Response, at: datetime) -> None:
    message = f"HTTP 422 from the server: {_body_text(response)}"
    store.mark_failed(batch.batch_id, message, at)
    log.error("batch %s refused as malformed and set aside (Store.failed_batches): %s", batch.batch_id, message)


def _status_error(response: requests.Response, url: str, sync: SyncSettings, report: SyncReport) -> SyncError:
    status = response.status_code
    if status in (401, 403):
        return TokenRejectedError(
            f"device token rejected by {url} (HTTP {status}: {_body_text(response)}); re-register the device on "
            "the central server and set the new sync.device_token. The outbox is kept.", report)
    if status == 404:
        return ServerRefusedError(f"{url} does not exist (HTTP 404): check sync.server_url", report)
    if status in RETRY_STATUSES:
        return ServerRefusedError(
            f"{url} answered HTTP {status} ({_body_text(response)}) after {sync.max_retries} retries; "
            "the batches stay in the outbox and go in the next round", report)
    return ServerRefusedError(f"{url} answered HTTP {status}: {_body_text(response)}", report)


def _transport_error(exc: requests.RequestException, url: str, sync: SyncSettings, report: SyncReport) -> SyncError:
    reason = getattr(exc.args[0], "reason", exc.args[0]) if exc.args else exc
    if isinstance(exc, requests.exceptions.SSLError):
        return ServerUnreachableError(
            f"TLS verification of {url} failed ({reason}); if the server uses a private CA, set sync.ca_bundle to "
            "its CA certificate (PEM). Check the terminal's clock too: a wrong date invalidates certificates.", report)
    if isinstance(exc, requests.exceptions.ReadTimeout) or isinstance(reason, ReadTimeoutError):
        return ServerTimeoutError(
            f"{url} did not answer within sync.timeout_s = {sync.timeout_s} s ({sync.max_retries} retries); "
            "the server may be overloaded. The batches stay in the outbox.", report)
    return ServerUnreachableError(
        f"cannot reach {url} ({reason}); check the network and sync.server_url, and that the central server is "
        "running. The batches stay in the outbox.", report)


def _body_text(response: requests.Response) -> str:
    try:
        body = response.json()
        detail = body.get("detail", body) if isinstance(body, dict) else body
        return str(detail)[:500]
    except ValueError:
        return response.text[:500] or response.reason or ""


def _is_local(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
