"""inventory foundation

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 09:21:03.117166
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=20), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash')),
    sa.UniqueConstraint('name', name=op.f('uq_api_keys_name'))
    )
    op.create_table('config_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('current_version', sa.String(length=50), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_config_profiles')),
    sa.UniqueConstraint('name', name=op.f('uq_config_profiles_name'))
    )
    op.create_table('depots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('contact_name', sa.String(length=200), nullable=False),
    sa.Column('company', sa.String(length=200), nullable=True),
    sa.Column('street1', sa.String(length=200), nullable=False),
    sa.Column('street2', sa.String(length=200), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=100), nullable=True),
    sa.Column('postal_code', sa.String(length=20), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('cutoff_local', sa.Time(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_depots')),
    sa.UniqueConstraint('code', name=op.f('uq_depots_code'))
    )
    op.create_table('device_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('maker', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('length_cm', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('width_cm', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('height_cm', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('weight_kg', sa.Numeric(precision=8, scale=3), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_models')),
    sa.UniqueConstraint('sku', name=op.f('uq_device_models_sku'))
    )
    op.create_table('model_substitutes',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('substitute_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['device_models.id'], name=op.f('fk_model_substitutes_model_id_device_models'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['substitute_id'], ['device_models.id'], name=op.f('fk_model_substitutes_substitute_id_device_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'substitute_id', name=op.f('pk_model_substitutes'))
    )
    op.create_table('par_levels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('depot_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('min_ready', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['depot_id'], ['depots.id'], name=op.f('fk_par_levels_depot_id_depots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_id'], ['device_models.id'], name=op.f('fk_par_levels_model_id_device_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_par_levels')),
    sa.UniqueConstraint('depot_id', 'model_id', name='uq_par_levels_depot_model')
    )
    op.create_table('spare_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=100), nullable=False),
    sa.Column('asset_tag', sa.String(length=100), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('depot_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('condition_notes', sa.Text(), nullable=True),
    sa.Column('profile_id', sa.Integer(), nullable=True),
    sa.Column('profile_version', sa.String(length=50), nullable=True),
    sa.Column('configured_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_tested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_charged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('box_contents', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['depot_id'], ['depots.id'], name=op.f('fk_spare_units_depot_id_depots')),
    sa.ForeignKeyConstraint(['model_id'], ['device_models.id'], name=op.f('fk_spare_units_model_id_device_models')),
    sa.ForeignKeyConstraint(['profile_id'], ['config_profiles.id'], name=op.f('fk_spare_units_profile_id_config_profiles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spare_units')),
    sa.UniqueConstraint('asset_tag', name=op.f('uq_spare_units_asset_tag')),
    sa.UniqueConstraint('serial', name=op.f('uq_spare_units_serial'))
    )
    with op.batch_alter_table('spare_units', schema=None) as batch_op:
        batch_op.create_index('ix_spare_units_pick', ['model_id', 'state', 'depot_id'], unique=False)

    op.create_table('custody_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('from_depot_id', sa.Integer(), nullable=True),
    sa.Column('depot_id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['depot_id'], ['depots.id'], name=op.f('fk_custody_ledger_depot_id_depots')),
    sa.ForeignKeyConstraint(['from_depot_id'], ['depots.id'], name=op.f('fk_custody_ledger_from_depot_id_depots')),
    sa.ForeignKeyConstraint(['unit_id'], ['spare_units.id'], name=op.f('fk_custody_ledger_unit_id_spare_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_ledger'))
    )
    with op.batch_alter_table('custody_ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_custody_ledger_unit_id'), ['unit_id'], unique=False)

    _append_only("custody_ledger")


def _append_only(table: str) -> None:
    """The database itself refuses UPDATE and DELETE on an append-only table."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _drop_append_only(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")

def downgrade() -> None:
    _drop_append_only("custody_ledger")
    with op.batch_alter_table('custody_ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_custody_ledger_unit_id'))

    op.drop_table('custody_ledger')
    with op.batch_alter_table('spare_units', schema=None) as batch_op:
        batch_op.drop_index('ix_spare_units_pick')

    op.drop_table('spare_units')
    op.drop_table('par_levels')
    op.drop_table('model_substitutes')
    op.drop_table('device_models')
    op.drop_table('depots')
    op.drop_table('config_profiles')
    op.drop_table('api_keys')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS refuse_change()")
