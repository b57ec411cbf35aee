"""Weekly rollups: ``store_weeks`` and ``store_week_criteria``, the ``store_days`` (and criteria) of each ISO week
summed, kept at ingest so range reports read one row per store and week. Filled here from the existing days.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

INTS = ('interactions', 'greeted', 'abandoned', 'rating_1', 'rating_2', 'rating_3', 'rating_4')
MEASURES = ('greeting_s', 'wait_s', 'eye_contact_ratio', 'distance_m_median')


def _sum_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    cols = [sa.Column(c, sa.Integer(), nullable=False) for c in INTS]
    for m in MEASURES:
        cols.append(sa.Column(f'{m}_n', sa.Integer(), nullable=False))
        cols += [sa.Column(f'{m}_{k}', sa.Float(), nullable=False) for k in ('p50_sum', 'p90_sum', 'mean_sum')]
    return cols


def upgrade() -> None:
    sums = _sum_columns()
    op.create_table('store_weeks',
    sa.Column('store_id', sa.String(length=64), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    *sums,
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('store_id', 'week_start')
    )
    op.create_table('store_week_criteria',
    sa.Column('store_id', sa.String(length=64), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('criterion', sa.String(length=64), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('met', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('store_id', 'week_start', 'criterion')
    )
    names = [c.name for c in sums]
    op.execute(
        f"INSERT INTO store_weeks (store_id, week_start, days, {', '.join(names)}) "
        f"SELECT store_id, week_start, COUNT(*), {', '.join(f'SUM({n})' for n in names)} "
        "FROM store_days GROUP BY store_id, week_start"
    )
    op.execute(
        "INSERT INTO store_week_criteria (store_id, week_start, criterion, n, met) "
        "SELECT store_id, week_start, criterion, SUM(n), SUM(met) FROM store_day_criteria "
        "GROUP BY store_id, week_start, criterion"
    )


def downgrade() -> None:
    op.drop_table('store_week_criteria')
    op.drop_table('store_weeks')
