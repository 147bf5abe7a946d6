"""shipping and tracking

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:37:47.909706
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outbox_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('swap_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['swap_id'], ['swap_requests.id'], name=op.f('fk_outbox_jobs_swap_id_swap_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_jobs'))
    )
    with op.batch_alter_table('outbox_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_jobs_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_jobs_swap_id'), ['swap_id'], unique=False)

    op.create_table('shipments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('swap_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('rate_id', sa.String(length=100), nullable=True),
    sa.Column('carrier', sa.String(length=50), nullable=True),
    sa.Column('service_level', sa.String(length=100), nullable=True),
    sa.Column('service_name', sa.String(length=200), nullable=True),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('estimated_days', sa.Integer(), nullable=True),
    sa.Column('label_id', sa.String(length=100), nullable=True),
    sa.Column('label_status', sa.String(length=20), nullable=False),
    sa.Column('label_url', sa.String(length=500), nullable=True),
    sa.Column('tracking_number', sa.String(length=100), nullable=True),
    sa.Column('tracking_url', sa.String(length=500), nullable=True),
    sa.Column('tracking_status', sa.String(length=20), nullable=True),
    sa.Column('tracking_status_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_event_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_polled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pickup_id', sa.String(length=100), nullable=True),
    sa.Column('pickup_confirmation', sa.String(length=100), nullable=True),
    sa.Column('pickup_date', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['swap_id'], ['swap_requests.id'], name=op.f('fk_shipments_swap_id_swap_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments')),
    sa.UniqueConstraint('swap_id', 'direction', name='uq_shipments_swap_direction')
    )
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipments_label_id'), ['label_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shipments_swap_id'), ['swap_id'], unique=False)
        batch_op.create_index('ix_shipments_tracking', ['tracking_number'], unique=False)

    op.create_table('tracking_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('substatus', sa.String(length=50), nullable=True),
    sa.Column('details', sa.String(length=500), nullable=True),
    sa.Column('status_date', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_tracking_events_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracking_events')),
    sa.UniqueConstraint('shipment_id', 'status', 'status_date', name='uq_tracking_events_once')
    )
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tracking_events_shipment_id'), ['shipment_id'], unique=False)

    # Plain ADD COLUMN and CREATE INDEX (no table rebuild on SQLite, which would lose partial indexes).
    op.add_column('swap_requests', sa.Column('tracking_token_hash', sa.String(length=64), nullable=True))
    op.add_column('swap_requests', sa.Column('return_plan', sa.String(length=20), nullable=True))
    op.create_index('uq_swap_requests_tracking_token_hash', 'swap_requests', ['tracking_token_hash'], unique=True)



def downgrade() -> None:
    op.drop_index('uq_swap_requests_tracking_token_hash', table_name='swap_requests')
    op.drop_column('swap_requests', 'return_plan')
    op.drop_column('swap_requests', 'tracking_token_hash')

    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracking_events_shipment_id'))

    op.drop_table('tracking_events')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index('ix_shipments_tracking')
        batch_op.drop_index(batch_op.f('ix_shipments_swap_id'))
        batch_op.drop_index(batch_op.f('ix_shipments_label_id'))

    op.drop_table('shipments')
    with op.batch_alter_table('outbox_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_jobs_swap_id'))
        batch_op.drop_index('ix_outbox_jobs_due')

    op.drop_table('outbox_jobs')
