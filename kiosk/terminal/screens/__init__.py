"""The terminal's screens, one ``name.py`` + ``name.kv`` each. Customer: idle, rate, reason, thanks, notice.
Staff: pin, staff. Screens hold layout and forward taps to one app method each; the app holds the state."""

from kiosk.terminal.screens.idle import IdleScreen
from kiosk.terminal.screens.notice import NoticeScreen
from kiosk.terminal.screens.pin import PinScreen
from kiosk.terminal.screens.rate import RateScreen
from kiosk.terminal.screens.reason import ReasonScreen
from kiosk.terminal.screens.staff import StaffScreen
from kiosk.terminal.screens.thanks import ThanksScreen

SCREENS = {"idle": IdleScreen, "rate": RateScreen, "reason": ReasonScreen, "thanks": ThanksScreen,
           "notice": NoticeScreen, "pin": PinScreen, "staff": StaffScreen}

__all__ = ["SCREENS"]
