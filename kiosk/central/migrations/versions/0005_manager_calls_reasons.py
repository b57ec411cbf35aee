"""Manager calls from terminals, the follow-up answers (reason counts) aggregates carry, and each user's page
language.

``manager_calls`` holds one row per call: the store and device, the terminal's time of the tap and the server's
receive time; nothing about the customer. ``aggregates.reasons`` is the additive wire field (kiosk.wire.aggregate):
null for rows from terminals that send none. Plain CREATE / ADD COLUMN on both databases (see 0002 on why not a
batch rebuild).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'manager_calls',
        sa.Column('id', sa.String(length=36), primary_key=True),
        sa.Column('store_id', sa.String(length=64), sa.ForeignKey('stores.id', ondelete='CASCADE'), nullable=False),
        sa.Column('device_id', sa.String(length=64), sa.ForeignKey('devices.id', ondelete='CASCADE'), nullable=False),
        sa.Column('called_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_manager_calls_store_received', 'manager_calls', ['store_id', 'received_at'])
    op.add_column('aggregates', sa.Column('reasons', sa.JSON(), nullable=True))
    op.add_column('users', sa.Column('language', sa.String(length=8), nullable=True))


def downgrade() -> None:
    op.drop_column('users', 'language')
    op.drop_column('aggregates', 'reasons')
    op.drop_index('ix_manager_calls_store_received', table_name='manager_calls')
    op.drop_table('manager_calls')
