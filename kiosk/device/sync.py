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

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import requests

from kiosk.clock import utc_now
from kiosk.core.privacy import aggregate
from kiosk.device.database import CloseReport, OutboxBatch, Store, StoreError
from kiosk.device.http import body_text, post_json, server_session, status_failure, transport_failure
from kiosk.settings.tree import Settings, SyncSettings

log = logging.getLogger(__name__)

ENDPOINT = "/api/v1/aggregates"


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


def build_session(sync: SyncSettings, *, retry_after_cap_s: float | None = None) -> requests.Session:
    """The outbox's Session: :func:`kiosk.device.http.server_session` with retries and exponential backoff.

    Raises:
        SyncConfigError: empty ``sync.device_token``, plain HTTP to another machine, or a missing ``sync.ca_bundle``.
    """
    return server_session(sync, SyncConfigError, retries=True, retry_after_cap_s=retry_after_cap_s)


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
                response = post_json(session, url, batch.payload, sync)
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
    message = f"HTTP 422 from the server: {body_text(response)}"
    store.mark_failed(batch.batch_id, message, at)
    log.error("batch %s refused as malformed and set aside (`kiosk outbox` lists it; after the server or the "
              "terminal is fixed, `kiosk outbox --requeue-failed` sends it again): %s", batch.batch_id, message)


def _status_error(response: requests.Response, url: str, sync: SyncSettings, report: SyncReport) -> SyncError:
    kind, message = status_failure(response, url)
    if kind == "token":
        return TokenRejectedError(f"{message}. The outbox is kept.", report)
    if kind == "busy":
        return ServerRefusedError(f"{message} after {sync.max_retries} retries; the batches stay in the outbox and go "
                                  "in the next round", report)
    return ServerRefusedError(message, report)


def _transport_error(exc: requests.RequestException, url: str, sync: SyncSettings, report: SyncReport) -> SyncError:
    kind, message = transport_failure(exc, url, sync.timeout_s)
    if kind == "tls":
        return ServerUnreachableError(message, report)
    if kind == "timeout":
        return ServerTimeoutError(f"{message} ({sync.max_retries} retries); the server may be overloaded. The batches "
                                  "stay in the outbox.", report)
    return ServerUnreachableError(f"{message}. The batches stay in the outbox.", report)
