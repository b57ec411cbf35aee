"""The staff screen (behind the PIN): live view with the zones, pipeline status, sync, outbox, disk, and the
zone-drawing calibration tool. The live view exists only here and only in memory (DESIGN §6): the app asks the
pipeline for frames on entering and stops asking on leaving."""

from __future__ import annotations

from kivy.app import App
from kivy.graphics import Color, Line, Rectangle
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
)
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

import kiosk.terminal.widgets  # noqa: F401
from kiosk.terminal.zone_drawing import image_to_view, view_to_image
from kiosk.terminal.screens._kv import load_kv

ZONE_COLORS = {"staff": (0.3, 0.6, 1, 1), "service": (0.2, 0.9, 0.4, 1), "queue": (1, 0.8, 0.2, 1)}


class PreviewView(Widget):
    """The live picture, fitted inside the widget, with zone outlines on top; taps add calibration corners."""

    texture = ObjectProperty(None, allownone=True)
    frame_no = NumericProperty(0)
    image_size = ListProperty([640, 480])
    zones = ListProperty([])          # [(name, [(x, y), ...]), ...] in image pixels
    draft = ListProperty([])          # corners of the shape being drawn
    draft_zone = ObjectProperty("service")
    calibrating = BooleanProperty(False)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        for name in ("pos", "size", "texture", "frame_no", "image_size", "zones", "draft", "draft_zone"):
            self.fbind(name, self._draw)

    def picture_rect(self) -> tuple[float, float, float, float]:
        iw, ih = self.image_size
        scale = min(self.width / iw, self.height / ih) if iw and ih else 0
        w, h = iw * scale, ih * scale
        return self.center_x - w / 2, self.center_y - h / 2, w, h

    def _draw(self, *_: object) -> None:
        rect = self.picture_rect()
        size = (int(self.image_size[0]), int(self.image_size[1]))
        self.canvas.clear()
        with self.canvas:
            Color(0.05, 0.05, 0.06, 1)
            Rectangle(pos=rect[:2], size=rect[2:])
            if self.texture is not None:
                Color(1, 1, 1, 1)
                Rectangle(texture=self.texture, pos=rect[:2], size=rect[2:])
            for name, polygon in list(self.zones) + ([(self.draft_zone, self.draft)] if self.draft else []):
                Color(*ZONE_COLORS.get(name, (1, 1, 1, 1)))
                pts = [c for p in polygon for c in image_to_view(p[0], p[1], rect, size)]
                closed = polygon is not self.draft and len(polygon) >= 3
                if len(pts) >= 4:
                    Line(points=pts, close=closed, width=2)
                for i in range(0, len(pts), 2):
                    Line(circle=(pts[i], pts[i + 1], 5), width=1.5)

    def on_touch_down(self, touch):  # type: ignore[no-untyped-def]
        if not self.calibrating or not self.collide_point(*touch.pos):
            return super().on_touch_down(touch)
        point = view_to_image(touch.x, touch.y, self.picture_rect(), (int(self.image_size[0]), int(self.image_size[1])))
        if point is not None:
            App.get_running_app().add_zone_point(point)
        return True


class StaffScreen(Screen):
    pass


load_kv(__file__)
