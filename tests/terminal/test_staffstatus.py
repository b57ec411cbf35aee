"""The staff screen's status lines (kiosk.terminal.staffstatus): translated, and saying what a clerk can do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kiosk.device.sync import ServerUnreachableError, SyncReport, TokenRejectedError
from kiosk.terminal.i18n import text
from kiosk.terminal.staffstatus import StaffStatus, SyncWatch, status_lines

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


class Loop:
    def __init__(self, report=None, error=None):  # type: ignore[no-untyped-def]
        self.last_report, self.last_error = report, error


@pytest.mark.parametrize("error, state", [
    (ServerUnreachableError("connection refused"), "offline"),
    (TokenRejectedError("401"), "refused"),
    (RuntimeError("odd"), "failed"),
])
def test_a_failed_sync_is_named_by_what_a_clerk_can_do(error, state):
    at, got, _, _ = SyncWatch(Loop(error=error)).poll(NOW)
    assert (at, got) == (NOW, state)


def test_a_sync_round_reports_sent_and_waiting_in_the_screens_language():
    _, state, sent, pending = SyncWatch(Loop(report=SyncReport(sent=3, pending=1))).poll(NOW)
    status = StaffStatus(0, 2_000_000_000, 8_000_000_000, NOW, state, sent, pending)
    fa = status_lines("running", status, "fa")
    assert fa.sync == "۰۹:۳۰  " + text("sync_ok", "fa", sent=3, pending=1)
    assert fa.disk == text("disk_free", "fa", free=2.0, total=8.0) and "۲" in fa.disk
    ru = status_lines("camera_error", status, "ru")
    assert ru.camera == text("status_camera_error", "ru") + ". " + text("advice_camera_error", "ru")
    assert ru.sync.startswith("09:30 UTC")
