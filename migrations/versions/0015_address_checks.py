"""the carrier's check of a swap's address

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 20:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('swap_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address_status', sa.String(length=12), server_default='unchecked',
                                      nullable=False))
        batch_op.add_column(sa.Column('address_check', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('swap_requests', schema=None) as batch_op:
        batch_op.drop_column('address_check')
        batch_op.drop_column('address_status')
