"""returns and reconciliation

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:52:26.454210
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cycle_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('depot_id', sa.Integer(), nullable=False),
    sa.Column('started_by', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('report', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['depot_id'], ['depots.id'], name=op.f('fk_cycle_counts_depot_id_depots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cycle_counts'))
    )
    op.create_table('expected_returns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('swap_id', sa.Integer(), nullable=False),
    sa.Column('depot_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.Column('expected_items', sa.JSON(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('received_unit_id', sa.Integer(), nullable=True),
    sa.Column('received_code', sa.String(length=100), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_by', sa.String(length=100), nullable=True),
    sa.Column('items_present', sa.JSON(), nullable=True),
    sa.Column('condition', sa.String(length=20), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('last_reminder_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['depot_id'], ['depots.id'], name=op.f('fk_expected_returns_depot_id_depots')),
    sa.ForeignKeyConstraint(['received_unit_id'], ['spare_units.id'], name=op.f('fk_expected_returns_received_unit_id_spare_units')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_expected_returns_shipment_id_shipments')),
    sa.ForeignKeyConstraint(['swap_id'], ['swap_requests.id'], name=op.f('fk_expected_returns_swap_id_swap_requests')),
    sa.ForeignKeyConstraint(['unit_id'], ['spare_units.id'], name=op.f('fk_expected_returns_unit_id_spare_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expected_returns')),
    sa.UniqueConstraint('swap_id', name=op.f('uq_expected_returns_swap_id'))
    )
    with op.batch_alter_table('expected_returns', schema=None) as batch_op:
        batch_op.create_index('ix_expected_returns_open_due', ['status', 'due_date'], unique=False)

    op.create_table('discrepancies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('expected_return_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('depot_id', sa.Integer(), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['depot_id'], ['depots.id'], name=op.f('fk_discrepancies_depot_id_depots')),
    sa.ForeignKeyConstraint(['expected_return_id'], ['expected_returns.id'], name=op.f('fk_discrepancies_expected_return_id_expected_returns')),
    sa.ForeignKeyConstraint(['unit_id'], ['spare_units.id'], name=op.f('fk_discrepancies_unit_id_spare_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discrepancies')),
    sa.UniqueConstraint('kind', 'expected_return_id', 'unit_id', name='uq_discrepancies_kind_return_unit')
    )
    with op.batch_alter_table('discrepancies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discrepancies_expected_return_id'), ['expected_return_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_discrepancies_unit_id'), ['unit_id'], unique=False)

    op.create_table('scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('depot_id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('instruction', sa.Text(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('expected_return_id', sa.Integer(), nullable=True),
    sa.Column('cycle_count_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cycle_count_id'], ['cycle_counts.id'], name=op.f('fk_scans_cycle_count_id_cycle_counts')),
    sa.ForeignKeyConstraint(['depot_id'], ['depots.id'], name=op.f('fk_scans_depot_id_depots')),
    sa.ForeignKeyConstraint(['expected_return_id'], ['expected_returns.id'], name=op.f('fk_scans_expected_return_id_expected_returns')),
    sa.ForeignKeyConstraint(['unit_id'], ['spare_units.id'], name=op.f('fk_scans_unit_id_spare_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scans'))
    )
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scans_cycle_count_id'), ['cycle_count_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scans_cycle_count_id'))

    op.drop_table('scans')
    with op.batch_alter_table('discrepancies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discrepancies_unit_id'))
        batch_op.drop_index(batch_op.f('ix_discrepancies_expected_return_id'))

    op.drop_table('discrepancies')
    with op.batch_alter_table('expected_returns', schema=None) as batch_op:
        batch_op.drop_index('ix_expected_returns_open_due')

    op.drop_table('expected_returns')
    op.drop_table('cycle_counts')
