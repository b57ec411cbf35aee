"""Fixtures: each test gets its own database, on SQLite and on a real PostgreSQL cluster started for the run.

``backend`` parametrises a test over both; PostgreSQL tests are skipped (with the reason) only when Debian's
PostgreSQL binaries are not installed. Each PostgreSQL test database is cloned from a migrated template, which
is much faster than migrating each one.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kiosk.central import db, security
from kiosk.central.app import create_app
from kiosk.settings.central import CentralSettings

from . import pg
from .helpers import NOW, Org, seed_org
from .live import LiveServer

_counter = itertools.count()


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    # Still argon2id, with minimal cost: the production parameters take ~50 ms per hash and tests make many.
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pg.Cluster]:
    bindir = pg.find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    cluster = pg.Cluster(bindir).start()
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE kiosk_template")
    # Migrate the template once; every test database is a copy of it.
    engine = db.make_engine(CentralSettings(db_url=cluster.url("kiosk_template")))
    db.migrate(engine)
    engine.dispose()
    yield cluster
    cluster.stop()


def new_pg_database(cluster: pg.Cluster) -> str:
    name = f"t{next(_counter)}_{int(time.time() * 1000) % 100000}"
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE kiosk_template')
    return cluster.url(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'central.sqlite'}"
    return new_pg_database(request.getfixturevalue("pg_cluster"))


# The tests post rows of "today" (and its day row) while the clock says noon: a day's skew lets them. The period
# bounds themselves are tested with the default skew (test_ingest_bounds.py).
TEST_CLOCK_SKEW_S = 86_400
# Starlette's TestClient says Host: testserver unless given a base_url.
TEST_HOSTS = ("127.0.0.1", "localhost", "testserver")


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> CentralSettings:
    return CentralSettings(db_url=db_url, data_dir=tmp_path, clock_skew_s=TEST_CLOCK_SKEW_S,
                           trusted_hosts=TEST_HOSTS)


class Clock:
    """A settable wall clock for the app (``now``) and a monotonic one for the rate limiter."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.mono = 1000.0

    def __call__(self) -> dt.datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def make_app(clock: Clock) -> Callable[[CentralSettings], FastAPI]:
    def make(s: CentralSettings) -> FastAPI:
        return create_app(s, clock=clock, rate_clock=clock.monotonic)

    return make


@pytest.fixture
def app(settings: CentralSettings, make_app: Callable[[CentralSettings], FastAPI]) -> Iterator[FastAPI]:
    application = make_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def org(app: FastAPI) -> Org:
    with app.state.sessionmaker() as session:
        o = seed_org(session)
        session.commit()
    return o


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server
