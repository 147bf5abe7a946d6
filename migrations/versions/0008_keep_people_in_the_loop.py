"""keep people in the loop: notifications, several tracking links per swap, follow-ups, escalations,
return chasing and charge-backs

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('escalations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('swap_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['swap_id'], ['swap_requests.id'], name=op.f('fk_escalations_swap_id_swap_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalations'))
    )
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.create_index('uq_escalations_swap_rule', ['swap_id', 'rule'], unique=True)

    op.create_table('follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('swap_id', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer', sa.String(length=10), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['swap_id'], ['swap_requests.id'], name=op.f('fk_follow_ups_swap_id_swap_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_ups')),
    sa.UniqueConstraint('swap_id', name=op.f('uq_follow_ups_swap_id'))
    )
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('swap_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('step', sa.String(length=60), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('recipient', sa.String(length=200), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('held_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('body_text', sa.Text(), nullable=True),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('delivered_by', sa.String(length=40), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['swap_id'], ['swap_requests.id'], name=op.f('fk_notifications_swap_id_swap_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notifications_dedupe_key'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_swap_id', ['swap_id', 'id'], unique=False)

    op.create_table('tracking_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('swap_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['swap_id'], ['swap_requests.id'], name=op.f('fk_tracking_links_swap_id_swap_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracking_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_tracking_links_token_hash'))
    )
    with op.batch_alter_table('tracking_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tracking_links_swap_id'), ['swap_id'], unique=False)

    op.create_table('charge_backs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('expected_return_id', sa.Integer(), nullable=False),
    sa.Column('swap_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['expected_return_id'], ['expected_returns.id'], name=op.f('fk_charge_backs_expected_return_id_expected_returns')),
    sa.ForeignKeyConstraint(['swap_id'], ['swap_requests.id'], name=op.f('fk_charge_backs_swap_id_swap_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charge_backs')),
    sa.UniqueConstraint('expected_return_id', name=op.f('uq_charge_backs_expected_return_id'))
    )
    with op.batch_alter_table('device_models', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replacement_value', sa.Numeric(precision=10, scale=2), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('currency', sa.String(length=3), server_default='USD', nullable=False))

    with op.batch_alter_table('expected_returns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chase_step', sa.Integer(), server_default='0', nullable=False))

    # The one tracking link a swap had becomes its API link.
    conn = op.get_bind()
    swaps = sa.table('swap_requests', sa.column('id', sa.Integer), sa.column('tracking_token_hash', sa.String),
                     sa.column('created_at', sa.DateTime(timezone=True)))
    links = sa.table('tracking_links', sa.column('swap_id', sa.Integer), sa.column('token_hash', sa.String),
                     sa.column('purpose', sa.String), sa.column('created_at', sa.DateTime(timezone=True)))
    rows = conn.execute(sa.select(swaps.c.id, swaps.c.tracking_token_hash, swaps.c.created_at)
                        .where(swaps.c.tracking_token_hash.is_not(None))).all()
    if rows:
        conn.execute(links.insert(), [{'swap_id': r.id, 'token_hash': r.tracking_token_hash, 'purpose': 'api',
                                       'created_at': r.created_at} for r in rows])
    with op.batch_alter_table('swap_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('given_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=16), server_default='en', nullable=False))
        batch_op.add_column(sa.Column('manager_email', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('priority', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_index(batch_op.f('uq_swap_requests_tracking_token_hash'))
        batch_op.drop_column('tracking_token_hash')



def downgrade() -> None:
    with op.batch_alter_table('swap_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tracking_token_hash', sa.VARCHAR(length=64), nullable=True))
        batch_op.create_index(batch_op.f('uq_swap_requests_tracking_token_hash'), ['tracking_token_hash'], unique=1)
        batch_op.drop_column('priority')
        batch_op.drop_column('manager_email')
        batch_op.drop_column('language')
        batch_op.drop_column('given_name')

    conn = op.get_bind()
    conn.execute(sa.text(
        "UPDATE swap_requests SET tracking_token_hash = (SELECT token_hash FROM tracking_links l "
        "WHERE l.swap_id = swap_requests.id AND l.purpose = 'api' AND l.revoked_at IS NULL "
        "ORDER BY l.id DESC LIMIT 1)"))

    with op.batch_alter_table('expected_returns', schema=None) as batch_op:
        batch_op.drop_column('chase_step')

    with op.batch_alter_table('device_models', schema=None) as batch_op:
        batch_op.drop_column('currency')
        batch_op.drop_column('replacement_value')

    op.drop_table('charge_backs')
    with op.batch_alter_table('tracking_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracking_links_swap_id'))

    op.drop_table('tracking_links')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_swap_id')

    op.drop_table('notifications')
    op.drop_table('follow_ups')
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_index('uq_escalations_swap_rule')

    op.drop_table('escalations')
