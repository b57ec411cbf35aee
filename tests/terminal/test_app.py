"""The real terminal app under Xvfb: taps go through Kivy's event loop, ratings land in a real SQLite store,
every screen is photographed in every language and orientation, and no screen may show a missing glyph or
unshaped Persian."""

from __future__ import annotations

import re
import sqlite3
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.settings.tree import CameraSettings, PrivacySettings, Settings, StoreSettings
from kiosk.core.interaction import Interaction
from kiosk.device.database import Store
from kiosk.terminal.fakefeed import FakeFeed
from kiosk.device.feed import PipelineSnapshot
from kiosk.settings.pin import hash_pin
from kiosk.terminal.ratings import Feedback
from kiosk.settings.terminal import TerminalSettings

PIN = "2468"
OPERATOR, CONTACT = "ООО «Ромашка»", "privacy@romashka.example"


def served(wait_s: float, iid: str | None = None) -> Interaction:
    """A greeted customer who waited ``wait_s`` and was served for 60 s (video-clock seconds)."""
    extra = {"id": iid} if iid else {}
    return Interaction(
        arrived_at=0.0, greeted_at=min(5.0, wait_s), service_started_at=wait_s, left_at=wait_s + 60,
        greeting_s=min(5.0, wait_s), wait_s=wait_s, service_s=60.0, eye_contact_ratio=0.5,
        distance_m_median=1.0, distance_m_min=0.8, greeted=True, abandoned=False, **extra)
LANDSCAPE, PORTRAIT = (1280, 800), (800, 1280)
SCREENS = ("idle", "rate", "reason", "thanks", "notice", "pin", "staff")


@dataclass
class UI:
    app: Any
    feed: FakeFeed
    store: Store
    clock: Any
    data_dir: Path
    feedback: list[Feedback] = field(default_factory=list)
    d: Any = None  # the driver module

    def ratings(self) -> list[tuple[int, str | None, int]]:
        """(value, interaction_id, no_customer) of every stored rating, in tap order."""
        self.app.writer.drain(5)
        with sqlite3.connect(f"file:{self.store.path}?mode=ro", uri=True) as c:
            return c.execute("SELECT value, interaction_id, no_customer FROM ratings ORDER BY rowid").fetchall()

    def screen(self) -> str:
        return self.app.screens.current

    def screen_widget(self, name: str) -> Any:
        return self.app.screens.get_screen(name)

    def fresh(self) -> None:
        """Back to idle, camera fine, no one at the counter, nothing pending, repeats window passed."""
        self.feed.camera_recovers()
        if self.feed.snapshot().customer_at_service:
            self.feed.customer_leaves(at=self.clock() - timedelta(hours=1))
        self.clock.advance(600)
        self.d.idle(3)
        self.app.desk.flush()
        self.app.go_idle()
        self.d.settle(self.app)
        self.feedback.clear()


@pytest.fixture(scope="module")
def ui(kivy_env, tmp_path_factory):
    from tests.terminal import driver

    data_dir = tmp_path_factory.mktemp("terminal_data")
    clock = driver.ManualClock()
    store = Store.in_data_dir(data_dir)
    for wait_s in (30, 50, 70, 100, 200):  # recent waits: p80 (nearest rank) = 100 s -> "up to 2 min"
        store.add_interaction(served(wait_s=wait_s), clock() - timedelta(minutes=10))
    settings = Settings(
        store=StoreSettings(data_dir=data_dir),
        privacy=PrivacySettings(retention_days=21),
        camera=CameraSettings(zones=[{"name": "service", "polygon_px": [(200, 200), (440, 200), (440, 470), (200, 470)]}]),
    )
    terminal = TerminalSettings(
        fullscreen=False, window_width_px=LANDSCAPE[0], window_height_px=LANDSCAPE[1],
        wait_estimate_enabled=True, wait_min_samples=5, staff_pin_hash=hash_pin(PIN),
        thanks_s=1.0, rating_dedupe_window_s=8, rating_link_window_s=45, pin_max_attempts=3, pin_lockout_s=30,
        snapshot_poll_s=0.05, status_refresh_s=0.5, default_language="ru",
        operator_name=OPERATOR, operator_contact=CONTACT,
    )
    feed = FakeFeed(clock=clock)
    ui = UI(None, feed, store, clock, data_dir, d=driver)
    ctx = driver.TerminalContext(settings=settings, terminal=terminal, feed=feed, store=store,
                                 on_feedback=ui.feedback.append, clock=clock)
    ui.app = driver.start_app(ctx)
    driver.wait_until(lambda: ui.app.camera_status == "running", 5, "the fake camera to run")
    yield ui
    driver.stop_app(ui.app)
    store.close()


