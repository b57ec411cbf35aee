"""Users can be disabled (``kiosk central disable-user``): the time they were, null while active.

Plain ADD / DROP COLUMN, as in 0002 (a batch rebuild of ``users`` would cascade-delete their sessions and
region links on SQLite).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('users', 'disabled_at')
