"""the ready-units index keyed by model and depot, for allocation's per-group probes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 19:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

READY = sa.text("state = 'ready'")


def upgrade() -> None:
    with op.batch_alter_table('spare_units', schema=None) as batch_op:
        batch_op.drop_index('ix_spare_units_ready', postgresql_where=READY, sqlite_where=READY)
        batch_op.create_index('ix_spare_units_ready_pick', ['model_id', 'depot_id', 'configured_at', 'id'],
                              unique=False, postgresql_where=READY, sqlite_where=READY)


def downgrade() -> None:
    with op.batch_alter_table('spare_units', schema=None) as batch_op:
        batch_op.drop_index('ix_spare_units_ready_pick', postgresql_where=READY, sqlite_where=READY)
        batch_op.create_index('ix_spare_units_ready', ['model_id', 'configured_at', 'id'], unique=False,
                              postgresql_where=READY, sqlite_where=READY)
