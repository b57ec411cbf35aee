"""Idle: a welcome, the four faces, and the honest wait estimate when the store shows it.

A tap on a face is the rating (the first tap counts: a customer who taps once and walks away has rated);
a tap anywhere else opens the rating screen with the question."""

from kivy.app import App
from kivy.uix.screenmanager import Screen

import kiosk.terminal.widgets  # noqa: F401  (widget classes for the kv rules)
from kiosk.terminal.screens._kv import load_kv


class IdleScreen(Screen):
    def on_touch_down(self, touch):  # type: ignore[no-untyped-def]
        if super().on_touch_down(touch):
            return True
        if self.collide_point(*touch.pos):
            App.get_running_app().open_rating()
            return True
        return False


load_kv(__file__)
