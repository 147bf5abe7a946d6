"""each model's accessories with their replacement cost, what a missing one costs, and triage grades

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 21:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('device_models', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accessories', sa.JSON(), server_default='[]', nullable=False))
    with op.batch_alter_table('discrepancies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=True))
        batch_op.add_column(sa.Column('currency', sa.String(length=3), nullable=True))
    with op.batch_alter_table('spare_units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cosmetic_grade', sa.String(length=1), nullable=True))
        batch_op.add_column(sa.Column('battery_health', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('spare_units', schema=None) as batch_op:
        batch_op.drop_column('battery_health')
        batch_op.drop_column('cosmetic_grade')
    with op.batch_alter_table('discrepancies', schema=None) as batch_op:
        batch_op.drop_column('currency')
        batch_op.drop_column('amount')
    with op.batch_alter_table('device_models', schema=None) as batch_op:
        batch_op.drop_column('accessories')
