"""Alembic environment: always run programmatically by kiosk.central.db.migrate with an engine in attributes."""

from __future__ import annotations

from alembic import context

from kiosk.central.models import Base
from kiosk.central.partitions import include_name

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    raise RuntimeError("run migrations through kiosk.central.db.migrate(engine), which passes the engine")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
