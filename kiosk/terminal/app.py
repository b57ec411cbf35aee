"""The counter terminal app: screens, the snapshot clock, and one method per tap.

The app reads the pipeline's snapshot every ``terminal.snapshot_poll_s`` (it never waits on the pipeline);
SQLite writes, the wait estimate, the staff status and the PIN check run in worker threads and come back through
``Clock.schedule_once`` (STYLE: results reach widgets only on the main thread). Start it with :func:`run_app`.
"""

from __future__ import annotations

import os

# Before Kivy is imported: it must not parse the `kiosk` command's arguments, nor take over Python logging.
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
os.environ.setdefault("KIVY_NO_FILELOG", "1")

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kivy.config import Config

from kiosk.clock import utc_now
from kiosk.device.feed import PipelineFeed, PipelineSnapshot
from kiosk.terminal.fonts import FontSet, find_fonts
from kiosk.terminal.i18n import is_arabic_script, is_rtl, text
from kiosk.terminal.ratings import Feedback, RatingDesk, Reason, ReasonRecord, log_feedback
from kiosk.settings.terminal import TerminalSettings
from kiosk.terminal.staffmode import StaffMixin
from kiosk.terminal.staffstatus import StaffStatus, SyncWatch
from kiosk.terminal.wait import recent_waits, upper_wait_min
from kiosk.terminal.workers import Periodic, RatingWriter, run_once

log = logging.getLogger(__name__)

SCREEN_TIMEOUTS = {"rate": "rating_timeout_s", "reason": "reason_timeout_s", "thanks": "thanks_s",
                   "notice": "notice_timeout_s", "pin": "notice_timeout_s", "staff": "staff_timeout_s"}


@dataclass(frozen=True)
class TerminalContext:
    """Everything the app is wired to. ``settings`` is the whole :class:`kiosk.settings.tree.Settings` (camera zones,
    data directory); ``store`` a :class:`kiosk.device.database.Store`; ``sync`` an optional :class:`kiosk.device.sync.SyncLoop`."""

    settings: Any
    terminal: TerminalSettings
    feed: PipelineFeed
    store: Any
    sync: Any | None = None
    on_feedback: Callable[[Feedback], None] = log_feedback
    clock: Callable[[], datetime] = utc_now
    manager_call: Callable[[datetime], bool] | None = None


def configure_window(terminal: TerminalSettings) -> None:
    """Kivy's window settings; must run before the window exists (before ``kivy.core.window`` is imported)."""
    w, h = terminal.window_width_px, terminal.window_height_px
    if terminal.orientation == "portrait" and w > h or terminal.orientation == "landscape" and h > w:
        w, h = h, w
    Config.set("graphics", "fullscreen", "auto" if terminal.fullscreen else "0")
    Config.set("graphics", "width", str(w))
    Config.set("graphics", "height", str(h))
    Config.set("graphics", "show_cursor", "0" if terminal.fullscreen else "1")
    Config.set("input", "mouse", "mouse,disable_multitouch")  # a right click must not leave touch markers
    Config.set("kivy", "exit_on_escape", "0" if terminal.fullscreen else "1")


from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)


