"""a unit's image staleness stored and indexed, kept by the database, for allocation's probes

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 07:00:00

A unit is stale when it has a profile and its image is not that profile's current version. The rule
is `SpareUnit.is_stale` in Python; here it is kept in `image_stale` by triggers — when a unit is
written with a profile or an image, and when a profile's current version changes — so allocation's
probe for a current-image unit is an index range, never a walk over the stale units ahead of it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STALE = ("profile_id IS NOT NULL AND (profile_version IS NULL OR profile_version <> "
         "(SELECT current_version FROM config_profiles WHERE config_profiles.id = spare_units.profile_id))")


def upgrade() -> None:
    op.add_column('spare_units', sa.Column('image_stale', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(f"UPDATE spare_units SET image_stale = ({STALE})")
    op.drop_index('ix_spare_units_ready_pick', table_name='spare_units')
    op.create_index('ix_spare_units_ready_pick', 'spare_units',
                    ['model_id', 'depot_id', 'image_stale', 'configured_at', 'id'],
                    postgresql_where=sa.text("state = 'ready'"), sqlite_where=sa.text("state = 'ready'"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION spare_units_image_stale() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "NEW.image_stale := NEW.profile_id IS NOT NULL AND (NEW.profile_version IS NULL OR "
            "NEW.profile_version IS DISTINCT FROM (SELECT current_version FROM config_profiles "
            "WHERE id = NEW.profile_id)); RETURN NEW; END $$")
        op.execute("CREATE TRIGGER spare_units_image_stale BEFORE INSERT OR UPDATE OF profile_id, profile_version "
                   "ON spare_units FOR EACH ROW EXECUTE FUNCTION spare_units_image_stale()")
        op.execute(
            "CREATE FUNCTION config_profiles_version_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "UPDATE spare_units SET image_stale = (profile_version IS NULL OR profile_version <> NEW.current_version) "
            "WHERE profile_id = NEW.id; RETURN NULL; END $$")
        op.execute("CREATE TRIGGER config_profiles_version_changed AFTER UPDATE OF current_version ON config_profiles "
                   "FOR EACH ROW WHEN (OLD.current_version IS DISTINCT FROM NEW.current_version) "
                   "EXECUTE FUNCTION config_profiles_version_changed()")
    else:  # SQLite: a trigger cannot change the row it fires for, so it updates it after
        for event in ("INSERT", "UPDATE OF profile_id, profile_version"):
            name = "spare_units_image_stale_" + event.split()[0].lower()
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON spare_units BEGIN "
                       f"UPDATE spare_units SET image_stale = ({STALE}) WHERE id = NEW.id; END")
        op.execute("CREATE TRIGGER config_profiles_version_changed AFTER UPDATE OF current_version ON config_profiles "
                   "WHEN OLD.current_version IS NOT NEW.current_version BEGIN "
                   "UPDATE spare_units SET image_stale = (profile_version IS NULL OR "
                   "profile_version <> NEW.current_version) WHERE profile_id = NEW.id; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS config_profiles_version_changed ON config_profiles")
        op.execute("DROP FUNCTION IF EXISTS config_profiles_version_changed()")
        op.execute("DROP TRIGGER IF EXISTS spare_units_image_stale ON spare_units")
        op.execute("DROP FUNCTION IF EXISTS spare_units_image_stale()")
    else:
        op.execute("DROP TRIGGER IF EXISTS config_profiles_version_changed")
        op.execute("DROP TRIGGER IF EXISTS spare_units_image_stale_insert")
        op.execute("DROP TRIGGER IF EXISTS spare_units_image_stale_update")
    op.drop_index('ix_spare_units_ready_pick', table_name='spare_units')
    op.create_index('ix_spare_units_ready_pick', 'spare_units', ['model_id', 'depot_id', 'configured_at', 'id'],
                    postgresql_where=sa.text("state = 'ready'"), sqlite_where=sa.text("state = 'ready'"))
    with op.batch_alter_table('spare_units') as batch:
        batch.drop_column('image_stale')
