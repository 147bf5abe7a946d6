"""where a depot may ship (its country and the regions it serves), swaps that may cross a border, and
the customs data of a model

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 19:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('depots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('serves', sa.JSON(), server_default='[]', nullable=False))
    with op.batch_alter_table('swap_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allow_cross_border', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customs', sa.JSON(), nullable=True))
    with op.batch_alter_table('device_models', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hs_code', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('origin_country', sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('device_models', schema=None) as batch_op:
        batch_op.drop_column('origin_country')
        batch_op.drop_column('hs_code')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_column('customs')
    with op.batch_alter_table('swap_requests', schema=None) as batch_op:
        batch_op.drop_column('allow_cross_border')
    with op.batch_alter_table('depots', schema=None) as batch_op:
        batch_op.drop_column('serves')