@pytest.fixture
def u(ui):
    ui.fresh()
    return ui


# ---- the customer's taps -------------------------------------------------------------------------------------

def test_a_customer_at_the_counter_is_asked_once_and_the_tap_links_to_their_interaction(u):
    d = u.d
    u.feed.customer_arrives()
    d.wait_until(lambda: u.screen() == "rate", 3, "the rating screen to open by itself")
    d.settle(u.app)
    d.tap(u.screen_widget("rate").ids.faces.faces[4])
    assert u.screen() == "reason"
    assert u.ratings() == []  # waiting for the interaction to end (the customer is still at the counter)
    iid = u.feed.customer_leaves(at=u.clock() + timedelta(seconds=3))
    d.idle(4)
    assert u.ratings() == [(4, iid, 0)]
    # The pipeline stores the interaction; the store joins the rating to it.
    u.store.add_interaction(served(20, iid), u.clock() + timedelta(seconds=3))
    rows = [ti.interaction for ti in u.store.interactions() if ti.interaction.id == iid]
    assert rows and rows[0].rating == 4


def test_the_first_tap_on_a_face_of_the_idle_screen_is_the_rating(u):
    d = u.d
    assert u.screen() == "idle"
    d.tap(u.screen_widget("idle").ids.faces.faces[2])
    assert u.ratings()[-1] == (2, None, 1)  # stored at once: a customer who walks away now has rated
    d.settle(u.app)
    assert u.screen() == "reason"


def test_the_follow_up_looks_the_same_whichever_face_was_tapped(u, screenshot_dir):
    d = u.d
    shots = []
    for value in (4, 1):
        u.fresh()
        d.tap(u.screen_widget("idle").ids.faces.faces[value])
        d.settle(u.app)
        assert u.screen() == "reason"
        shots.append(d.screenshot(screenshot_dir / f"followup-after-{value}.png").read_bytes())
    assert shots[0] == shots[1]  # pixel for pixel: the clerk across the counter cannot tell


def test_a_pressed_face_shows_no_ring_or_change(u):
    from tests.terminal.driver import UnitTestTouch, screenshot

    d = u.d
    face = u.screen_widget("idle").ids.faces.faces[1]
    before = screenshot(u.data_dir / "face-up.png").read_bytes()
    touch = UnitTestTouch(*face.to_window(*face.center))
    touch.touch_down()
    d.idle(3)
    assert face.state == "down"
    held = screenshot(u.data_dir / "face-down.png").read_bytes()
    touch.touch_up()
    d.idle(2)
    assert held == before


def test_every_rating_gets_one_follow_up_with_good_and_bad_answers_all_optional(u):
    d = u.d
    for value, answer in ((1, "waiting"), (4, "quick"), (3, "friendly")):
        u.fresh()
        d.tap(u.screen_widget("idle").ids.faces.faces[value])
        d.settle(u.app)
        assert u.screen() == "reason"
        d.tap(u.screen_widget("reason").ids[answer])
        assert u.screen() == "thanks"
    u.app.writer.drain(5)
    counts = {c.reason: c.count for c in u.store.reason_counts()}
    assert counts["waiting"] >= 1 and counts["quick"] >= 1 and counts["friendly"] >= 1
    assert [(f.kind, f.reason) for f in u.feedback] == [("reason", "friendly")]
    u.fresh()
    d.tap(u.screen_widget("idle").ids.faces.faces[2])
    d.settle(u.app)
    before = {c.reason: c.count for c in u.store.reason_counts()}
    d.tap(u.screen_widget("reason").ids.skip)
    u.app.writer.drain(5)
    assert u.screen() == "thanks" and u.feedback == []
    assert {c.reason: c.count for c in u.store.reason_counts()} == before


def test_taps_with_no_customer_are_flagged_and_repeats_count_once(u):
    d = u.d
    before = len(u.ratings())
    welcome = u.screen_widget("idle").children[0].children[-1]
    d.tap(welcome)                            # a tap on idle away from the faces opens the rating question
    d.settle(u.app)
    assert u.screen() == "rate"
    d.tap(u.screen_widget("rate").ids.faces.faces[3])
    u.clock.advance(2)                        # within terminal.rating_dedupe_window_s = 8
    u.app.open_rating()
    d.settle(u.app)
    d.tap(u.screen_widget("rate").ids.faces.faces[4])
    assert u.ratings()[before:] == [(3, None, 1)]
    assert u.app.desk.repeats == 1


