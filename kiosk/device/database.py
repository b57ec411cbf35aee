"""The terminal's memory: one SQLite file in WAL mode holding interactions, ratings and the outbox (DESIGN §5, §6).

One ``Store`` owns the one write connection (threads share it behind a lock). Every write is one transaction.
Numbers only: no frame, keypoint, box or track ever reaches this module, and the schema has no column for them.

Durability: ``synchronous=FULL``. A counter terminal loses power whenever someone pulls the plug at closing
time; FULL syncs the WAL at every commit so a committed interaction survives that, and at about one interaction
a minute the cost of an fsync per commit does not matter (``benchmarks/store.py`` prints the rate).

Opening checks the file (``PRAGMA integrity_check``). A damaged file is renamed aside, never reset, and
:class:`CorruptDatabaseError` tells the caller where it went; the caller decides whether to start afresh.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Self

from kiosk.vocabulary import RATINGS
from kiosk.wire.aggregate import Aggregate, AggregateBatch
from kiosk.wire.aggregate import REASON_CODES
from kiosk.core.privacy import ReasonCount, TimedInteraction, TimedRating
from kiosk.core.interaction import Interaction
from kiosk.device.database_file import (
    COLUMNS,
    DB_FILENAME,
    MIGRATIONS,
    CorruptDatabaseError,
    SchemaVersionError,
    StorageFullError,
    StoreError,
    connect_checked,
    fmt,
    integrity_problems,
    interaction_row,
    parse,
    parse_opt,
    timed_interaction,
    translate,
    utc,
)

__all__ = [
    "DB_FILENAME", "CloseReport", "CorruptDatabaseError", "OutboxBatch", "SchemaVersionError", "StorageFullError",
    "Store", "StoreError",
]

log = logging.getLogger(__name__)

AggregateBuilder = Callable[
    [Sequence[TimedInteraction], Sequence[TimedRating], Sequence[ReasonCount]], Sequence[Aggregate]]


@dataclass(frozen=True)
class OutboxBatch:
    """One POST body waiting in (or sent from) the outbox. ``payload`` is the exact JSON sent, every time."""

    batch_id: str
    payload: bytes
    aggregates: int
    created_at: datetime
    sent_at: datetime | None = None
    failed_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class CloseReport:
    """What closing days did: ``interactions`` read, ``sent_interactions`` placed in rows, the rest suppressed."""

    days: int
    interactions: int
    sent_interactions: int
    aggregates: int
    batches: int

    @property
    def suppressed_interactions(self) -> int:
        return self.interactions - self.sent_interactions


class Store:
    """The terminal's SQLite database. Open with :meth:`open` or :meth:`in_data_dir`; use as a context manager.

    Times passed in must be timezone-aware; they are stored as UTC. Nothing here reads the clock except the
    name of a corrupt file moved aside.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, max_size_bytes: int | None) -> None:
        self._conn = conn
        self.path = path
        self._max_size_bytes = max_size_bytes
        self._lock = threading.RLock()

    # ---- opening -------------------------------------------------------------------------------------------

    @classmethod
    def in_data_dir(cls, data_dir: Path, *, max_size_bytes: int | None = None) -> Store:
        """Open ``data_dir/terminal.sqlite`` (``store.data_dir``), creating the directory if needed."""
        data_dir = Path(data_dir)
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the data directory {data_dir} (store.data_dir): {exc}") from exc
        return cls.open(data_dir / DB_FILENAME, max_size_bytes=max_size_bytes)

    @classmethod
    def open(cls, path: Path, *, max_size_bytes: int | None = None) -> Store:
        """Open (or create) the database at ``path``, check it, and bring its schema up to date.

        Args:
            path: the SQLite file.
            max_size_bytes: cap the database file at this size (``PRAGMA max_page_count``) so it cannot fill
                the SD card; writes beyond it raise :class:`StorageFullError`.

        Raises:
            CorruptDatabaseError: the file is damaged; it has been renamed to ``<path>.corrupt-<UTC time>``.
            SchemaVersionError: the file comes from newer software.
            StoreError: the file cannot be opened at all (permissions, missing directory).
        """
        path = Path(path)
        conn = connect_checked(path)
        store = cls(conn, path, max_size_bytes)
        try:
            store._configure()
            store._migrate()
        except BaseException:
            conn.close()
            raise
        return store

    def _configure(self) -> None:
        c = self._conn
        mode = c.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            raise StoreError(f"{self.path}: the file system does not support SQLite's WAL mode (got {mode!r})")
        c.execute("PRAGMA synchronous=FULL")  # see the module docstring: power cuts are routine on a counter
        c.execute("PRAGMA foreign_keys=ON")
        c.execute("PRAGMA journal_size_limit=4194304")  # give back WAL space after checkpoints (small SD cards)
        if self._max_size_bytes is not None:
            page = c.execute("PRAGMA page_size").fetchone()[0]
            c.execute(f"PRAGMA max_page_count={max(2, self._max_size_bytes // page)}")

    def _migrate(self) -> None:
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise SchemaVersionError(
                f"{self.path} has schema version {version}, newer than this software's {len(MIGRATIONS)}: "
                "update the terminal software (do not delete the file)"
            )
        for target in range(version + 1, len(MIGRATIONS) + 1):
            with self._write() as c:
                for statement in MIGRATIONS[target - 1]:
                    c.execute(statement)
                c.execute(f"PRAGMA user_version={target}")  # in the same transaction: all or nothing
            log.info("terminal database %s migrated to schema version %d", self.path, target)

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def integrity_problems(self) -> list[str]:
        """Run ``PRAGMA integrity_check`` now; an empty list means the file is sound."""
        with self._lock:
            return integrity_problems(self._conn)

    # ---- writing -------------------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction holding the write lock; SQLite errors become :class:`StoreError` subclasses."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:  # SQLite rolls back by itself on some errors, e.g. a full disk
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise translate(exc, self.path, self._max_size_bytes) from exc
                raise

    def add_interaction(
        self, interaction: Interaction, ended_at: datetime, within_target: Mapping[str, bool] | None = None
    ) -> None:
        """Store one finished interaction (and its rating, if it has one) in one transaction.

        Args:
            interaction: the numbers of DESIGN §5.
            ended_at: wall-clock time (timezone-aware) of ``interaction.left_at``, or of its last event when the
                customer's leaving was not seen. The arrival time, which decides the hour the interaction counts
                in, is ``ended_at`` minus the interaction's own duration on the video clock.
            within_target: rubric verdicts, criterion id -> met, as judged when the interaction ended.

        Raises:
            ValueError: ``ended_at`` is naive, or an interaction with this id is already stored.
            StorageFullError: the disk is full; nothing of this interaction was written.
        """
        self.add_interactions([(interaction, ended_at, within_target)])

    def add_interactions(
        self, items: Iterable[tuple[Interaction, datetime, Mapping[str, bool] | None]]
    ) -> int:
        """Store many finished interactions (each as for :meth:`add_interaction`) in one transaction: all or none.

        One commit, one fsync: a back-fill of weeks takes a second instead of a minute. Returns how many.

        Raises:
            ValueError: an ``ended_at`` is naive, or an interaction id is already stored (nothing is written).
            StorageFullError: the disk is full; nothing was written.
        """
        rows = []
        for i, ended_at, within in items:
            ended = utc("ended_at", ended_at)
            last = max(t for t in (i.arrived_at, i.greeted_at, i.service_started_at, i.left_at) if t is not None)
            started = ended - timedelta(seconds=last - i.arrived_at)
            rows.append((i, ended, interaction_row(i, started, ended, {str(k): bool(v) for k, v in (within or {}).items()})))
        try:
            with self._write() as c:
                for i, ended, row in rows:
                    c.execute(f"INSERT INTO interactions ({COLUMNS}) VALUES ({', '.join('?' * len(row))})", row)
                    if i.rating is not None:
                        _upsert_rating(c, i.rating, ended, i.id)
        except StoreError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError) and "interactions.id" in str(exc.__cause__):
                raise ValueError(f"an interaction is already stored ({exc.__cause__})") from None
            raise
        return len(rows)

    def add_rating(
        self, value: int, rated_at: datetime, *, interaction_id: str | None = None, no_customer: bool = False
    ) -> None:
        """Store a rating tap (1-4). Linked to ``interaction_id`` (a later tap for it replaces the earlier one),
        or stand-alone; ``no_customer`` marks a stand-alone tap while the camera saw no one at the counter.
        The interaction it is linked to may be stored later: the customer taps before they leave."""
        if value not in RATINGS:
            raise ValueError(f"rating value must be 1-4, got {value!r}")
        if no_customer and interaction_id is not None:
            raise ValueError("a rating linked to an interaction cannot be flagged no_customer")
        at = utc("rated_at", rated_at)
        with self._write() as c:
            if interaction_id is not None:
                _upsert_rating(c, value, at, interaction_id)
            else:
                c.execute(
                    "INSERT INTO ratings (rated_at_utc, value, no_customer) VALUES (?, ?, ?)",
                    (fmt(at), value, int(no_customer)),
                )

    def add_reason(self, reason: str, at: datetime) -> None:
        """Count one follow-up answer (:data:`kiosk.wire.aggregate.REASON_CODES`) in the UTC hour of ``at``.

        Only the hour's count grows: the time of the tap and the rating it followed are not kept.
        """
        self.add_reasons([(reason, at)])

    def add_reasons(self, answers: Iterable[tuple[str, datetime]]) -> None:
        """Count many follow-up answers in one transaction (all or none); see :meth:`add_reason`."""
        rows = []
        for reason, at in answers:
            if reason not in REASON_CODES:
                raise ValueError(f"reason must be one of {REASON_CODES}, got {reason!r}")
            rows.append((fmt(utc("at", at).replace(minute=0, second=0, microsecond=0)), reason))
        with self._write() as c:
            c.executemany(
                "INSERT INTO reason_counts (hour_utc, reason, count) VALUES (?, ?, 1) "
                "ON CONFLICT (hour_utc, reason) DO UPDATE SET count = count + 1",
                rows,
            )

    def reason_counts(self) -> list[ReasonCount]:
        """Every stored follow-up count, oldest hour first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT hour_utc, reason, count FROM reason_counts ORDER BY hour_utc, reason").fetchall()
        return [ReasonCount(parse(h), r, n) for h, r, n in rows]

    def apply_retention(self, now: datetime, retention_days: int) -> int:
        """Delete interactions and ratings from before ``now - retention_days`` (``privacy.retention_days``),
        and sent or failed outbox batches as old; unsent batches stay until acknowledged. Returns the number
        of interactions deleted. A clock that jumped back only makes the cut earlier, never deletes newer rows."""
        if retention_days < 1:
            raise ValueError(f"retention_days must be 1 or more, got {retention_days!r}")
        cut = fmt(utc("now", now) - timedelta(days=retention_days))
        with self._write() as c:
            gone = c.execute("DELETE FROM interactions WHERE started_at_utc < ?", (cut,)).rowcount
            c.execute("DELETE FROM ratings WHERE rated_at_utc < ?", (cut,))
            c.execute("DELETE FROM reason_counts WHERE hour_utc < ?", (cut,))
            c.execute(
                "DELETE FROM outbox WHERE created_at_utc < ? "
                "AND (sent_at_utc IS NOT NULL OR failed_at_utc IS NOT NULL)",
                (cut,),
            )
        return gone

    # ---- reading -------------------------------------------------------------------------------------------

    def interactions(self, start: datetime | None = None, end: datetime | None = None) -> list[TimedInteraction]:
        """Stored interactions that started in ``[start, end)`` (all when unset), oldest first, with ratings."""
        lo = fmt(utc("start", start)) if start else ""
        hi = fmt(utc("end", end)) if end else "~"
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {COLUMNS}, r.value FROM interactions i LEFT JOIN ratings r ON r.interaction_id = i.id "
                "WHERE started_at_utc >= ? AND started_at_utc < ? ORDER BY started_at_utc, i.seq",
                (lo, hi),
            ).fetchall()
        return [timed_interaction(row) for row in rows]

    def count_interactions(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM interactions").fetchone()[0])

    def late_interactions(self) -> int:
        """Interactions stored for a day after that day was closed (e.g. the clock jumped back): kept, not sent."""
        with self._lock:
            return int(self._conn.execute(
                "SELECT count(*) FROM interactions i JOIN closed_days d ON substr(i.started_at_utc, 1, 10) = d.day "
                "WHERE i.seq > d.last_seq"
            ).fetchone()[0])

    # ---- closing days into the outbox ----------------------------------------------------------------------

    def close_days(
        self, *, until: datetime, build: AggregateBuilder, device_id: str, batch_size: int, now: datetime
    ) -> CloseReport:
        """Aggregate every day that ended by ``until`` and is not closed yet, and queue the rows as batches.

        Reading the days, writing the batches and marking the days closed is one transaction: after a crash
        either all of it happened or none. A day is closed once; interactions stored for it afterwards are
        counted by :meth:`late_interactions` and never sent, so the server never sees a day twice.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size (sync.batch_size) must be 1 or more, got {batch_size!r}")
        last_day = utc("until", until).date()  # a day is over once `until` reaches its following midnight
        with self._write() as c:
            days = [date.fromisoformat(d) for (d,) in c.execute(
                "SELECT DISTINCT substr(started_at_utc, 1, 10) AS d FROM interactions UNION "
                "SELECT DISTINCT substr(rated_at_utc, 1, 10) FROM ratings UNION "
                "SELECT DISTINCT substr(hour_utc, 1, 10) FROM reason_counts EXCEPT SELECT day FROM closed_days "
                "ORDER BY d"
            ) if date.fromisoformat(d) < last_day]
            if not days:
                return CloseReport(0, 0, 0, 0, 0)
            stamp, total, sent = fmt(utc("now", now)), 0, 0
            rows: list[Aggregate] = []
            for day in days:
                lo, hi = day.isoformat(), (day + timedelta(days=1)).isoformat()
                found = self._day_interactions(lo, hi)
                day_rows = list(build([ti for _, ti in found], self._day_ratings(lo, hi), self._day_reasons(lo, hi)))
                in_rows = sum(a.interactions for a in day_rows)
                last_seq = max((seq for seq, _ in found), default=0)
                c.execute(
                    "INSERT INTO closed_days VALUES (?, ?, ?, ?, ?)", (lo, stamp, last_seq, len(found), in_rows)
                )
                total, sent, rows = total + len(found), sent + in_rows, rows + day_rows
            batches = [rows[i:i + batch_size] for i in range(0, len(rows), batch_size)]
            for chunk in batches:
                batch = AggregateBatch(device_id=device_id, batch_id=uuid.uuid4(), aggregates=chunk)
                bid = str(batch.batch_id)
                c.execute(
                    "INSERT INTO outbox (batch_id, payload, aggregates, created_at_utc) VALUES (?, ?, ?, ?)",
                    (bid, batch.model_dump_json(), len(chunk), stamp),
                )
                c.executemany(
                    "INSERT INTO aggregates VALUES (?, ?, ?, ?)",
                    [(a.period, fmt(a.period_start), a.interactions, bid) for a in chunk],
                )
        return CloseReport(len(days), total, sent, len(rows), len(batches))

    def _day_interactions(self, lo: str, hi: str) -> list[tuple[int, TimedInteraction]]:
        rows = self._conn.execute(
            f"SELECT {COLUMNS}, r.value, i.seq FROM interactions i LEFT JOIN ratings r ON r.interaction_id = i.id "
            "WHERE started_at_utc >= ? AND started_at_utc < ? ORDER BY i.seq",
            (lo, hi),
        ).fetchall()
        return [(row[-1], timed_interaction(row[:-1])) for row in rows]

    def _day_ratings(self, lo: str, hi: str) -> list[TimedRating]:
        # Stand-alone taps, plus linked taps whose interaction never arrived (counted where they were tapped).
        rows = self._conn.execute(
            "SELECT value, rated_at_utc, no_customer FROM ratings r WHERE rated_at_utc >= ? AND rated_at_utc < ? "
            "AND (interaction_id IS NULL OR NOT EXISTS (SELECT 1 FROM interactions i WHERE i.id = r.interaction_id))",
            (lo, hi),
        ).fetchall()
        return [TimedRating(value, parse(at), bool(flag)) for value, at, flag in rows]

    def _day_reasons(self, lo: str, hi: str) -> list[ReasonCount]:
        rows = self._conn.execute(
            "SELECT hour_utc, reason, count FROM reason_counts WHERE hour_utc >= ? AND hour_utc < ?", (lo, hi)
        ).fetchall()
        return [ReasonCount(parse(h), r, n) for h, r, n in rows]

    # ---- the outbox ----------------------------------------------------------------------------------------

    def pending_batches(self, limit: int | None = None) -> list[OutboxBatch]:
        """Batches not yet acknowledged and not set aside, oldest first."""
        return self._batches("sent_at_utc IS NULL AND failed_at_utc IS NULL", limit)

    def failed_batches(self) -> list[OutboxBatch]:
        """Batches the server refused as malformed (HTTP 422), with its message."""
        return self._batches("failed_at_utc IS NOT NULL", None)

    def sent_batches(self) -> list[OutboxBatch]:
        return self._batches("sent_at_utc IS NOT NULL", None)

    def _batches(self, where: str, limit: int | None) -> list[OutboxBatch]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT batch_id, payload, aggregates, created_at_utc, sent_at_utc, failed_at_utc, error "
                f"FROM outbox WHERE {where} ORDER BY rowid LIMIT ?",
                (-1 if limit is None else limit,),
            ).fetchall()
        return [
            OutboxBatch(b, p.encode(), n, parse(c), parse_opt(s), parse_opt(f), e) for b, p, n, c, s, f, e in rows
        ]

    def mark_sent(self, batch_id: str, at: datetime) -> None:
        """Record the server's 2xx acknowledgement of ``batch_id``."""
        with self._write() as c:
            c.execute("UPDATE outbox SET sent_at_utc = ? WHERE batch_id = ?", (fmt(utc("at", at)), batch_id))

    def mark_failed(self, batch_id: str, message: str, at: datetime) -> None:
        """Set a batch aside (the server called it malformed) so it is not resent in a loop; it stays stored."""
        with self._write() as c:
            c.execute(
                "UPDATE outbox SET failed_at_utc = ?, error = ? WHERE batch_id = ?",
                (fmt(utc("at", at)), message[:2000], batch_id),
            )

    def requeue_failed(self) -> int:
        """Put batches set aside back in the queue (after a software fix); returns how many."""
        with self._write() as c:
            return c.execute(
                "UPDATE outbox SET failed_at_utc = NULL, error = NULL WHERE failed_at_utc IS NOT NULL"
            ).rowcount


def _upsert_rating(c: sqlite3.Connection, value: int, at: datetime, interaction_id: str) -> None:
    c.execute(
        "INSERT INTO ratings (rated_at_utc, value, interaction_id) VALUES (?, ?, ?) "
        "ON CONFLICT (interaction_id) WHERE interaction_id IS NOT NULL "
        "DO UPDATE SET value = excluded.value, rated_at_utc = excluded.rated_at_utc",
        (fmt(at), value, interaction_id),
    )
