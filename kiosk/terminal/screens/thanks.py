"""Thank you: the same screen whichever face was pressed, so the staff member being rated cannot read the
answer off the screen; it goes back to idle by itself."""

from kivy.uix.screenmanager import Screen

import kiosk.terminal.widgets  # noqa: F401
from kiosk.terminal.screens._kv import load_kv


class ThanksScreen(Screen):
    pass


load_kv(__file__)
