"""The central server (DESIGN §5, §8): ingest of anonymous aggregates, the manager's day, the branch comparison.

Build it with ``create_app(CentralSettings(...))``; ``kiosk.central.manage`` holds the CLI's functions.
"""

from kiosk.settings.central import CentralSettings

__all__ = ["CentralSettings", "create_app"]


def create_app(*args, **kwargs):  # type: ignore[no-untyped-def]
    """Lazy re-export of :func:`kiosk.central.app.create_app` (keeps ``import kiosk.central`` light)."""
    from kiosk.central.app import create_app as _create_app

    return _create_app(*args, **kwargs)
