"""The privacy notice (DESIGN §6; RUBRIC-SOURCES X9, X11, X23, X24): what the camera measures, what it never
does, and that the rating is optional and anonymous. Opened from the camera mark on every screen."""

from kivy.uix.screenmanager import Screen

import kiosk.terminal.widgets  # noqa: F401
from kiosk.terminal.screens._kv import load_kv


class NoticeScreen(Screen):
    pass


load_kv(__file__)
