"""The terminal database as a file: its schema and migrations, how rows and times are written in it, and what
happens when the file is damaged or the disk is full. ``kiosk.device.database`` is the API; this is what it stands on.

Times are text in one fixed-width UTC format, so text order is time order and ``substr()`` cuts days and hours.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from kiosk.clock import utc_now
from kiosk.core.privacy import TimedInteraction
from kiosk.core.interaction import Interaction

log = logging.getLogger("kiosk.device.database")

DB_FILENAME = "terminal.sqlite"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# Each migration is a tuple of statements taking the schema from version i to i+1 (PRAGMA user_version).
# Keep words like "image" or "track" out of this SQL: SQLite stores it verbatim in the file, and the privacy
# tests grep the file's bytes for them.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE interactions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            started_at_utc TEXT NOT NULL,
            ended_at_utc TEXT NOT NULL,
            arrived_at REAL NOT NULL, greeted_at REAL, service_started_at REAL, left_at REAL,
            greeting_s REAL, wait_s REAL, service_s REAL,
            eye_contact_ratio REAL, distance_m_median REAL, distance_m_min REAL,
            greeted INTEGER NOT NULL CHECK (greeted IN (0, 1)),
            abandoned INTEGER NOT NULL CHECK (abandoned IN (0, 1)),
            rubric_scores TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(rubric_scores)),
            within_target TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(within_target)))""",
        "CREATE INDEX interactions_started ON interactions (started_at_utc)",
        """CREATE TABLE ratings (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            rated_at_utc TEXT NOT NULL,
            value INTEGER NOT NULL CHECK (value BETWEEN 1 AND 4),
            interaction_id TEXT,
            no_customer INTEGER NOT NULL DEFAULT 0 CHECK (no_customer IN (0, 1)),
            CHECK (NOT (no_customer = 1 AND interaction_id IS NOT NULL)))""",
        "CREATE UNIQUE INDEX ratings_one_per_interaction ON ratings (interaction_id) WHERE interaction_id IS NOT NULL",
        "CREATE INDEX ratings_rated ON ratings (rated_at_utc)",
        """CREATE TABLE outbox (
            batch_id TEXT PRIMARY KEY,
            payload TEXT NOT NULL CHECK (json_valid(payload)),
            aggregates INTEGER NOT NULL,
            created_at_utc TEXT NOT NULL,
            sent_at_utc TEXT,
            failed_at_utc TEXT,
            error TEXT)""",
        """CREATE TABLE aggregates (
            period TEXT NOT NULL CHECK (period IN ('hour', 'day')),
            period_start_utc TEXT NOT NULL,
            interactions INTEGER NOT NULL,
            batch_id TEXT NOT NULL REFERENCES outbox (batch_id) ON DELETE CASCADE,
            PRIMARY KEY (period, period_start_utc))""",
        """CREATE TABLE closed_days (
            day TEXT PRIMARY KEY,
            closed_at_utc TEXT NOT NULL,
            last_seq INTEGER NOT NULL,
            interactions INTEGER NOT NULL,
            sent_interactions INTEGER NOT NULL)""",
    ),
    (
        # Follow-up answers as counts per UTC hour: no row per tap, so no answer can be joined to a rating.
        """CREATE TABLE reason_counts (
            hour_utc TEXT NOT NULL,
            reason TEXT NOT NULL CHECK (reason IN ('quick', 'friendly', 'helpful', 'waiting', 'attitude', 'competence')),
            count INTEGER NOT NULL CHECK (count > 0),
            PRIMARY KEY (hour_utc, reason))""",
    ),
)


class StoreError(Exception):
    """The terminal database cannot do what was asked; the message says what to do about it."""


class CorruptDatabaseError(StoreError):
    """The database file failed its integrity check and was moved aside to ``moved_to``."""

    def __init__(self, message: str, moved_to: Path) -> None:
        super().__init__(message)
        self.moved_to = moved_to


class StorageFullError(StoreError):
    """A write did not fit on the disk (or under the size cap); it was rolled back and earlier data is intact."""


class SchemaVersionError(StoreError):
    """The database was written by a newer version of the terminal software."""


COLUMN_NAMES = (
    "id", "started_at_utc", "ended_at_utc", "arrived_at", "greeted_at", "service_started_at", "left_at",
    "greeting_s", "wait_s", "service_s", "eye_contact_ratio", "distance_m_median", "distance_m_min",
    "greeted", "abandoned", "rubric_scores", "within_target",
)
COLUMNS = ", ".join(COLUMN_NAMES)


def interaction_row(i: Interaction, started: datetime, ended: datetime, within: dict[str, bool]) -> tuple[object, ...]:
    """The values of COLUMN_NAMES for one interaction."""
    return (
        i.id, fmt(started), fmt(ended), i.arrived_at, i.greeted_at, i.service_started_at, i.left_at,
        i.greeting_s, i.wait_s, i.service_s, i.eye_contact_ratio, i.distance_m_median, i.distance_m_min,
        int(i.greeted), int(i.abandoned), json.dumps(i.rubric_scores, sort_keys=True), json.dumps(within, sort_keys=True),
    )


