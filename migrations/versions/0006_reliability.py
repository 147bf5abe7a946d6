"""reliability: the service secret, fenced job leases, pickups on record, webhooks kept in full

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:00:00
"""
import secrets
from collections.abc import Sequence
from datetime import UTC

import sqlalchemy as sa
from alembic import op

import app.models.base


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    service_secrets = op.create_table(
        'service_secrets',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('value', sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_service_secrets')),
    )
    # Generated here, once per database, so every process on it signs with the same key.
    op.bulk_insert(service_secrets, [{'name': 'master', 'value': secrets.token_urlsafe(48)}])

    # Webhooks kept as received; labels bought twice kept on record.
    op.create_table('webhook_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('event', sa.String(length=50), nullable=True),
    sa.Column('test', sa.Boolean(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('received_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_receipts'))
    )
    with op.batch_alter_table('webhook_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_receipts_received_at'), ['received_at'], unique=False)
    op.create_table('extra_labels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('label_id', sa.String(length=100), nullable=False),
    sa.Column('tracking_number', sa.String(length=100), nullable=True),
    sa.Column('found_by', sa.String(length=20), nullable=False),
    sa.Column('refund_status', sa.String(length=20), nullable=True),
    sa.Column('found_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_extra_labels_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_extra_labels')),
    sa.UniqueConstraint('label_id', name=op.f('uq_extra_labels_label_id'))
    )
    with op.batch_alter_table('extra_labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_extra_labels_shipment_id'), ['shipment_id'], unique=False)

    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('eta', app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('live', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('purchase_sent_at', app.models.base.UTCDateTime(timezone=True),
                                      nullable=True))

    # Each job claim carries a token; only its holder's writes about the job count.
    with op.batch_alter_table('outbox_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_token', sa.String(length=32), nullable=True))

    # Courier collections, recorded before the carrier is asked; the ones booked so far as confirmed.
    op.create_table('pickup_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('carrier_pickup_id', sa.String(length=100), nullable=True),
    sa.Column('confirmation_code', sa.String(length=100), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_pickup_requests_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pickup_requests')),
    sa.UniqueConstraint('reference', name=op.f('uq_pickup_requests_reference'))
    )
    with op.batch_alter_table('pickup_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pickup_requests_shipment_id'), ['shipment_id'], unique=False)
    op.execute(
        "INSERT INTO pickup_requests (shipment_id, reference, day, status, carrier_pickup_id, confirmation_code, "
        "attempts, created_at, updated_at) "
        "SELECT id, 'swap-' || swap_id || '-pickup', pickup_date, 'confirmed', pickup_id, pickup_confirmation, 1, "
        "updated_at, updated_at FROM shipments WHERE pickup_id IS NOT NULL AND pickup_date IS NOT NULL")

    # Tracking events are kept once per (status, substatus, carrier's date), the date possibly null.
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_key', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('location', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('test', sa.Boolean(), server_default=sa.false(), nullable=False))
    events = sa.table('tracking_events', sa.column('id', sa.Integer), sa.column('status', sa.String),
                      sa.column('substatus', sa.String), sa.column('status_date', sa.DateTime(timezone=True)),
                      sa.column('event_key', sa.String))
    conn = op.get_bind()
    for row in conn.execute(sa.select(events.c.id, events.c.status, events.c.substatus, events.c.status_date)).all():
        conn.execute(events.update().where(events.c.id == row.id)
                     .values(event_key=_event_key(row.status, row.substatus, row.status_date)))
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.alter_column('event_key', existing_type=sa.String(length=120), nullable=False)
        batch_op.alter_column('status_date', existing_type=app.models.base.UTCDateTime(timezone=True),
                              nullable=True)
        batch_op.drop_constraint('uq_tracking_events_once', type_='unique')
        batch_op.create_unique_constraint('uq_tracking_events_once', ['shipment_id', 'event_key'])


def _event_key(status, substatus, status_date) -> str:
    """A frozen copy of `tracking.Event.key` as it was when this migration was written."""
    if isinstance(status_date, str):  # SQLite hands back text through a plain table()
        from datetime import datetime
        status_date = datetime.fromisoformat(status_date)
    if status_date is None:
        when = '-'
    else:
        status_date = status_date if status_date.tzinfo else status_date.replace(tzinfo=UTC)
        when = status_date.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')
    return f"{status}|{substatus or ''}|{when}"[:120]


def downgrade() -> None:
    conn = op.get_bind()
    # Events without a carrier date cannot go back under the old key; they are dropped.
    conn.execute(sa.text('DELETE FROM tracking_events WHERE status_date IS NULL'))
    # The old key ignored substatus: keep one row per (shipment, status, date).
    conn.execute(sa.text(
        'DELETE FROM tracking_events WHERE id NOT IN (SELECT min(id) FROM tracking_events '
        'GROUP BY shipment_id, status, status_date)'))
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_tracking_events_once', type_='unique')
        batch_op.create_unique_constraint('uq_tracking_events_once', ['shipment_id', 'status', 'status_date'])
        batch_op.alter_column('status_date', existing_type=app.models.base.UTCDateTime(timezone=True),
                              nullable=False)
        batch_op.drop_column('test')
        batch_op.drop_column('location')
        batch_op.drop_column('event_key')
    with op.batch_alter_table('pickup_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pickup_requests_shipment_id'))
    op.drop_table('pickup_requests')
    with op.batch_alter_table('outbox_jobs', schema=None) as batch_op:
        batch_op.drop_column('lease_token')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_column('purchase_sent_at')
        batch_op.drop_column('live')
        batch_op.drop_column('eta')
    with op.batch_alter_table('extra_labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_extra_labels_shipment_id'))
    op.drop_table('extra_labels')
    with op.batch_alter_table('webhook_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_receipts_received_at'))
    op.drop_table('webhook_receipts')
    op.drop_table('service_secrets')
