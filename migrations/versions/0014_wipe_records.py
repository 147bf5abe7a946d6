"""media sanitization records (NIST SP 800-88), one certificate each

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 20:15:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'wipe_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('serial', sa.String(length=100), nullable=False),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('technique', sa.String(length=200), nullable=False),
        sa.Column('tool', sa.String(length=200), nullable=False),
        sa.Column('tool_version', sa.String(length=100), nullable=False),
        sa.Column('technician', sa.String(length=200), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('result', sa.String(length=10), nullable=False),
        sa.Column('verification', sa.Text(), nullable=False),
        sa.Column('verified_by', sa.String(length=200), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('recorded_by', sa.String(length=100), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['spare_units.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('wipe_records', schema=None) as batch_op:
        batch_op.create_index('ix_wipe_records_unit', ['unit_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('wipe_records', schema=None) as batch_op:
        batch_op.drop_index('ix_wipe_records_unit')
    op.drop_table('wipe_records')
