"""Engine, sessions and migrations. Nothing is created at import: ``make_engine(settings)`` at start-up does it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from kiosk.settings.central import CentralSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(settings: CentralSettings) -> Engine:
    """Create the engine for ``settings`` (SQLite in ``data_dir`` unless ``db_url`` says otherwise)."""
    url = settings.database_url()
    if url.startswith("sqlite"):
        if settings.db_url is None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        private_file(make_url(url).database)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def private_file(database: str | None) -> None:
    """Create the SQLite file readable by its owner only (0600), or tighten an existing one: it holds password
    and token hashes. SQLite gives its -wal and -shm files the main file's mode."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
        for side in ("-wal", "-shm"):
            extra = path.with_name(path.name + side)
            if extra.exists():
                os.chmod(extra, 0o600)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers run while the one writer writes; foreign keys are off in SQLite unless asked for.
    # synchronous=FULL: an acknowledged batch is marked sent on the terminal and never re-sent, so a commit must
    # survive power loss (NORMAL in WAL mode may lose the last commits).
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision``; safe to call at every start."""
    command.upgrade(alembic_config(engine), revision)
