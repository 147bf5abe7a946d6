"""The Alembic history on the database kind under test: up to head, down to base, up again, step
by step, and the ORM metadata equal to what the migrations build."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from app import migrations
from app.db import make_engine
from app.models import Base

APP_TABLES = set(Base.metadata.tables)


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrations.alembic_config("sqlite://"))


def _revisions_base_to_head() -> list[str]:
    return [rev.revision for rev in reversed(list(_script().walk_revisions("base", "heads")))]


def _state(url: str) -> tuple[set[str], str | None, set[str]]:
    """(tables, current revision, append-only triggers) of the database at `url`."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            current = MigrationContext.configure(conn).get_current_revision()
            if conn.dialect.name == "postgresql":
                triggers = set(conn.execute(text(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
            else:
                triggers = set(conn.execute(text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
            return tables, current, triggers
    finally:
        engine.dispose()


def test_the_history_is_one_line_with_one_head():
    script = _script()
    assert len(script.get_heads()) == 1, script.get_heads()
    revisions = _revisions_base_to_head()
    assert revisions[-1] == script.get_current_head() and len(revisions) >= 1


def test_upgrade_downgrade_upgrade_on_an_empty_database(empty_database_url):
    head = _script().get_current_head()
    assert _state(empty_database_url)[0] == set()

    migrations.upgrade(empty_database_url)
    tables, current, triggers = _state(empty_database_url)
    assert tables == APP_TABLES | {"alembic_version"}
    assert current == head
    assert triggers, "the custody ledger's append-only triggers are missing"

    migrations.downgrade(empty_database_url, "base")
    tables, current, triggers = _state(empty_database_url)
    assert tables == {"alembic_version"}, tables
    assert current is None and triggers == set()
    if empty_database_url.startswith("postgresql"):
        engine = make_engine(empty_database_url)
        with engine.connect() as conn:
            functions = conn.execute(text(
                "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = 'public'")).scalars().all()
        engine.dispose()
        assert functions == [], functions

    migrations.upgrade(empty_database_url)
    tables, current, triggers = _state(empty_database_url)
    assert tables == APP_TABLES | {"alembic_version"} and current == head and triggers


def test_every_revision_upgrades_and_downgrades_one_step_at_a_time(empty_database_url):
    revisions = _revisions_base_to_head()
    seen_tables = [set()]
    for rev in revisions:
        migrations.upgrade(empty_database_url, rev)
        tables, current, _ = _state(empty_database_url)
        assert current == rev
        seen_tables.append(tables - {"alembic_version"})
    for rev, before in zip(reversed(revisions), reversed(seen_tables[:-1])):
        migrations.downgrade(empty_database_url, "-1")
        tables, current, _ = _state(empty_database_url)
        assert tables - {"alembic_version"} == before, f"downgrade of {rev} left {tables - before}"
    assert _state(empty_database_url)[1] is None


def test_the_models_match_the_migrated_schema(empty_database_url):
    """A model changed without a migration (or a migration that differs from the models) fails here.

    Nothing is filtered out: on both SQLite and PostgreSQL the reflected types, nullability,
    indexes, unique constraints and foreign keys compare equal to the metadata as they are."""
    migrations.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diffs == [], "models and migrations differ; write a migration (alembic revision --autogenerate):\n" \
        + "\n".join(map(str, diffs))
