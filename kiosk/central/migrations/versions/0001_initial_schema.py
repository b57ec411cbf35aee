"""Initial schema: organisation (regions, stores, devices, users, sessions), batches, aggregates and the
store-day rollups. On PostgreSQL ``aggregates`` is partitioned by month, with a DEFAULT partition.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('regions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('stores',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('region_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stores_region_id'), ['region_id'], unique=False)

    op.create_table('devices',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('store_id', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_store_id'), ['store_id'], unique=False)

    op.create_table('store_day_criteria',
    sa.Column('store_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('criterion', sa.String(length=64), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('met', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('store_id', 'day', 'criterion')
    )
    op.create_table('store_days',
    sa.Column('store_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('interactions', sa.Integer(), nullable=False),
    sa.Column('greeted', sa.Integer(), nullable=False),
    sa.Column('abandoned', sa.Integer(), nullable=False),
    sa.Column('rating_1', sa.Integer(), nullable=False),
    sa.Column('rating_2', sa.Integer(), nullable=False),
    sa.Column('rating_3', sa.Integer(), nullable=False),
    sa.Column('rating_4', sa.Integer(), nullable=False),
    sa.Column('greeting_s_n', sa.Integer(), nullable=False),
    sa.Column('greeting_s_p50_sum', sa.Float(), nullable=False),
    sa.Column('greeting_s_p90_sum', sa.Float(), nullable=False),
    sa.Column('greeting_s_mean_sum', sa.Float(), nullable=False),
    sa.Column('wait_s_n', sa.Integer(), nullable=False),
    sa.Column('wait_s_p50_sum', sa.Float(), nullable=False),
    sa.Column('wait_s_p90_sum', sa.Float(), nullable=False),
    sa.Column('wait_s_mean_sum', sa.Float(), nullable=False),
    sa.Column('eye_contact_ratio_n', sa.Integer(), nullable=False),
    sa.Column('eye_contact_ratio_p50_sum', sa.Float(), nullable=False),
    sa.Column('eye_contact_ratio_p90_sum', sa.Float(), nullable=False),
    sa.Column('eye_contact_ratio_mean_sum', sa.Float(), nullable=False),
    sa.Column('distance_m_median_n', sa.Integer(), nullable=False),
    sa.Column('distance_m_median_p50_sum', sa.Float(), nullable=False),
    sa.Column('distance_m_median_p90_sum', sa.Float(), nullable=False),
    sa.Column('distance_m_median_mean_sum', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('store_id', 'day')
    )
    with op.batch_alter_table('store_days', schema=None) as batch_op:
        batch_op.create_index('ix_store_days_day', ['day', 'store_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('admin', 'regional', 'manager', name='user_role', native_enum=False, length=16), nullable=False),
    sa.Column('store_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('aggregates',
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=4), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('store_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('interactions', sa.Integer(), nullable=False),
    sa.Column('greeted', sa.Integer(), nullable=False),
    sa.Column('abandoned', sa.Integer(), nullable=False),
    sa.Column('rating_1', sa.Integer(), nullable=False),
    sa.Column('rating_2', sa.Integer(), nullable=False),
    sa.Column('rating_3', sa.Integer(), nullable=False),
    sa.Column('rating_4', sa.Integer(), nullable=False),
    sa.Column('measures', sa.JSON(), nullable=False),
    sa.Column('within_target', sa.JSON(), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('device_id', 'period', 'period_start'),
    postgresql_partition_by='RANGE (period_start)'
    )
    with op.batch_alter_table('aggregates', schema=None) as batch_op:
        batch_op.create_index('ix_aggregates_store_day', ['store_id', 'day'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Rows for a month without its own partition land here rather than fail (kiosk.central.partitions).
        op.execute("CREATE TABLE aggregates_default PARTITION OF aggregates DEFAULT")

    op.create_table('batches',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('aggregates', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batches_device_id'), ['device_id'], unique=False)

    op.create_table('login_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('user_regions',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'region_id')
    )


def downgrade() -> None:
    op.drop_table('user_regions')
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_sessions_user_id'))

    op.drop_table('login_sessions')
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batches_device_id'))

    op.drop_table('batches')
    with op.batch_alter_table('aggregates', schema=None) as batch_op:
        batch_op.drop_index('ix_aggregates_store_day')

    op.drop_table('aggregates')
    op.drop_table('users')
    with op.batch_alter_table('store_days', schema=None) as batch_op:
        batch_op.drop_index('ix_store_days_day')

    op.drop_table('store_days')
    op.drop_table('store_day_criteria')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_store_id'))

    op.drop_table('devices')
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stores_region_id'))

    op.drop_table('stores')
    op.drop_table('regions')
