"""The rating: four large faces, no neutral one. One tap calls ``app.rate(value)``; then one optional follow-up,
the same whatever the face (RUBRIC-SOURCES R10: one tap, no questionnaire)."""

from kivy.uix.screenmanager import Screen

import kiosk.terminal.widgets  # noqa: F401
from kiosk.terminal.screens._kv import load_kv


class RateScreen(Screen):
    pass


load_kv(__file__)
