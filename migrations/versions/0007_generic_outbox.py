"""generic outbox: jobs carry their subject in the payload, and a dedupe key

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 22:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

jobs = sa.table('outbox_jobs', sa.column('id', sa.Integer), sa.column('swap_id', sa.Integer),
                sa.column('payload', sa.JSON))


def upgrade() -> None:
    conn = op.get_bind()
    for row in conn.execute(sa.select(jobs.c.id, jobs.c.swap_id, jobs.c.payload)).all():
        if row.swap_id is not None:
            conn.execute(jobs.update().where(jobs.c.id == row.id)
                         .values(payload={**(row.payload or {}), 'swap_id': row.swap_id}))
    with op.batch_alter_table('outbox_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=200), nullable=True))
        batch_op.drop_index(batch_op.f('ix_outbox_jobs_swap_id'))
        batch_op.create_unique_constraint(batch_op.f('uq_outbox_jobs_dedupe_key'), ['dedupe_key'])
        batch_op.drop_constraint(batch_op.f('fk_outbox_jobs_swap_id_swap_requests'), type_='foreignkey')
        batch_op.drop_column('swap_id')


def downgrade() -> None:
    with op.batch_alter_table('outbox_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('swap_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_outbox_jobs_swap_id_swap_requests'), 'swap_requests',
                                    ['swap_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('uq_outbox_jobs_dedupe_key'), type_='unique')
        batch_op.create_index(batch_op.f('ix_outbox_jobs_swap_id'), ['swap_id'], unique=False)
        batch_op.drop_column('dedupe_key')
    conn = op.get_bind()
    for row in conn.execute(sa.select(jobs.c.id, jobs.c.payload)).all():
        swap_id = (row.payload or {}).get('swap_id')
        if swap_id is not None:
            conn.execute(jobs.update().where(jobs.c.id == row.id).values(swap_id=swap_id))
    # Periodic jobs did not exist before: nothing would run them.
    conn.execute(sa.text("DELETE FROM outbox_jobs WHERE kind IN "
                         "('poll_tracking', 'sweep_waitlist', 'sweep_returns', 'purge_expired')"))
