"""a partial index on ready units, for allocation ranked in SQL

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 17:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('spare_units', schema=None) as batch_op:
        batch_op.create_index('ix_spare_units_ready', ['model_id', 'configured_at', 'id'], unique=False,
                              postgresql_where=sa.text("state = 'ready'"), sqlite_where=sa.text("state = 'ready'"))


def downgrade() -> None:
    with op.batch_alter_table('spare_units', schema=None) as batch_op:
        batch_op.drop_index('ix_spare_units_ready', postgresql_where=sa.text("state = 'ready'"),
                            sqlite_where=sa.text("state = 'ready'"))
