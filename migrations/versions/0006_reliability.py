"""reliability: the service secret, fenced job leases, pickups on record, webhooks kept in full

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:00:00
"""
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


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


def downgrade() -> None:
    op.drop_table('service_secrets')
