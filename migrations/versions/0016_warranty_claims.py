"""warranty claims, and units replaced by their vendor

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 20:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'warranty_claims',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('vendor', sa.String(length=200), nullable=False),
        sa.Column('rma_number', sa.String(length=100), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('opened_by', sa.String(length=100), nullable=False),
        sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('outcome', sa.String(length=10), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('replacement_unit_id', sa.Integer(), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['replacement_unit_id'], ['spare_units.id'], ),
        sa.ForeignKeyConstraint(['unit_id'], ['spare_units.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('warranty_claims', schema=None) as batch_op:
        batch_op.create_index('ix_warranty_claims_open', ['closed_at'], unique=False)
        batch_op.create_index('ix_warranty_claims_unit', ['unit_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('warranty_claims', schema=None) as batch_op:
        batch_op.drop_index('ix_warranty_claims_unit')
        batch_op.drop_index('ix_warranty_claims_open')
    op.drop_table('warranty_claims')
