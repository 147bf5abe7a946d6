"""swap requests

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:27:49.521192
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=False),
    sa.Column('response_body', sa.LargeBinary(), nullable=False),
    sa.Column('response_headers', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys'))
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_keys_created_at'), ['created_at'], unique=False)
        batch_op.create_index('uq_idempotency_keys_caller_key', ['api_key_id', 'key'], unique=True)

    op.create_table('swap_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_system', sa.String(length=40), nullable=False),
    sa.Column('ticket_id', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('worker_name', sa.String(length=200), nullable=False),
    sa.Column('worker_email', sa.String(length=200), nullable=False),
    sa.Column('worker_phone', sa.String(length=40), nullable=True),
    sa.Column('worker_timezone', sa.String(length=64), nullable=False),
    sa.Column('street1', sa.String(length=200), nullable=False),
    sa.Column('street2', sa.String(length=200), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('postal_code', sa.String(length=20), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=True),
    sa.Column('profile_id', sa.Integer(), nullable=True),
    sa.Column('broken_code', sa.String(length=100), nullable=True),
    sa.Column('return_mode', sa.String(length=20), nullable=False),
    sa.Column('needed_by', sa.Date(), nullable=True),
    sa.Column('impact_note', sa.Text(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('depot_id', sa.Integer(), nullable=True),
    sa.Column('is_substitute', sa.Boolean(), nullable=False),
    sa.Column('needs_reimage', sa.Boolean(), nullable=False),
    sa.Column('promised_date', sa.Date(), nullable=True),
    sa.Column('ship_date', sa.Date(), nullable=True),
    sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['depot_id'], ['depots.id'], name=op.f('fk_swap_requests_depot_id_depots')),
    sa.ForeignKeyConstraint(['model_id'], ['device_models.id'], name=op.f('fk_swap_requests_model_id_device_models')),
    sa.ForeignKeyConstraint(['profile_id'], ['config_profiles.id'], name=op.f('fk_swap_requests_profile_id_config_profiles')),
    sa.ForeignKeyConstraint(['unit_id'], ['spare_units.id'], name=op.f('fk_swap_requests_unit_id_spare_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_swap_requests'))
    )
    with op.batch_alter_table('swap_requests', schema=None) as batch_op:
        batch_op.create_index('ix_swap_requests_waitlist', ['status', 'needed_by', 'created_at'], unique=False)
        batch_op.create_index('uq_swap_requests_live_ticket', ['ticket_system', 'ticket_id'], unique=True, postgresql_where=sa.text("status <> 'cancelled'"), sqlite_where=sa.text("status <> 'cancelled'"))

    op.create_table('reservations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('swap_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('release_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['swap_id'], ['swap_requests.id'], name=op.f('fk_reservations_swap_id_swap_requests')),
    sa.ForeignKeyConstraint(['unit_id'], ['spare_units.id'], name=op.f('fk_reservations_unit_id_spare_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reservations'))
    )
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reservations_swap_id'), ['swap_id'], unique=False)
        batch_op.create_index('uq_reservations_active_unit', ['unit_id'], unique=True, postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))

    op.create_table('swap_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('swap_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['swap_id'], ['swap_requests.id'], name=op.f('fk_swap_events_swap_id_swap_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_swap_events'))
    )
    with op.batch_alter_table('swap_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_swap_events_swap_id'), ['swap_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('swap_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_swap_events_swap_id'))

    op.drop_table('swap_events')
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.drop_index('uq_reservations_active_unit', postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))
        batch_op.drop_index(batch_op.f('ix_reservations_swap_id'))

    op.drop_table('reservations')
    with op.batch_alter_table('swap_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_swap_requests_live_ticket', postgresql_where=sa.text("status <> 'cancelled'"), sqlite_where=sa.text("status <> 'cancelled'"))
        batch_op.drop_index('ix_swap_requests_waitlist')

    op.drop_table('swap_requests')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('uq_idempotency_keys_caller_key')
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_created_at'))

    op.drop_table('idempotency_keys')
