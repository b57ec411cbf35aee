"""``python -m kiosk.cli``: the same as the ``kiosk`` command."""

from kiosk.cli.commands import main

if __name__ == "__main__":
    raise SystemExit(main())
