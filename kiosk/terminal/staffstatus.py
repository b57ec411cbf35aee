"""The staff screen's numbers that need I/O (outbox size from SQLite, free disk, sync state), gathered off the
UI thread by :class:`kiosk.terminal.workers.Periodic` and shown as one frozen value."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol


class OutboxSource(Protocol):
    def pending_batches(self, limit: int | None = None) -> list[Any]: ...


@dataclass(frozen=True)
class StaffStatus:
    """Outbox batches waiting, free/total disk bytes where the database lives, and the sync loop's state."""

    outbox_batches: int | None
    disk_free_bytes: int | None
    disk_total_bytes: int | None
    last_sync_at: datetime | None
    last_sync_text: str
    error: str = ""


class SyncWatch:
    """Notices when a :class:`kiosk.sync.SyncLoop` finished a round (its ``last_report``/``last_error`` change)."""

    def __init__(self, sync: Any | None) -> None:
        self._sync = sync
        self._seen: tuple[int, int] | None = None
        self.last_at: datetime | None = None

    def poll(self, now: datetime) -> tuple[datetime | None, str]:
        if self._sync is None:
            return None, "sync off"
        report, error = getattr(self._sync, "last_report", None), getattr(self._sync, "last_error", None)
        key = (id(report), id(error))
        if (report is not None or error is not None) and key != self._seen:
            self._seen, self.last_at = key, now
        if error is not None:
            return self.last_at, f"failed: {error}"[:160]
        if report is not None:
            return self.last_at, report.summary() if hasattr(report, "summary") else str(report)
        return None, "no round yet"


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
    at, text = watch.poll(now)
    return StaffStatus(outbox, free, total, at, text, "; ".join(errors))
