"""legal holds on units and workers

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 20:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'legal_holds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('worker_email', sa.String(length=320), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('placed_by', sa.String(length=100), nullable=False),
        sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('until', sa.Date(), nullable=True),
        sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('lifted_by', sa.String(length=100), nullable=True),
        sa.Column('lift_reason', sa.Text(), nullable=True),
        sa.CheckConstraint('(unit_id IS NULL) <> (worker_email IS NULL)', name='ck_legal_holds_one_subject'),
        sa.ForeignKeyConstraint(['unit_id'], ['spare_units.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('legal_holds', schema=None) as batch_op:
        batch_op.create_index('ix_legal_holds_unit', ['unit_id'], unique=False)
        batch_op.create_index('ix_legal_holds_worker', ['worker_email'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('legal_holds', schema=None) as batch_op:
        batch_op.drop_index('ix_legal_holds_worker')
        batch_op.drop_index('ix_legal_holds_unit')
    op.drop_table('legal_holds')
