"""Widgets shared by the screens: translated labels, the four faces, drawn icons, buttons, the camera mark.

Icons and faces are drawn with canvas instructions, not emoji or image files: they scale to any display, need
no colour-emoji font, and can be used without reading (issue: "no text needed to use it").
"""

from __future__ import annotations

import math
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Ellipse, Line, Rectangle, RoundedRectangle
from kivy.lang import Builder
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    ListProperty,
    NumericProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.terminal.fonts import FontSet, find_fonts
from kiosk.terminal.i18n import display, is_rtl, shape_line, wrap_rtl

# Face colours, worst to best; shapes differ too, so colour is never the only cue.
FACE_COLORS = {1: (0.84, 0.15, 0.16, 1), 2: (0.98, 0.55, 0.10, 1), 3: (0.55, 0.80, 0.25, 1), 4: (0.10, 0.62, 0.30, 1)}
INK = (0.06, 0.07, 0.09, 1)
_fonts: FontSet | None = None


def current_fonts() -> FontSet:
    """The running app's fonts (or found once on first use, e.g. in a widget test)."""
    global _fonts
    app = App.get_running_app()
    if app is not None and getattr(app, "fonts", None) is not None:
        return app.fonts
    if _fonts is None:
        _fonts = find_fonts()
    return _fonts


class TLabel(Label):
    """A label showing ``source_text`` in ``lang``: the right font, Persian shaped, right-aligned and wrapped
    line by line before reordering (see :mod:`kiosk.terminal.i18n`).

    ``align`` is relative to the reading direction: ``start`` is left in English and right in Persian.
    """

    source_text = StringProperty("")
    lang = StringProperty("en")
    bold = BooleanProperty(False)
    align = OptionProperty("start", options=["start", "center", "end"])
    latin = BooleanProperty(False)  # technical values (paths, error messages): always the Latin font

    def __init__(self, **kwargs: object) -> None:
        self._trigger = Clock.create_trigger(self._refresh, -1)
        super().__init__(**kwargs)
        self.valign = "middle"
        self.fbind("source_text", self._trigger)
        self.fbind("lang", self._trigger)
        self.fbind("bold", self._trigger)
        self.fbind("align", self._trigger)
        self.fbind("latin", self._trigger)
        self.fbind("width", self._trigger)
        self.fbind("font_size", self._trigger)
        self._trigger()

    @property
    def rtl(self) -> bool:
        return is_rtl(self.lang) and not self.latin

    def _refresh(self, *_: object) -> None:
        fonts = current_fonts()
        self.font_name = str(fonts.for_language("en" if self.latin else self.lang, bold=self.bold))
        rtl = self.rtl
        self.halign = {"start": "right" if rtl else "left", "center": "center",
                       "end": "left" if rtl else "right"}[self.align]
        width = max(self.width - 2, 10)
        self.text_size = (width, None)
        if not rtl:
            self.text = self.source_text
            return
        measure = CoreLabel(font_name=self.font_name, font_size=self.font_size)
        lines = wrap_rtl(self.source_text, lambda s: measure.get_extents(shape_line(s))[0] <= width - 4)
        self.text = "\n".join(display(line, self.lang) for line in lines)


class TButton(ButtonBehavior, TLabel):
    """A text button with a rounded, high-contrast background."""

    bg = ColorProperty((0.22, 0.25, 0.30, 1))
    selected = BooleanProperty(False)


class LangButton(TButton):
    """A language choice, written in its own language and font."""

    code = StringProperty("en")


