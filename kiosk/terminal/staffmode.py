"""The staff side of the app: the PIN pad, the live view, the status numbers and the zone drawing.

A mixin of :class:`kiosk.terminal.app.KioskApp` (kept apart so each file stays small); it uses the app's
properties, ``ctx`` and ``t`` (the terminal settings).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from kiosk.terminal.zone_drawing import DrawnZone, save_zones
from kiosk.settings.pin import verify_pin
from kiosk.terminal.staffstatus import StaffStatus, gather, status_lines
from kiosk.terminal.workers import Periodic, run_once
from kiosk.vocabulary import ZONES

log = logging.getLogger(__name__)


class StaffMixin:
    """PIN, live view, status and calibration methods; each staff tap calls one of them."""

    # Provided by KioskApp (properties, settings, helpers).
    ctx: Any
    t: Any
    _data_dir: Path
    _sync_watch: Any
    _status: Periodic[StaffStatus] | None
    _pin_failures: int
    _pin_locked_until: float
    _pin_checking: bool

    def open_staff(self) -> None:
        self.pin_entry = ""
        self.pin_message = "" if self.t.staff_pin_hash else "pin_unset"
        self._go("pin")

    def pin_key(self, key: str) -> None:
        if self.t.staff_pin_hash is None or self._pin_checking:
            return
        left = self._pin_locked_until - time.monotonic()
        if left > 0:
            self.pin_lock_left, self.pin_message = int(left) + 1, "pin_locked"
            return
        if key == "back":
            self.pin_entry = self.pin_entry[:-1]
        elif key == "ok":
            entry, stored = self.pin_entry, self.t.staff_pin_hash
            self._pin_checking, self.pin_message = True, "pin_checking"
            run_once("pin-check", lambda: _pin_matches(entry, stored), self._main(self._pin_checked))
        elif key.isdigit() and len(self.pin_entry) < 12:
            self.pin_entry += key
            self.pin_message = ""

    def _pin_checked(self, ok: bool) -> None:
        self._pin_checking, self.pin_entry = False, ""
        if ok:
            self._pin_failures, self.pin_message = 0, ""
            self._go("staff")
            return
        self._pin_failures += 1
        self.pin_message = "pin_wrong"
        if self._pin_failures >= self.t.pin_max_attempts:
            self._pin_failures = 0
            self._pin_locked_until = time.monotonic() + self.t.pin_lockout_s
            self.pin_lock_left, self.pin_message = int(self.t.pin_lockout_s), "pin_locked"
            log.warning("staff PIN pad locked for %.0f s after repeated wrong PINs", self.t.pin_lockout_s)

    def leave_staff(self) -> None:
        self.go_idle(reset_language=False)

    def toggle_calibration(self) -> None:
        self.calibrating, self.zone_draft, self.zones_saved = not self.calibrating, [], False

    def choose_zone(self, name: str) -> None:
        if name in ZONES:
            self.zone_choice, self.zone_draft = name, []

    def add_zone_point(self, point: tuple[float, float]) -> None:
        self.zone_draft = [*self.zone_draft, point]
        self.zones_saved = False

    def undo_zone_point(self) -> None:
        self.zone_draft = self.zone_draft[:-1]

    def close_zone(self) -> None:
        if len(self.zone_draft) >= 3:
            self.zones = [*self.zones, (self.zone_choice, list(self.zone_draft))]
            self.zone_draft = []

    def clear_zones(self) -> None:
        self.zones, self.zone_draft, self.zones_saved = [], [], False

    def save_zones(self) -> Path | None:
        zones = [DrawnZone(name, tuple(tuple(p) for p in poly)) for name, poly in self.zones]
        try:
            path = save_zones(zones, self._data_dir)
        except OSError:
            log.exception("could not save the zones")
            return None
        self.zones_saved = True
        log.info("zones saved to %s", path)
        return path


    def _show_frame(self, frame: Any) -> None:
        from kivy.graphics.texture import Texture

        h, w = frame.shape[:2]
        tex = self.preview_texture
        if tex is None or tuple(tex.size) != (w, h):
            tex = Texture.create(size=(w, h), colorfmt="bgr")
            tex.flip_vertical()  # image rows run top-down, GL rows bottom-up
            self.preview_texture, self.camera_size = tex, [w, h]
        tex.blit_buffer(frame.tobytes(), colorfmt="bgr", bufferfmt="ubyte")
        self.preview_frame_no += 1


    def _enter_staff_view(self) -> None:
        self.ctx.feed.set_preview(True)
        self._status = Periodic("staff-status", self._gather_status, self._main(self._set_status),
                                self.t.status_refresh_s)
        self._status.start()

    def _leave_staff_view(self) -> None:
        self.ctx.feed.set_preview(False)
        if self._status is not None:
            self._status.stop()
            self._status = None
        self.preview_texture = None   # drop the last frame from memory too (DESIGN §6)
        self.calibrating = False


    def _gather_status(self) -> StaffStatus:
        return gather(self.ctx.store, self._data_dir, self._sync_watch, self.ctx.clock())

    def _set_status(self, s: StaffStatus) -> None:
        self._staff_status = s
        self._render_status()

    def _render_status(self) -> None:
        """The status values in the current language (also after a language switch)."""
        lines = status_lines(self.camera_status, getattr(self, "_staff_status", None), self.lang)
        self.camera_text, self.sync_text = lines.camera, lines.sync
        self.outbox_text, self.disk_text = lines.outbox, lines.disk


def _pin_matches(entry: str, stored: str) -> bool:
    try:
        return verify_pin(entry, stored)
    except ValueError:  # settings validated the hash; a damaged one just never matches
        log.exception("the staff PIN hash cannot be used")
        return False
