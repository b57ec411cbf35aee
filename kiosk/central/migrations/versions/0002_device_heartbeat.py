"""Device heartbeat: the server's receive time of a terminal's last heartbeat and what the terminal reported
with it (its clock, software version, pending outbox, last sync, pipeline frame rate). All nullable: a device
that never sent a heartbeat has none of them.

Plain ADD / DROP COLUMN on both databases, not a batch rebuild: rebuilding ``devices`` on SQLite drops the old
table, and with foreign keys on that DROP deletes every device's batches and aggregates by cascade.
SQLite drops a plain column natively since 3.35.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ('last_heartbeat_at', sa.DateTime(timezone=True)),
    ('heartbeat_sent_at', sa.DateTime(timezone=True)),
    ('software_version', sa.String(length=32)),
    ('outbox_pending', sa.Integer()),
    ('last_sync_at', sa.DateTime(timezone=True)),
    ('pipeline_fps', sa.Float()),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column('devices', sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    for name, _ in reversed(COLUMNS):
        op.drop_column('devices', name)
