"""label refunds: a cancelled swap's unused labels are voided

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('shipments') as batch:
        batch.add_column(sa.Column('refund_status', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('shipments') as batch:
        batch.drop_column('refund_status')
