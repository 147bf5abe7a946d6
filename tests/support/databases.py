"""An empty database of the kind the suite runs on: a new SQLite file, or (TEST_DATABASE_URL set) a
throwaway PostgreSQL database on the same server, dropped afterwards."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = bool(PG_ADMIN_URL)


def _psycopg_dsn(url: str) -> str:
    u = make_url(url)
    return f"host={u.host or '127.0.0.1'} port={u.port or 5432} user={u.username or 'postgres'} dbname={u.database or 'postgres'}"


@contextmanager
def empty_database(tmp_path: Path) -> Iterator[str]:
    """Yields the SQLAlchemy URL of a database with no tables at all."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / f'empty-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"spares_empty_{uuid.uuid4().hex[:10]}"
    admin = _psycopg_dsn(PG_ADMIN_URL)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
