"""``python -m kiosk``: the same as the ``kiosk`` command."""

from kiosk.cli.commands import main

if __name__ == "__main__":
    raise SystemExit(main())