def test_a_tap_just_after_the_customer_left_links_to_that_interaction(u):
    d = u.d
    iid = u.feed.customer_leaves(at=u.clock() - timedelta(seconds=5))
    d.idle(3)
    u.app.open_rating()
    d.settle(u.app)
    d.tap(u.screen_widget("rate").ids.faces.faces[3])
    assert u.ratings()[-1] == (3, iid, 0)


def test_camera_failure_shows_a_clear_status_and_rating_keeps_working(u, screenshot_dir):
    d = u.d
    u.feed.camera_fails("camera not found: /dev/video0")
    d.wait_until(lambda: not u.app.camera_ok, 2, "the app to notice the camera failure")
    d.settle(u.app)
    mark = u.app.root.ids.camera_mark
    assert mark.ids.icon.kind == "camera_off"
    assert mark.ids.caption.source_text == u.app.tr("camera_off", u.app.lang)
    d.screenshot(screenshot_dir / "idle-ru-camera-error.png")
    u.app.open_rating()
    d.settle(u.app)
    d.tap(u.screen_widget("rate").ids.faces.faces[4])
    assert u.ratings()[-1] == (4, None, 0)  # alone and not flagged: without a camera nobody knows


def test_a_pipeline_that_hangs_or_breaks_never_blocks_the_ui(u):
    d = u.d

    class Broken(FakeFeed):
        def snapshot(self) -> PipelineSnapshot:
            raise RuntimeError("worker died")

    real = u.app.ctx.feed
    object.__setattr__(u.app.ctx, "feed", Broken())
    try:
        d.wait_until(lambda: u.app.camera_status == "camera_error", 2, "a broken pipeline to show as an error")
        u.app.open_rating()
        d.settle(u.app)
        d.tap(u.screen_widget("rate").ids.faces.faces[2])
        assert u.screen() == "reason"
        assert u.ratings()[-1] == (2, None, 0)
    finally:
        object.__setattr__(u.app.ctx, "feed", real)


def test_languages_switch_by_tap_and_idle_returns_to_the_default(u):
    d = u.d
    buttons = {b.code: b for b in u.app.root.ids.languages.children}
    assert set(buttons) == {"ru", "fa", "en"}
    d.tap(buttons["fa"])
    assert u.app.lang == "fa" and u.app.rtl
    d.settle(u.app)
    assert d.glyph_problems(d.visible_labels(u.app.root)) == []
    u.app.open_rating()
    d.settle(u.app)
    d.tap(u.screen_widget("rate").ids.faces.faces[4])
    d.settle(u.app)
    d.tap(u.screen_widget("reason").ids.skip)
    d.wait_until(lambda: u.screen() == "idle", 3, "back to idle")
    assert u.app.lang == "ru"


def test_the_wait_estimate_is_an_upper_percentile_of_recent_waits(u):
    d = u.d
    d.wait_until(lambda: u.app.wait_minutes == 2, 3, "the wait estimate")
    texts = [lab.source_text for lab in d.visible_labels(u.screen_widget("idle")) if hasattr(lab, "source_text")]
    assert u.app.tr("wait_upto", "ru", n=2) in texts


def test_the_privacy_notice_opens_from_the_camera_mark(u):
    d = u.d
    d.tap(u.app.root.ids.camera_mark)
    d.settle(u.app)
    assert u.screen() == "notice"
    d.tap(u.screen_widget("notice").ids.back)
    d.settle(u.app)
    assert u.screen() == "idle"


def test_changing_screens_builds_no_framebuffer(u, monkeypatch):
    # A shader transition (a fade) builds two screen-sized framebuffers and compiles its shader on every change, and
    # Kivy does not give them back (kivy/kivy#7478): the app grew by about 10 MB a minute of customers.
    import kivy.uix.screenmanager as screenmanager

    built = []
    real = screenmanager.Fbo
    monkeypatch.setattr(screenmanager, "Fbo", lambda *args, **kwargs: built.append(kwargs) or real(*args, **kwargs))
    for _ in range(3):
        u.d.tap(u.app.root.ids.camera_mark)
        u.d.settle(u.app)
        u.d.tap(u.screen_widget("notice").ids.back)
        u.d.settle(u.app)
    assert u.screen() == "idle"
    assert built == []


