"""Monthly partitions of ``aggregates`` on PostgreSQL (DESIGN §8: "partitioned by month").

A month's partition is created the first time a row for it arrives, in its own short transaction, before the
rows are written. A DEFAULT partition (made by the migration) catches anything else, so an insert never fails
for want of a partition. Old months can then be detached or dropped whole. SQLite has no partitions: these
functions do nothing there.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

_known: dict[str, set[str]] = {}
_lock = threading.Lock()


def is_partition(table_name: str | None) -> bool:
    """Partitions are made at run time, not by the models: migrations and schema checks skip them."""
    return bool(table_name) and str(table_name).startswith("aggregates_")


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Alembic ``include_name`` hook that leaves the partitions out of autogenerate comparisons."""
    return not (type_ == "table" and is_partition(name))


def month_start(at: dt.datetime) -> dt.date:
    return dt.date(at.year, at.month, 1)


def partition_name(month: dt.date) -> str:
    return f"aggregates_{month.year:04d}_{month.month:02d}"


def _next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def existing_partitions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'aggregates'"
        ))
        return {r[0] for r in rows}


def ensure_partitions(engine: Engine, starts: Iterable[dt.datetime]) -> list[str]:
    """Create the monthly partitions that rows starting at ``starts`` need; returns the names created."""
    if engine.dialect.name != "postgresql":
        return []
    key = str(engine.url)
    months = {month_start(s) for s in starts}
    with _lock:
        known = _known.get(key)
        if known is None:
            known = _known[key] = existing_partitions(engine)
    created = []
    for month in sorted(months):
        name = partition_name(month)
        if name in known:
            continue
        try:
            with engine.begin() as conn:
                conn.execute(text(
                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF aggregates "
                    f"FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') TO ('{_next_month(month).isoformat()} 00:00:00+00')"
                ))
            created.append(name)
        except DBAPIError:
            # Another request created it at the same moment, or the DEFAULT partition already holds rows of
            # that month (then they stay there): either way the insert can proceed.
            pass
        with _lock:
            known.add(name)
    return created


def forget(engine: Engine) -> None:
    """Drop the cache of known partitions for ``engine`` (after a downgrade in tests)."""
    with _lock:
        _known.pop(str(engine.url), None)
