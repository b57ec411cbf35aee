"""The terminal's heartbeat: a small POST that says "this device is alive", with a few numbers about its health.

``send_heartbeat`` POSTs ``{"device_id", "sent_at", "version", "outbox_pending", "last_sync_at", "pipeline_fps"}``
to ``{sync.server_url}/api/v1/heartbeat`` with the device token. The body holds the device's own id and numbers
about the machine, nothing about people: no interaction, count of customers, frame or image.

The central server records the time it *received* a heartbeat, on its own clock, as the device's last-seen time:
a terminal's clock may be wrong (no RTC, offline since boot), and ``sent_at`` beside the server's time shows by
how much. :func:`kiosk.wire.heartbeat.device_status` is the pure rule the server applies to call a device never seen,
ok or stale.

A heartbeat is not retried: the next one follows within ``device.heartbeat_interval_s``, and a retried beat
would only arrive late.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import requests

from kiosk import __version__
from kiosk.clock import utc_now
from kiosk.device.database_file import DB_FILENAME, parse_opt
from kiosk.device.http import check_sync_settings, post_json, server_session, status_failure, transport_failure
from kiosk.settings.tree import Settings
from kiosk.wire.heartbeat import ENDPOINT, HeartbeatPayload

log = logging.getLogger(__name__)


class HeartbeatError(Exception):
    """The heartbeat was not delivered; the message says what to check."""


@dataclass(frozen=True)
class TerminalStatus:
    """What the heartbeat reports about the terminal. ``pipeline_fps`` is known only inside the running app."""

    outbox_pending: int | None = None
    last_sync_at: datetime | None = None
    pipeline_fps: float | None = None


@dataclass(frozen=True)
class HeartbeatResult:
    """A delivered heartbeat: the HTTP status, what was sent, and the server's receive time when it said so."""

    status_code: int
    payload: HeartbeatPayload
    server_time: datetime | None = None

    @property
    def clock_offset_s(self) -> float | None:
        """Terminal clock minus server clock (s), including the request's travel time; None if unknown."""
        if self.server_time is None:
            return None
        return (self.payload.sent_at - self.server_time).total_seconds()


def read_outbox_status(data_dir: Path) -> TerminalStatus:
    """Pending batches and the last acknowledged sync, read from ``data_dir``'s database without changing it.

    The heartbeat runs beside the app, which owns the database: this opens it read-only (no migration, no
    integrity scan, nothing moved aside), and a database not created yet reads as an empty outbox.

    Raises:
        sqlite3.Error: the file exists but cannot be read.
    """
    path = Path(data_dir) / DB_FILENAME
    if not path.is_file():
        return TerminalStatus(outbox_pending=0)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    try:
        has_outbox = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").fetchone()
        if not has_outbox:
            return TerminalStatus(outbox_pending=0)
        pending, last = conn.execute(
            "SELECT COALESCE(SUM(sent_at_utc IS NULL AND failed_at_utc IS NULL), 0), MAX(sent_at_utc) FROM outbox"
        ).fetchone()
    finally:
        conn.close()
    return TerminalStatus(outbox_pending=int(pending), last_sync_at=parse_opt(last))


def build_payload(settings: Settings, status: TerminalStatus, sent_at: datetime) -> HeartbeatPayload:
    """The body for ``status`` at ``sent_at`` (aware)."""
    return HeartbeatPayload(
        device_id=settings.store.device_id, sent_at=sent_at, version=__version__,
        outbox_pending=status.outbox_pending, last_sync_at=status.last_sync_at, pipeline_fps=status.pipeline_fps,
    )


def send_heartbeat(
    settings: Settings,
    session: requests.Session | None = None,
    *,
    status: TerminalStatus | None = None,
    clock: Callable[[], datetime] | None = None,
) -> HeartbeatResult:
    """POST one heartbeat to the central server.

    Args:
        settings: ``store.device_id``, ``store.data_dir`` and the ``sync`` section (URL, token, CA, timeout).
        session: a requests Session to use (tests, or the app's own); one is made and closed otherwise.
        status: the numbers to report; read from the database's outbox when None (``pipeline_fps`` unknown).
        clock: returns the current aware time; defaults to the system clock in UTC.

    Raises:
        HeartbeatError: no token, a missing CA bundle, no connection, or a refusal; the message names the fix.
    """
    sync = settings.sync
    check_sync_settings(sync, HeartbeatError)
    if status is None:
        try:
            status = read_outbox_status(settings.store.data_dir)
        except sqlite3.Error as exc:
            # The beat matters most when something is wrong: send it with the outbox unknown rather than not at all.
            log.warning("heartbeat: cannot read the outbox in %s: %s", settings.store.data_dir, exc)
            status = TerminalStatus()
    payload = build_payload(settings, status, (clock or utc_now)())
    url = sync.server_url.rstrip("/") + ENDPOINT
    own = session is None
    session = session or server_session(sync, HeartbeatError, retries=False)
    try:
        response = post_json(session, url, payload.model_dump_json(), sync)
    except requests.RequestException as exc:
        raise HeartbeatError(transport_failure(exc, url, sync.timeout_s)[1]) from exc
    finally:
        if own:
            session.close()
    return _result(response, url, payload)


def _result(response: requests.Response, url: str, payload: HeartbeatPayload) -> HeartbeatResult:
    if 200 <= response.status_code < 300:
        return HeartbeatResult(response.status_code, payload, _server_time(response))
    kind, message = status_failure(response, url)
    if kind == "missing":
        message += " (or the central server predates heartbeats: update it)"
    raise HeartbeatError(message)


def _server_time(response: requests.Response) -> datetime | None:
    """The server's ``received_at`` from the JSON answer, if it sent one; anything else is ignored."""
    try:
        body = response.json()
        value = body.get("received_at") if isinstance(body, dict) else None
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return when if when is not None and when.tzinfo is not None else None


