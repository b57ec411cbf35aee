"""Drive the real Kivy app in a test: frames through ``EventLoop.idle()``, taps through Kivy's input dispatch,
screenshots from the GL framebuffer, and the glyph/shaping check of every visible label.

Import this module only after the ``kivy_env`` fixture has set up the display (it imports Kivy).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import arabic_reshaper
from fontTools.ttLib import TTFont
from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.terminal.app import KioskApp, TerminalContext, configure_window
from kiosk.terminal.widgets import TLabel


class ManualClock:
    """Wall-clock UTC time that moves only when a test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.t = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


def start_app(ctx: TerminalContext) -> KioskApp:
    """Build and start the app the way ``App.run`` does, without entering its blocking loop."""
    configure_window(ctx.terminal)
    EventLoop.ensure_window()
    app = KioskApp(ctx)
    app._run_prepare()  # what App.run does before its loop; Kivy's own tests drive apps this way
    EventLoop.start()
    set_window(ctx.terminal.window_width_px, ctx.terminal.window_height_px)
    return app


def stop_app(app: KioskApp) -> None:
    app.stop()
    idle(2)


def idle(frames: int = 3) -> None:
    for _ in range(frames):
        EventLoop.idle()


def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        EventLoop.idle()


def settle(app: KioskApp) -> None:
    """Let transitions finish and layouts/labels update (generous: a loaded CI machine draws few frames a second)."""
    wait_until(lambda: not app.screens.transition.is_active, 10, "the screen transition")
    idle(4)


def set_window(width: int, height: int) -> None:
    Window.size = (width, height)
    wait_until(lambda: tuple(Window.size) == (width, height), 5, f"the window to become {width}x{height}")
    idle(3)


def tap(widget: Widget) -> None:
    """A finger down and up on the widget's centre, dispatched through Kivy's event loop like a real touch."""
    x, y = widget.to_window(*widget.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    idle(1)
    touch.touch_up()
    idle(2)


def tap_at(x: float, y: float) -> None:
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    idle(1)
    touch.touch_up()
    idle(1)


def screenshot(path: Path) -> Path:
    """Save the window's framebuffer as PNG at ``path``."""
    idle(2)
    with tempfile.TemporaryDirectory() as tmp:
        made = Window.screenshot(name=str(Path(tmp) / "shot.png"))  # Kivy appends a counter
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(made, path)
    return path


def walk(widget: Widget) -> Iterator[Widget]:
    yield widget
    for child in widget.children:
        yield from walk(child)


def visible_labels(root: Widget) -> list[Label]:
    """Labels with text that are drawn: opacity above 0 all the way up, inside the window."""
    out = []
    for w in walk(root):
        if isinstance(w, Label) and w.text.strip() and _shown(w):
            out.append(w)
    return out


def _shown(w: Widget) -> bool:
    node: Widget | None = w
    while node is not None and node is not node.parent:
        if node.opacity == 0:
            return False
        node = node.parent if isinstance(node.parent, Widget) else None
    return True


@cache
def cmap(font_path: str) -> frozenset[int]:
    return frozenset(TTFont(font_path, lazy=True).getBestCmap())


# Arabic-script letters in their basic (unshaped) form; shaped text uses presentation forms (U+FB50-U+FEFF).
def _is_unshaped_letter(ch: str) -> bool:
    return 0x0600 <= ord(ch) <= 0x06FF and unicodedata.category(ch) == "Lo"


def _leading_letters(source: str) -> str:
    """The run of Arabic-script letters (and ZWNJ) that starts the text: its first word, without punctuation."""
    out = ""
    for ch in source.strip():
        if _is_unshaped_letter(ch) or ch == "\u200c":
            out += ch
        else:
            break
    return out


def glyph_problems(labels: list[Label]) -> list[str]:
    """Every character drawn must be in its label's font; Persian must be shaped and right-to-left."""
    problems = []
    for lab in labels:
        chars = cmap(str(lab.font_name))
        missing = sorted({c for c in lab.text if not c.isspace() and ord(c) not in chars})
        if missing:
            problems.append(f"{lab.text[:40]!r} in {Path(str(lab.font_name)).name}: no glyph for "
                            + ", ".join(f"U+{ord(c):04X}" for c in missing))
        unshaped = [c for c in lab.text if _is_unshaped_letter(c)]
        if unshaped:
            problems.append(f"{lab.text[:40]!r}: unshaped Persian letters " + "".join(unshaped[:5]))
        if isinstance(lab, TLabel) and lab.rtl:
            first_word = _leading_letters(lab.source_text)
            first_line = lab.text.split("\n")[0].rstrip()
            visual = arabic_reshaper.reshape(first_word).replace("\u200c", "")[::-1]
            if first_word and not first_line.endswith(visual):
                problems.append(f"{lab.text[:40]!r}: not right-to-left (first word {first_word!r} not at the right)")
    return problems
