"""The ``kiosk`` command: the only code that prints or exits.

``commands.py`` is the one command registry and parser (``kiosk run | analyze | simulate | demo | calibrate ...``);
``device.py`` adds the device's commands (doctor, install-service, heartbeat, set-pin, outbox) and ``central.py`` the
server's (serve, add-store, ...) to it. Everything below this package raises; only here does an error become a
message and an exit code.
"""

from kiosk.cli.commands import main

__all__ = ["main"]