def _spots(u) -> dict[str, float]:
    """Window x of each face's centre and of each top-bar control's centre."""
    faces = u.screen_widget("idle").ids.faces.faces
    bar = u.app.root.ids
    out = {f"face{v}": f.to_window(*f.center)[0] for v, f in faces.items()}
    out |= {name: bar[name].to_window(*bar[name].center)[0] for name in ("camera_mark", "languages", "staff")}
    out |= {f"lang-{b.code}": b.to_window(*b.center)[0] for b in bar.languages.children}
    return out


def test_faces_and_the_top_bar_stay_in_place_in_every_language(u):
    d = u.d
    spots = {}
    for lang in ("ru", "fa", "en"):
        u.app.set_language(lang)
        d.settle(u.app)
        spots[lang] = _spots(u)
    assert spots["fa"] == spots["ru"] == spots["en"]
    xs = [spots["fa"][f"face{v}"] for v in (4, 3, 2, 1)]
    assert xs == sorted(xs)  # happiest on the left, in Persian too
    assert spots["fa"]["camera_mark"] < spots["fa"]["languages"] < spots["fa"]["staff"]


def _bullet_layout(notice) -> list[tuple[float, float, float, float]]:
    """(dot centre y, label top, label bottom, label x) of every bullet item on the notice, in window coordinates."""
    out = []
    for bullets in (notice.ids.measured, notice.ids.never):
        for dot, label in bullets.items:
            out.append((round(dot.to_window(0, dot.dot_center_y)[1], 1), round(label.to_window(0, label.top)[1], 1),
                        round(label.to_window(0, label.y)[1], 1), round(label.to_window(label.x, 0)[0], 1)))
    return out


@pytest.mark.parametrize("size", [LANDSCAPE, PORTRAIT], ids=["landscape", "portrait"])
def test_notice_bullets_sit_on_their_lines_and_stay_put_between_openings(u, size):
    d = u.d
    d.set_window(*size)
    try:
        layouts = []
        for lang in ("ru", "fa", "ru"):
            u.app.set_language(lang)
            u.app.open_notice()
            d.settle(u.app)
            notice = u.screen_widget("notice")
            items = _bullet_layout(notice)
            if lang == "ru":
                layouts.append(items)
            for bullets in (notice.ids.measured, notice.ids.never):
                tops = [lab.to_window(0, lab.top)[1] for _, lab in bullets.items]
                bottoms = [lab.to_window(0, lab.y)[1] for _, lab in bullets.items]
                assert all(b >= t2 - 0.5 for b, t2 in zip(bottoms, tops[1:])), "a bullet runs into the next"
                for dot, lab in bullets.items:  # the dot is on the first line of its item
                    line = lab._label.get_extents("Ag")[1]
                    y = dot.to_window(0, dot.dot_center_y)[1]
                    assert lab.to_window(0, lab.top)[1] - line <= y <= lab.to_window(0, lab.top)[1]
                    assert lab.texture_size[1] <= lab.height + 0.5  # the text fits its row
            u.app.go_idle(reset_language=False)
            d.settle(u.app)
        assert layouts[0] == layouts[1]
    finally:
        u.app.go_idle()
        d.set_window(*LANDSCAPE)


def test_the_notice_says_who_runs_the_system_a_contact_and_how_long_data_is_kept(u):
    d = u.d
    for lang in ("ru", "fa", "en"):
        u.app.set_language(lang)
        u.app.open_notice()
        d.settle(u.app)
        facts = u.screen_widget("notice").ids
        assert facts.operator.ids.value.source_text == OPERATOR
        assert facts.contact.ids.value.source_text == CONTACT
        assert facts.kept.ids.value.source_text == u.app.tr("notice_retention", lang, n=21)  # privacy.retention_days
        assert d.glyph_problems(d.visible_labels(u.screen_widget("notice"))) == []
    u.app.go_idle()


# ---- calling a manager ------------------------------------------------------------------------------------------

def _call_from_the_follow_up(u) -> Any:
    u.d.tap(u.screen_widget("idle").ids.faces.faces[1])
    u.d.settle(u.app)
    button = u.screen_widget("reason").ids.manager
    u.d.tap(button)
    return button


