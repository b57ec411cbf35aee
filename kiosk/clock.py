"""The wall clock, read in one place: now as a timezone-aware UTC datetime.

Terminal and server stamp what they store and send with it; a component that needs time takes a ``clock``
argument defaulting to :func:`utc_now`, so tests pass their own. The measuring core never reads it: there time
comes only from frame timestamps (DESIGN §4; ``tests/test_layers.py`` forbids the import).
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)
