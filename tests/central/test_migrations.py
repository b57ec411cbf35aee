"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from kiosk.central import db, partitions
from kiosk.central.models import Base
from kiosk.settings.central import CentralSettings


def test_migrated_schema_matches_models(settings: CentralSettings) -> None:
    engine = db.make_engine(settings)
    db.migrate(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": partitions.include_name})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_migrating_twice_is_a_no_op(settings: CentralSettings) -> None:
    engine = db.make_engine(settings)
    db.migrate(engine)
    db.migrate(engine)
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(db.alembic_config(engine)).get_current_head()
    with engine.connect() as conn:
        version = MigrationContext.configure(conn).get_current_revision()
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert version == head and head is not None
    assert {"aggregates", "store_days", "devices", "users", "manager_calls"} <= tables


def test_downgrade_to_base_drops_every_table(settings: CentralSettings) -> None:
    engine = db.make_engine(settings)
    db.migrate(engine)
    from alembic import command

    command.downgrade(db.alembic_config(engine), "base")
    partitions.forget(engine)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert tables == set()


def test_postgresql_aggregates_get_a_partition_per_month(client, org, backend, app) -> None:  # type: ignore[no-untyped-def]
    if backend != "postgresql":
        pytest.skip("SQLite has no partitions")
    import datetime as dt

    from .helpers import aggregate, auth, batch, hour

    rows = [aggregate("n1", "d-n1", hour(dt.date(2025, 1, 31), 9)), aggregate("n1", "d-n1", hour(dt.date(2025, 2, 1), 9))]
    assert client.post("/api/v1/aggregates", json=batch("d-n1", rows), headers=auth(org.tokens["d-n1"])).status_code == 200
    with app.state.engine.connect() as conn:
        counts = dict(conn.execute(text("SELECT tableoid::regclass::text, count(*) FROM aggregates GROUP BY 1")).all())
    assert counts == {"aggregates_2025_01": 1, "aggregates_2025_02": 1}


def test_downgrading_the_heartbeat_keeps_devices_and_their_aggregates(client, org, app) -> None:  # type: ignore[no-untyped-def]
    # A batch rebuild of ``devices`` on SQLite would DROP it, deleting every batch and aggregate by cascade.
    import datetime as dt

    from alembic import command

    from .helpers import aggregate, auth, batch, hour

    rows = [aggregate("n1", "d-n1", hour(dt.date(2025, 3, 10), 9))]
    assert client.post("/api/v1/aggregates", json=batch("d-n1", rows), headers=auth(org.tokens["d-n1"])).status_code == 200
    command.downgrade(db.alembic_config(app.state.engine), "0001")
    with app.state.engine.connect() as conn:
        counts = [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in ("devices", "batches", "aggregates")]
        columns = {c["name"] for c in inspect(conn).get_columns("devices")}
    assert counts == [4, 1, 1]
    assert "last_heartbeat_at" not in columns


def test_weekly_rollups_are_filled_from_existing_days(client, org, app) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from alembic import command

    from .helpers import aggregate, auth, batch, hour

    rows = [aggregate("n1", "d-n1", hour(dt.date(2025, 3, d), 9), interactions=10) for d in (3, 4, 9)]
    assert client.post("/api/v1/aggregates", json=batch("d-n1", rows), headers=auth(org.tokens["d-n1"])).status_code == 200
    command.downgrade(db.alembic_config(app.state.engine), "0003")
    command.upgrade(db.alembic_config(app.state.engine), "head")
    with app.state.engine.connect() as conn:
        weeks = conn.execute(text("SELECT week_start, days, interactions FROM store_weeks ORDER BY week_start")).all()
    assert [(str(w), d, i) for w, d, i in weeks] == [("2025-03-03", 3, 30)]


def test_disabling_users_downgrades_without_losing_them(client, org, app) -> None:  # type: ignore[no-untyped-def]
    from alembic import command

    command.downgrade(db.alembic_config(app.state.engine), "0002")
    with app.state.engine.connect() as conn:
        users = conn.execute(text("SELECT count(*) FROM users")).scalar()
        columns = {c["name"] for c in inspect(conn).get_columns("users")}
    assert users == 4 and "disabled_at" not in columns
