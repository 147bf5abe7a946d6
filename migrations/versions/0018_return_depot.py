"""where a swap's broken kit goes back to, when not the depot that sent the unit

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 21:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('swap_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('return_depot_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_swap_requests_return_depot', 'depots', ['return_depot_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('swap_requests', schema=None) as batch_op:
        batch_op.drop_constraint('fk_swap_requests_return_depot', type_='foreignkey')
        batch_op.drop_column('return_depot_id')