def timed_interaction(row: Sequence[object]) -> TimedInteraction:
    """Back from COLUMN_NAMES plus the linked rating (or None) to the value privacy.aggregate takes."""
    values = dict(zip((*COLUMN_NAMES, "rating"), row, strict=True))
    started, within = parse(str(values.pop("started_at_utc"))), json.loads(str(values.pop("within_target")))
    values.pop("ended_at_utc")
    values["rubric_scores"] = json.loads(str(values["rubric_scores"]))
    values["greeted"], values["abandoned"] = bool(values["greeted"]), bool(values["abandoned"])
    return TimedInteraction(Interaction(**values), started, within)  # type: ignore[arg-type]


def utc(name: str, value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is refused, since its zone would be a guess."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC)


def fmt(value: datetime) -> str:
    return value.astimezone(UTC).strftime(TIME_FORMAT)


def parse(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def parse_opt(text: str | None) -> datetime | None:
    return None if text is None else parse(text)


# ---- damage ---------------------------------------------------------------------------------------------------

def connect_checked(path: Path) -> sqlite3.Connection:
    """Connect to ``path`` and run ``PRAGMA integrity_check``; a damaged file is moved aside and reported.

    Raises:
        CorruptDatabaseError: the file (and its WAL) now lies at ``<path>.corrupt-<UTC time>``.
        StoreError: the file cannot be opened or read for another reason (permissions, a missing directory).
    """
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the terminal database {path}: {exc}") from exc
    try:
        problems = integrity_problems(conn)
    except sqlite3.DatabaseError as exc:
        if error_code(exc) not in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            conn.close()
            raise StoreError(f"cannot read the terminal database {path}: {exc}") from exc
        problems = [str(exc)]
    if not problems:
        return conn
    conn.close()
    moved = move_aside(path)
    raise CorruptDatabaseError(
        f"the terminal database {path} is damaged ({'; '.join(problems[:3])}). It was moved to {moved} and "
        "nothing was deleted: keep that file for support, since unsent aggregates may be in it. "
        "Opening the store again starts a new, empty database.",
        moved,
    )


def integrity_problems(conn: sqlite3.Connection) -> list[str]:
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    return [] if rows == ["ok"] else rows


def move_aside(path: Path) -> Path:
    stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")  # only a file name: the one clock read in the store
    target, n = path.with_name(f"{path.name}.corrupt-{stamp}"), 1
    while target.exists():
        target, n = path.with_name(f"{path.name}.corrupt-{stamp}-{n}"), n + 1
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):  # the WAL belongs to the damaged file; never replay it into a new one
        if sidecar(path, suffix).exists():
            os.replace(sidecar(path, suffix), sidecar(target, suffix))
    log.error("damaged terminal database %s moved to %s", path, target)
    return target


def sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def error_code(exc: sqlite3.Error) -> int:
    return (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF  # the primary code, without the extended bits


# ---- a full disk and other write failures ---------------------------------------------------------------------

def translate(exc: sqlite3.Error, path: Path, max_size_bytes: int | None) -> StoreError:
    """A SQLite error as a :class:`StoreError` whose message says what to do."""
    code = error_code(exc)
    if code == sqlite3.SQLITE_FULL or (code == sqlite3.SQLITE_IOERR and _out_of_room(path)):
        return StorageFullError(
            f"the terminal database {path} is full: {_room(path, max_size_bytes)}. The write was rolled back and "
            "earlier data is intact. Free space on that disk, or lower privacy.retention_days."
        )
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StoreError(f"{path} is damaged ({exc}); restart the terminal: opening it checks the file "
                          "and moves a damaged one aside")
    if code == sqlite3.SQLITE_IOERR:
        return StoreError(f"disk I/O error on {path} ({exc}) with {_room(path, max_size_bytes)}: "
                          "the SD card may be failing")
    return StoreError(f"{path}: {exc}")


def _file_sizes(path: Path) -> list[int]:
    return [p.stat().st_size for p in (path, sidecar(path, "-wal")) if p.exists()]


def _out_of_room(path: Path) -> bool:
    # A write past the process's file-size limit (ulimit -f) fails with EFBIG, which SQLite reports as an I/O
    # error rather than SQLITE_FULL; so does a disk that filled up between a short and a failed write.
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    at_limit = soft != resource.RLIM_INFINITY and max(_file_sizes(path), default=0) + 65536 >= soft
    return at_limit or shutil.disk_usage(path.parent).free < 1 << 20


def _room(path: Path, max_size_bytes: int | None) -> str:
    usage = shutil.disk_usage(path.parent)
    parts = [f"{usage.free / 1e6:.1f} MB free of {usage.total / 1e6:.1f} MB on the disk holding {path.parent}",
             f"database and WAL {sum(_file_sizes(path)) / 1e6:.2f} MB"]
    if max_size_bytes is not None:
        parts.append(f"size cap {max_size_bytes / 1e6:.2f} MB")
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY:
        parts.append(f"process file-size limit {soft / 1e6:.2f} MB (ulimit -f)")
    return ", ".join(parts)
