"""The staff screen's numbers that need I/O (outbox size from SQLite, free disk, sync state), gathered off the
UI thread by :class:`kiosk.terminal.workers.Periodic` and shown as one frozen value.

The screen is read by a clerk, in the store's language: :func:`status_lines` turns the value into translated
lines that say what to do (wait, call support), never a command to type; technical detail goes to the log.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from kiosk.terminal.i18n import localise_number, text

log = logging.getLogger(__name__)

SyncState = Literal["off", "none", "ok", "offline", "refused", "failed"]
# Exception class names of kiosk.device.sync, by what a clerk can do about them (no import: the sync client is optional).
_SYNC_ERRORS: dict[str, SyncState] = {
    "ServerUnreachableError": "offline", "ServerTimeoutError": "offline",
    "TokenRejectedError": "refused", "SyncConfigError": "refused",
}


class OutboxSource(Protocol):
    def pending_batches(self, limit: int | None = None) -> list[Any]: ...


@dataclass(frozen=True)
class StaffStatus:
    """Outbox batches waiting, free/total disk bytes where the database lives, and the sync loop's state."""

    outbox_batches: int | None
    disk_free_bytes: int | None
    disk_total_bytes: int | None
    last_sync_at: datetime | None
    sync_state: SyncState
    sync_sent: int = 0
    sync_pending: int = 0
    error: str = ""


class SyncWatch:
    """Notices when a :class:`kiosk.device.sync.SyncLoop` finished a round (its ``last_report``/``last_error`` change)."""

    def __init__(self, sync: Any | None) -> None:
        self._sync = sync
        self._seen: tuple[int, int] | None = None
        self.last_at: datetime | None = None

    def poll(self, now: datetime) -> tuple[datetime | None, SyncState, int, int]:
        """(time of the last round, its state, batches sent and still waiting in it)."""
        if self._sync is None:
            return None, "off", 0, 0
        report, error = getattr(self._sync, "last_report", None), getattr(self._sync, "last_error", None)
        key = (id(report), id(error))
        if (report is not None or error is not None) and key != self._seen:
            self._seen, self.last_at = key, now
            if error is not None:
                log.warning("sync failed: %s", error)
        if error is not None:
            return self.last_at, _SYNC_ERRORS.get(type(error).__name__, "failed"), 0, 0
        if report is not None:
            return self.last_at, "ok", int(getattr(report, "sent", 0)), int(getattr(report, "pending", 0))
        return None, "none", 0, 0


def gather(store: OutboxSource, data_dir: Path, watch: SyncWatch, now: datetime) -> StaffStatus:
    """Read everything the staff screen shows; a failing part is reported in ``error``, not raised."""
    errors: list[str] = []
    try:
        outbox: int | None = len(store.pending_batches())
    except Exception as exc:  # noqa: BLE001 - shown to staff, the screen must stay up
        outbox = None
        errors.append(f"outbox: {exc}")
    free: int | None = None
    total: int | None = None
    try:
        usage = shutil.disk_usage(data_dir if Path(data_dir).exists() else Path(data_dir).anchor or "/")
        free, total = usage.free, usage.total
    except OSError as exc:
        errors.append(f"disk: {exc}")
    at, state, sent, pending = watch.poll(now)
    if errors:
        log.warning("staff status: %s", "; ".join(errors))
    return StaffStatus(outbox, free, total, at, state, sent, pending, "; ".join(errors))


@dataclass(frozen=True)
class StatusLines:
    """The staff screen's values, translated: camera (state and what to do), sync, outbox, disk."""

    camera: str
    sync: str
    outbox: str
    disk: str


def status_lines(camera_status: str, status: StaffStatus | None, lang: str) -> StatusLines:
    """Translated staff-screen values for ``lang``; ``status`` None (not gathered yet) shows dashes."""
    camera = text(f"status_{camera_status}", lang) if f"status_{camera_status}" in _STATUS_KEYS else camera_status
    if camera_status == "camera_error":
        camera += ". " + text("advice_camera_error", lang)
    if status is None:
        return StatusLines(camera, "-", "-", "-")
    when = ""
    if status.last_sync_at is not None:  # the Persian font has no Latin letters: the zone is left out there
        when = localise_number(status.last_sync_at.strftime("%H:%M"), lang) + ("" if lang == "fa" else " UTC")
    sync = text(f"sync_{status.sync_state}", lang, sent=status.sync_sent, pending=status.sync_pending)
    if when:
        sync = f"{when}  {sync}"
    outbox = "-" if status.outbox_batches is None else text("number", lang, n=status.outbox_batches)
    disk = ("-" if status.disk_free_bytes is None else
            text("disk_free", lang, free=round(status.disk_free_bytes / 1e9, 1),
                 total=round((status.disk_total_bytes or 0) / 1e9, 1)))
    return StatusLines(camera, sync, outbox, disk)


_STATUS_KEYS = frozenset({"status_starting", "status_running", "status_camera_error", "status_stopped"})