class Face(ButtonBehavior, Widget):
    """One of the four faces, 1 (very unhappy) to 4 (very happy). Tapping calls ``app.rate(value)`` (kv).

    A pressed face looks exactly like a resting one (no ring, no shrink): the clerk across the counter must not
    see which face a customer chose.
    """

    value = NumericProperty(4)
    interactive = BooleanProperty(True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        trigger = Clock.create_trigger(self._draw, -1)
        self.fbind("pos", trigger)
        self.fbind("size", trigger)
        self.fbind("value", trigger)
        trigger()

    def on_touch_down(self, touch):  # type: ignore[no-untyped-def]
        if not self.interactive:
            return False
        return super().on_touch_down(touch)

    def _draw(self, *_: object) -> None:
        v = int(self.value)
        d = min(self.width, self.height)
        cx, cy = self.center
        c = self.canvas
        c.clear()
        with c:
            Color(*FACE_COLORS[v])
            Ellipse(pos=(cx - d / 2, cy - d / 2), size=(d, d))
            Color(*INK)
            er = d * 0.065
            for sx in (-1, 1):
                Ellipse(pos=(cx + sx * d * 0.17 - er, cy + d * 0.10 - er), size=(2 * er, 2 * er))
            w = max(d * 0.045, 2)
            if v == 4:
                Line(ellipse=(cx - d * 0.27, cy - d * 0.30, d * 0.54, d * 0.44, 95, 265), width=w, cap="round")
            elif v == 3:
                Line(ellipse=(cx - d * 0.22, cy - d * 0.24, d * 0.44, d * 0.26, 110, 250), width=w, cap="round")
            elif v == 2:
                Line(ellipse=(cx - d * 0.22, cy - d * 0.30, d * 0.44, d * 0.26, -70, 70), width=w, cap="round")
            else:
                Line(ellipse=(cx - d * 0.26, cy - d * 0.36, d * 0.52, d * 0.40, -85, 85), width=w, cap="round")
                for sx in (-1, 1):  # brows slanting up to the middle: clearly unhappy without colour
                    Line(points=[cx + sx * d * 0.27, cy + d * 0.20, cx + sx * d * 0.09, cy + d * 0.26],
                         width=w * 0.8, cap="round")


class FaceRow(GridLayout):
    """The four faces in a row, best on the left in every language: the same spot means the same rating whether
    the screen shows Russian or Persian (a mirrored scale would turn a habit into the opposite answer).

    Dispatches ``on_rate(value)`` when an interactive face is released.
    """

    interactive = BooleanProperty(True)

    def __init__(self, **kwargs: object) -> None:
        self.register_event_type("on_rate")
        super().__init__(rows=1, **kwargs)
        self.faces = {v: Face(value=v) for v in (4, 3, 2, 1)}
        for face in self.faces.values():
            face.bind(on_release=lambda f: self.dispatch("on_rate", int(f.value)))
            self.add_widget(face)
        self.fbind("interactive", self._orient)
        self._orient()

    def _orient(self, *_: object) -> None:
        for face in self.faces.values():
            face.interactive = self.interactive

    def on_rate(self, value: int) -> None:
        pass


class Icon(Widget):
    """A drawn pictogram: clock, talk, skill, other, manager, camera, camera_off, check, gear."""

    kind = StringProperty("check")
    color = ColorProperty((1, 1, 1, 1))

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        trigger = Clock.create_trigger(self._draw, -1)
        for name in ("pos", "size", "kind", "color"):
            self.fbind(name, trigger)
        trigger()

    def _draw(self, *_: object) -> None:
        d = min(self.width, self.height)
        cx, cy = self.center
        w = max(d * 0.06, 1.5)
        self.canvas.clear()
        with self.canvas:
            Color(*self.color)
            k = self.kind
            if k == "clock":
                Line(circle=(cx, cy, d * 0.42), width=w)
                Line(points=[cx, cy, cx, cy + d * 0.28], width=w, cap="round")
                Line(points=[cx, cy, cx + d * 0.2, cy - d * 0.08], width=w, cap="round")
            elif k == "talk":
                Line(rounded_rectangle=(cx - d * 0.42, cy - d * 0.12, d * 0.84, d * 0.52, d * 0.12), width=w)
                Line(points=[cx - d * 0.2, cy - d * 0.12, cx - d * 0.3, cy - d * 0.38, cx, cy - d * 0.12],
                     width=w, joint="round")
            elif k == "skill":  # a light bulb: know-how
                Line(circle=(cx, cy + d * 0.1, d * 0.28), width=w)
                Line(points=[cx - d * 0.12, cy - d * 0.24, cx + d * 0.12, cy - d * 0.24], width=w, cap="round")
                Line(points=[cx - d * 0.1, cy - d * 0.36, cx + d * 0.1, cy - d * 0.36], width=w, cap="round")
            elif k == "other":
                r = d * 0.08
                for sx in (-1, 0, 1):
                    Ellipse(pos=(cx + sx * d * 0.28 - r, cy - r), size=(2 * r, 2 * r))
            elif k == "manager":  # a person with a badge
                Line(circle=(cx, cy + d * 0.27, d * 0.15), width=w)
                Line(ellipse=(cx - d * 0.36, cy - d * 0.55, d * 0.72, d * 0.6, -90, 90), width=w)
                Ellipse(pos=(cx + d * 0.08, cy - d * 0.18), size=(d * 0.12, d * 0.12))
            elif k in ("camera", "camera_off"):
                Line(rounded_rectangle=(cx - d * 0.42, cy - d * 0.26, d * 0.84, d * 0.52, d * 0.08), width=w)
                Line(circle=(cx, cy, d * 0.16), width=w)
                Rectangle(pos=(cx - d * 0.2, cy + d * 0.26), size=(d * 0.22, d * 0.08))
                if k == "camera_off":
                    Line(points=[cx - d * 0.46, cy - d * 0.42, cx + d * 0.46, cy + d * 0.42], width=w * 1.4)
            elif k == "check":
                Line(circle=(cx, cy, d * 0.45), width=w)
                Line(points=[cx - d * 0.22, cy, cx - d * 0.05, cy - d * 0.18, cx + d * 0.25, cy + d * 0.2],
                     width=w * 1.3, cap="round", joint="round")
            elif k == "gear":
                Line(circle=(cx, cy, d * 0.22), width=w)
                for i in range(8):
                    a = i * math.pi / 4
                    Line(points=[cx + math.cos(a) * d * 0.3, cy + math.sin(a) * d * 0.3,
                                 cx + math.cos(a) * d * 0.44, cy + math.sin(a) * d * 0.44], width=w * 1.5)


class IconButton(ButtonBehavior, BoxLayout):
    """A large button: drawn icon above a caption."""

    kind = StringProperty("other")
    source_text = StringProperty("")
    lang = StringProperty("en")
    bg = ColorProperty((0.22, 0.25, 0.30, 1))
    selected = BooleanProperty(False)


class CameraMark(ButtonBehavior, BoxLayout):
    """The always-visible camera notice: icon and a short line; a tap opens the privacy notice."""

    camera_ok = BooleanProperty(True)
    lang = StringProperty("en")


class Bullets(BoxLayout):
    """A list drawn from a newline-separated text: one row a line, a dot drawn before each (no bullet glyph).

    Rows stack from the top, each exactly as tall as its wrapped text, and each dot sits on the middle of its
    row's first line: a wrapped item pushes the next one down instead of running into it, in any orientation.
    """

    source_text = StringProperty("")
    lang = StringProperty("en")
    font_size = NumericProperty(20)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(orientation="vertical", **kwargs)
        self.items: list[tuple[_Dot, TLabel]] = []
        trigger = Clock.create_trigger(self._build, -1)
        for name in ("source_text", "lang", "font_size"):
            self.fbind(name, trigger)
        trigger()

    def _build(self, *_: object) -> None:
        self.clear_widgets()
        self.items = []
        rtl = is_rtl(self.lang)
        fs = float(self.font_size)
        for line in [s for s in self.source_text.split("\n") if s.strip()]:
            row = BoxLayout(orientation="horizontal", spacing=fs * 0.5, size_hint_y=None, height=fs * 1.4)
            dot = _Dot(size_hint_x=None, width=fs, line_height=fs * 1.4)
            label = TLabel(source_text=line, lang=self.lang, font_size=fs)
            label.bind(texture_size=lambda lab, ts, row=row, dot=dot: _fit_row(row, dot, lab, ts[1]))
            for w in ((label, dot) if rtl else (dot, label)):
                row.add_widget(w)
            self.add_widget(row)
            self.items.append((dot, label))
        self.add_widget(Widget())  # takes the rest of the height, so the rows stay at the top


def _fit_row(row: BoxLayout, dot: _Dot, label: TLabel, text_height: float) -> None:
    one_line = label._label.get_extents("Ag")[1] if label._label is not None else label.font_size * 1.4
    dot.line_height = one_line
    row.height = max(text_height, one_line)


class _Dot(Widget):
    line_height = NumericProperty(20)  # the dot is centred on the first line of its row

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        for name in ("pos", "size", "line_height"):
            self.fbind(name, self._draw)

    @property
    def dot_center_y(self) -> float:
        return self.top - min(self.line_height, self.height) / 2

    def _draw(self, *_: object) -> None:
        r = self.width * 0.18
        self.canvas.clear()
        with self.canvas:
            Color(0.55, 0.80, 1, 1)
            Ellipse(pos=(self.center_x - r, self.dot_center_y - r), size=(2 * r, 2 * r))


class Panel(BoxLayout):
    """A rounded dark card."""

    bg = ColorProperty((0.13, 0.15, 0.19, 1))


Builder.load_file(str(Path(__file__).with_suffix(".kv")))

__all__ = ["Bullets", "CameraMark", "Face", "FaceRow", "Icon", "IconButton", "LangButton", "Panel", "RoundedRectangle", "TButton", "TLabel"]
