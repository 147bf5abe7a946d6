"""Running Alembic from code (CLI init-db, tests, readiness check). Alembic is imported when it is
used, not with this module: most processes (a worker, `spares simulate`) never migrate, and its
import is a third of their start-up."""

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection

if TYPE_CHECKING:
    from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> "Config":
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


_HEAD: str | None = None


def current_and_head(conn: Connection) -> tuple[str | None, str | None]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    global _HEAD
    if _HEAD is None:
        _HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    return MigrationContext.configure(conn).get_current_revision(), _HEAD