class KioskApp(StaffMixin, App):
    """The terminal. Properties are what the kv rules show; methods are what taps call."""

    title = "kiosk"
    lang = StringProperty("ru")
    rtl = BooleanProperty(False)
    unit = NumericProperty(8.0)              # 1 % of the shorter window side, in pixels: all sizes scale with it
    landscape = BooleanProperty(True)
    camera_ok = BooleanProperty(True)
    camera_status = StringProperty("starting")
    camera_message = StringProperty("")
    fps = NumericProperty(0.0)
    wait_minutes = NumericProperty(0)        # 0: no estimate shown
    manager_called = BooleanProperty(False)
    manager_state = StringProperty("")       # "", "calling", "coming" (the server has it), "ask" (it could not)
    retention_days = NumericProperty(30)
    pin_entry = StringProperty("")
    pin_message = StringProperty("")          # a catalogue key, or ""
    pin_lock_left = NumericProperty(0)
    preview_texture = ObjectProperty(None, allownone=True)
    preview_frame_no = NumericProperty(0)
    camera_size = ListProperty([640, 480])
    zones = ListProperty([])
    zone_draft = ListProperty([])
    zone_choice = StringProperty("service")
    calibrating = BooleanProperty(False)
    zones_saved = BooleanProperty(False)
    camera_text = StringProperty("")        # the camera's state for the staff screen, translated
    sync_text = StringProperty("-")
    outbox_text = StringProperty("-")
    disk_text = StringProperty("-")
    write_errors = NumericProperty(0)

    def __init__(self, ctx: TerminalContext, *, fonts: FontSet | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx, self.t = ctx, ctx.terminal
        self.fonts = fonts or find_fonts()
        self.lang = self.t.default_language
        self.rtl = is_rtl(self.lang)
        self.writer = RatingWriter(ctx.store)
        self.desk = RatingDesk(self.writer.put, dedupe_window_s=self.t.rating_dedupe_window_s,
                               link_window_s=self.t.rating_link_window_s)
        self.snapshot = PipelineSnapshot(status="starting")
        privacy = getattr(ctx.settings, "privacy", None)
        self.retention_days = getattr(privacy, "retention_days", 30)
        cam = getattr(ctx.settings, "camera", None)
        if cam is not None:
            self.camera_size = [cam.width_px, cam.height_px]
            self.zones = [(z.name, [tuple(p) for p in z.polygon_px]) for z in cam.zones]
        self._data_dir = Path(getattr(getattr(ctx.settings, "store", None), "data_dir", "var"))
        self._screen_timer: Any = None
        self._prompted = False          # the current customer at the service spot was asked once (R10, X24)
        self._last_rating_at: datetime | None = None
        self._pin_failures = 0
        self._pin_locked_until = 0.0
        self._pin_checking = False
        self._sync_watch = SyncWatch(ctx.sync)
        self._waits: Periodic[int | None] | None = None
        self._status: Periodic[StaffStatus] | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------------

    def build(self) -> Any:
        from kivy.core.window import Window
        from kivy.uix.screenmanager import NoTransition, ScreenManager

        import kiosk.terminal.widgets  # noqa: F401
        from kiosk.terminal.screens import SCREENS

        kv = str(Path(__file__).with_suffix(".kv"))
        if kv not in Builder.files:
            Builder.load_file(kv)
        Window.clearcolor = (0.04, 0.05, 0.07, 1)
        Window.bind(size=self._on_window_size, on_touch_down=self._on_any_touch)
        self._on_window_size(Window, Window.size)
        root = _root_widget()
        sm: ScreenManager = root.ids.screens
        # Screens change at once. A fade (a shader transition) builds two screen-sized framebuffers and compiles
        # its shader on every change and does not give them back: the app grew by about 10 MB a minute of the
        # demo's customers (kivy/kivy#7478), which a terminal left on all day cannot afford.
        sm.transition = NoTransition()
        for name, cls in SCREENS.items():
            sm.add_widget(cls(name=name))
        sm.current = "idle"
        self.screens = sm
        return root

    def on_start(self) -> None:
        self.ctx.feed.start()
        if self.ctx.sync is not None:
            self.ctx.sync.start()
        Clock.schedule_interval(self._poll, self.t.snapshot_poll_s)
        if self.t.wait_estimate_enabled:
            self._waits = Periodic("wait-estimate", self._compute_wait, self._main(self._set_wait),
                                   self.t.wait_refresh_s)
            self._waits.start()

    def on_stop(self) -> None:
        from kivy.core.window import Window

        Clock.unschedule(self._poll)
        Window.unbind(size=self._on_window_size, on_touch_down=self._on_any_touch)
        if self._screen_timer is not None:
            self._screen_timer.cancel()
        for worker in (self._waits, self._status):
            if worker is not None:
                worker.stop()
        self.desk.flush()
        self.ctx.feed.set_preview(False)
        self.ctx.feed.stop()
        if self.ctx.sync is not None:
            self.ctx.sync.stop(timeout_s=5)
        self.writer.drain(5)
        self.writer.stop()

    def on_camera_status(self, *_: Any) -> None:
        self._render_status()

    # ---- text ------------------------------------------------------------------------------------------------

    def tr(self, key: str, lang: str, **fields: object) -> str:
        """Logical text of ``key`` in ``lang`` (kv passes ``app.lang`` so labels follow a language switch)."""
        return text(key, lang, **fields)

    @staticmethod
    def is_arabic_script(value: str) -> bool:
        return is_arabic_script(value)

    def set_language(self, lang: str) -> None:
        if lang in self.t.languages:
            self.lang, self.rtl = lang, is_rtl(lang)
            self._render_status()

    # ---- customer flow: one method per tap -----------------------------------------------------------------

    def open_rating(self) -> None:
        self._go("rate")

    def rate(self, value: int) -> None:
        """A face was tapped (on idle or on the rating screen): store it (linked, alone or flagged; repeats once),
        then the same follow-up question whatever the face, so nothing on screen tells which one it was."""
        now = self.ctx.clock()
        outcome = self.desk.tap(value, now, self.snapshot)
        if outcome == "repeat":
            self._go("thanks")
            return
        self._last_rating_at = now
        self.manager_called, self.manager_state = False, ""
        self._go("reason")

    def give_reason(self, reason: Reason) -> None:
        """A follow-up answer: counted in its hour (never joined to the rating), then thanks."""
        at = self.ctx.clock()
        self.writer.put(ReasonRecord(reason, at))
        self.ctx.on_feedback(Feedback("reason", at, self._last_rating_at, reason))
        self._go("thanks")

    def call_manager(self) -> None:
        """Send the call at once (in a thread); the customer reads whether a manager is coming."""
        if self.manager_called:
            return
        self.manager_called = True
        at = self.ctx.clock()
        self.ctx.on_feedback(Feedback("manager", at, self._last_rating_at))
        send = self.ctx.manager_call
        if send is None:
            self.manager_state = "ask"
            return
        self.manager_state = "calling"
        run_once("manager-call", lambda: send(at), self._main(self._manager_answer))

    def _manager_answer(self, delivered: bool) -> None:
        if self.manager_called:
            self.manager_state = "coming" if delivered else "ask"

    def finish_feedback(self) -> None:
        self._go("thanks")

    def open_notice(self) -> None:
        self._go("notice")

    def go_idle(self, reset_language: bool = True) -> None:
        self.manager_called, self.manager_state = False, ""
        if reset_language:
            self.set_language(self.t.default_language)
        self._go("idle")

    # ---- the clock: snapshot -> properties -------------------------------------------------------------------

    def _poll(self, _dt: float = 0.0) -> None:
        try:
            snap = self.ctx.feed.snapshot()
        except Exception:  # a broken pipeline must not stop the rating screen
            log.exception("pipeline snapshot failed")
            snap = PipelineSnapshot(status="camera_error", message="pipeline not answering")
        self.snapshot = snap
        self.camera_status, self.camera_message = snap.status, snap.message
        self.camera_ok, self.fps = snap.camera_ok, round(snap.fps, 1)
        self.desk.update(self.ctx.clock(), snap)
        self.write_errors = self.writer.errors + self.desk.write_errors
        if not snap.customer_at_service:
            self._prompted = False
        elif (self.t.auto_prompt and snap.camera_ok and not self._prompted
              and self.screens.current == "idle"):
            self._prompted = True
            self._go("rate")
        if self.screens.current == "staff" and snap.preview_bgr is not None:
            self._show_frame(snap.preview_bgr)

    # ---- screens and timers ----------------------------------------------------------------------------------

    def _go(self, name: str) -> None:
        previous = self.screens.current
        if previous == "staff" and name != "staff":
            self._leave_staff_view()
        if name == "staff" and previous != "staff":
            self._enter_staff_view()
        self.screens.current = name
        self._arm_timer()

    def _arm_timer(self) -> None:
        if self._screen_timer is not None:
            self._screen_timer.cancel()
            self._screen_timer = None
        key = SCREEN_TIMEOUTS.get(self.screens.current)
        if key is not None:
            self._screen_timer = Clock.schedule_once(self._timed_out, getattr(self.t, key))

    def _timed_out(self, _dt: float) -> None:
        if self.screens.current == "reason":
            self._go("thanks")
        else:
            self.go_idle(reset_language=True)

    def _on_any_touch(self, _window: Any, _touch: Any) -> bool:
        if self.screens.current in ("notice", "pin", "staff", "rate", "reason"):
            self._arm_timer()  # someone is reading or choosing: give them the full time again (R11)
        return False

    def _on_window_size(self, _window: Any, size: tuple[int, int]) -> None:
        w, h = size
        self.unit, self.landscape = max(min(w, h) / 100.0, 2.0), w >= h

    # ---- workers' results (arrive on the main thread) -------------------------------------------------------

    @staticmethod
    def _main(fn: Callable[[Any], None]) -> Callable[[Any], None]:
        return lambda result: Clock.schedule_once(lambda _dt: fn(result), 0)

    def _compute_wait(self) -> int | None:
        t = self.t
        waits = recent_waits(self.ctx.store, self.ctx.clock(), t.wait_window_min)
        return upper_wait_min(waits, t.wait_percentile, t.wait_min_samples)

    def _set_wait(self, minutes: int | None) -> None:
        self.wait_minutes = minutes or 0

def _root_widget() -> Any:
    from kivy.factory import Factory

    return Factory.KioskRoot()


def run_app(settings: Any, feed: PipelineFeed, store: Any, *, sync: Any | None = None,
            terminal: TerminalSettings | None = None,
            on_feedback: Callable[[Feedback], None] = log_feedback) -> None:
    """Run the terminal until the window closes (blocks; call from the main thread).

    Args:
        settings: the loaded :class:`kiosk.settings.tree.Settings`; ``settings.terminal`` is used when it exists.
        feed: the vision pipeline (or :class:`kiosk.terminal.fakefeed.FakeFeed`); the app starts and stops it.
        store: the terminal's :class:`kiosk.device.database.Store` (ratings are written to it from a worker thread).
        sync: an optional :class:`kiosk.device.sync.SyncLoop`; the app starts and stops it and shows its state.
        terminal: overrides ``settings.terminal``.
        on_feedback: receives follow-up answers and manager requests (default: the log); answers are also
            counted in the store, and a manager call is sent to the central server named in ``settings.sync``.
    """
    t = terminal or getattr(settings, "terminal", None) or TerminalSettings()
    configure_window(t)
    caller = None
    if getattr(settings, "sync", None) is not None and getattr(settings, "store", None) is not None:
        from kiosk.device.manager_call import ManagerCaller

        caller = ManagerCaller(settings, t.manager_call_timeout_s)
    ctx = TerminalContext(settings=settings, terminal=t, feed=feed, store=store, sync=sync, on_feedback=on_feedback,
                          manager_call=caller)
    KioskApp(ctx).run()