def test_a_manager_call_reaches_the_central_server_and_the_customer_reads_a_manager_is_on_the_way(u, tmp_path):
    from kiosk.central import crud
    from kiosk.central import models as cm
    from kiosk.central.app import create_app
    from kiosk.settings.central import CentralSettings
    from kiosk.settings.tree import SyncSettings
    from kiosk.device.manager_call import ManagerCaller
    from tests.central.live import LiveServer

    central = create_app(CentralSettings(data_dir=tmp_path))
    with central.state.sessionmaker() as s:
        crud.create_region(s, "north", "North")
        crud.create_store(s, "n1", "north", "Nordhafen")
        token = crud.create_device(s, "pi-n1", "n1")[1]
        s.commit()
    try:
        with LiveServer(central) as server:
            terminal = Settings(store=StoreSettings(data_dir=u.data_dir, store_id="n1", device_id="pi-n1"),
                                sync=SyncSettings(server_url=server.url, device_token=token))
            object.__setattr__(u.app.ctx, "manager_call", ManagerCaller(terminal, 5))
            button = _call_from_the_follow_up(u)
            u.d.wait_until(lambda: u.app.manager_state == "coming", 10, "the server to take the call")
            u.d.idle(3)
            assert button.source_text == u.app.tr("manager_coming", "ru")
            with central.state.sessionmaker() as s:
                (call,) = s.query(cm.ManagerCall).all()
                assert (call.store_id, call.device_id) == ("n1", "pi-n1")
    finally:
        object.__setattr__(u.app.ctx, "manager_call", None)
        central.state.engine.dispose()


def test_offline_the_customer_is_asked_to_ask_at_the_counter(u):
    from kiosk.settings.tree import SyncSettings
    from kiosk.device.manager_call import ManagerCaller
    from tests.central.pg import free_port

    nowhere = Settings(store=StoreSettings(data_dir=u.data_dir),
                       sync=SyncSettings(server_url=f"http://127.0.0.1:{free_port()}", device_token="t"))
    object.__setattr__(u.app.ctx, "manager_call", ManagerCaller(nowhere, 2))
    try:
        button = _call_from_the_follow_up(u)
        u.d.wait_until(lambda: u.app.manager_state == "ask", 10, "the failed call")
        u.d.idle(3)
        assert button.source_text == u.app.tr("manager_ask", "ru")
        u.d.tap(u.screen_widget("reason").ids.skip)
        assert u.screen_widget("thanks").children[0].children[0].source_text == u.app.tr("manager_ask", "ru")
    finally:
        object.__setattr__(u.app.ctx, "manager_call", None)


# ---- staff -----------------------------------------------------------------------------------------------------

def _enter_pin(u, pin: str) -> None:
    keys = {k.source_text: k for k in u.screen_widget("pin").ids.keypad.children}
    for digit in pin:
        u.d.tap(keys[digit])
    u.d.tap(keys["OK"])


def test_the_staff_screen_needs_the_pin_and_shows_the_live_view_only_while_open(u):
    d = u.d
    d.tap(u.app.root.ids.staff)
    d.settle(u.app)
    assert u.screen() == "pin"
    _enter_pin(u, "1111")
    d.wait_until(lambda: u.app.pin_message == "pin_wrong", 5, "the wrong PIN to be refused")
    assert u.screen() == "pin" and not u.feed.preview_requested
    _enter_pin(u, PIN)
    d.wait_until(lambda: u.screen() == "staff", 5, "the right PIN to open the staff screen")
    assert u.feed.preview_requested
    d.wait_until(lambda: u.app.preview_texture is not None, 3, "the live view")
    d.wait_until(lambda: u.app.outbox_text != "-", 3, "the outbox size")
    assert u.app.outbox_text == "0" and "ГБ" in u.app.disk_text  # the default language, ru
    d.settle(u.app)
    d.tap(u.screen_widget("staff").ids.close)
    d.settle(u.app)
    assert u.screen() == "idle" and not u.feed.preview_requested and u.app.preview_texture is None


def test_staff_status_lines_are_in_the_screens_language_and_tell_a_clerk_what_to_do(u):
    d = u.d
    u.feed.camera_fails("no camera at index 0: is it plugged in / enabled? try `kiosk doctor`")
    d.wait_until(lambda: not u.app.camera_ok, 2, "the camera failure")
    u.app._go("staff")  # past the PIN (tested above)
    d.wait_until(lambda: u.app.outbox_text != "-", 3, "the status")
    try:
        for lang in ("ru", "fa", "en"):
            u.app.set_language(lang)
            d.settle(u.app)
            shown = [lab.source_text for lab in d.visible_labels(u.screen_widget("staff")) if hasattr(lab, "source_text")]
            assert u.app.tr("status_camera_error", lang) + ". " + u.app.tr("advice_camera_error", lang) in shown
            assert u.app.tr("sync_off", lang) in shown
            assert not [t for t in shown if "doctor" in t or "kiosk " in t]
            if lang != "en":
                assert not [t for t in shown if re.search(r"[A-Za-z]{3,}", t)], "English left on a translated screen"
            assert d.glyph_problems(d.visible_labels(u.screen_widget("staff"))) == []
    finally:
        u.app.leave_staff()


