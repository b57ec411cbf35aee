"""What ``kiosk run [--source CAMERA_OR_VIDEO]`` does: open the store, wire the pipeline and sync, run the app.

The CLI builds the pipeline feed from ``--source`` (``kiosk.device.pipeline``) and passes it here; without a source the
terminal runs on :class:`~kiosk.terminal.fakefeed.FakeFeed` in demo mode (a customer steps up and leaves every
20 s), so the screens can be tried without a camera. Errors (bad store, missing fonts) are raised for the CLI
to turn into a message.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from kiosk.device.feed import PipelineFeed

log = logging.getLogger(__name__)


def run_terminal(settings: Any, feed_factory: Callable[[Any], PipelineFeed] | None = None) -> None:
    """Run the counter terminal until its window closes.

    Args:
        settings: the loaded :class:`kiosk.settings.tree.Settings`.
        feed_factory: builds the vision pipeline for ``--source`` from the opened store; None runs the
            simulated demo feed.

    Raises:
        kiosk.device.database.StoreError: the database cannot be opened.
        kiosk.terminal.fonts.FontsMissingError: the Cyrillic/Arabic fonts are not installed.
    """
    from kiosk.device.database import Store
    from kiosk.device.sync import SyncLoop
    from kiosk.terminal.fakefeed import FakeFeed
    from kiosk.terminal.fonts import find_fonts

    find_fonts()  # fail before a window opens
    store = Store.in_data_dir(settings.store.data_dir, max_size_bytes=int(settings.store.max_db_mb * 1e6))
    try:
        if feed_factory is None:
            log.info("no camera source: running the simulated demo feed")
            feed: PipelineFeed = FakeFeed(demo=True)
        else:
            feed = feed_factory(store)
        sync = SyncLoop(store, settings) if settings.sync.device_token else None
        if sync is None:
            log.info("sync.device_token is not set: aggregates stay in the outbox")
        from kiosk.terminal.app import run_app

        run_app(settings, feed, store, sync=sync)
    finally:
        store.close()
