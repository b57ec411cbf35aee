"""The staff PIN pad. Digits go to ``app.pin_key``; the app checks the hash in a worker thread."""

from kivy.uix.screenmanager import Screen

import kiosk.terminal.widgets  # noqa: F401
from kiosk.terminal.screens._kv import load_kv


class PinScreen(Screen):
    pass


load_kv(__file__)