def test_the_pin_pad_locks_after_repeated_wrong_pins(u):
    d = u.d
    u.app.open_staff()
    d.settle(u.app)
    for _ in range(3):
        _enter_pin(u, "9999")
        d.wait_until(lambda: not u.app._pin_checking, 5, "the PIN check")
    assert u.app.pin_message == "pin_locked"
    _enter_pin(u, PIN)
    d.idle(5)
    assert u.screen() == "pin"  # locked: even the right PIN waits
    u.app._pin_locked_until = 0.0


def test_zones_drawn_on_the_live_view_are_saved_as_settings(u):
    d = u.d
    u.app.open_staff()
    u.app._go("staff")  # past the PIN (tested above)
    d.settle(u.app)
    staff = u.screen_widget("staff")
    d.tap(staff.ids.calibrate)
    d.tap(staff.ids.zone_service)
    left, bottom, w, h = staff.ids.preview.picture_rect()
    for fx, fy in ((0.2, 0.8), (0.6, 0.8), (0.6, 0.3)):
        d.tap_at(left + fx * w, bottom + fy * h)
    assert len(u.app.zone_draft) == 3
    d.tap(staff.ids.close_shape)
    d.tap(staff.ids.save_zones)
    saved = tomllib.loads((u.data_dir / "zones.toml").read_text())
    zones = CameraSettings(**saved["camera"]).zones
    assert zones[-1].name == "service" and len(zones[-1].polygon_px) == 3
    x, y = zones[-1].polygon_px[0]
    assert abs(x - 0.2 * 640) < 3 and abs(y - 0.2 * 480) < 3  # image y runs down
    u.app.leave_staff()


# ---- every screen, every language, both orientations -------------------------------------------------------

@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_every_screen_in_every_language_has_its_glyphs_and_a_screenshot(u, orientation, screenshot_dir):
    d = u.d
    size = LANDSCAPE if orientation == "landscape" else PORTRAIT
    d.set_window(*size)
    problems: dict[str, list[str]] = {}
    try:
        u.feed.customer_arrives()  # so the staff view has a figure and the flow is realistic
        d.idle(2)
        for lang in ("ru", "fa", "en"):
            for name in SCREENS:
                u.app.set_language(lang)
                if name == "pin":
                    u.app.open_staff()
                    u.app.pin_entry = "12"
                else:
                    u.app._go(name)
                if name == "staff":
                    d.wait_until(lambda: u.app.preview_texture is not None, 3, "the live view")
                    u.app.toggle_calibration()
                d.settle(u.app)
                found = d.glyph_problems(d.visible_labels(u.app.root))
                if found:
                    problems[f"{name}-{lang}"] = found
                d.screenshot(screenshot_dir / f"{name}-{lang}-{orientation}.png")
                if name == "staff":
                    u.app.toggle_calibration()
    finally:
        u.app.go_idle()
        d.set_window(*LANDSCAPE)
    assert problems == {}
    for lang in ("ru", "fa", "en"):
        for name in SCREENS:
            assert (screenshot_dir / f"{name}-{lang}-{orientation}.png").stat().st_size > 5000


def test_the_glyph_check_catches_missing_glyphs_unshaped_and_left_to_right_persian(u):
    from kivy.uix.label import Label

    from kiosk.terminal.widgets import TLabel

    d = u.d
    arabic = str(u.app.fonts.arabic)
    missing = TLabel(source_text="(اختیاری)", lang="fa", width=600)   # the Arabic font has no parentheses
    unshaped = Label(text="سلام", font_name=arabic)                    # raw letters, never reshaped
    ltr = TLabel(source_text="سلام دنیا", lang="fa", width=600)
    d.idle(3)
    ltr.text = ltr.text[::-1]                                           # shaped but in logical order
    problems = d.glyph_problems([missing, unshaped, ltr])
    assert any("U+0028" in p for p in problems)
    assert any("unshaped" in p for p in problems)
    assert any("not right-to-left" in p for p in problems)
