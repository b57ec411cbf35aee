"""After every rating: one optional follow-up (three good and three bad answers, the same screen whatever the
face), and a call-a-manager choice (RUBRIC-SOURCES R1, X4, X5). Skipping costs nothing (X24); the screen closes
by itself."""

from kivy.uix.screenmanager import Screen

import kiosk.terminal.widgets  # noqa: F401
from kiosk.terminal.screens._kv import load_kv


class ReasonScreen(Screen):
    pass


load_kv(__file__)
