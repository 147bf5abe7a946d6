"""Databases for the suite, of the kind it runs on: SQLite files, or (TEST_DATABASE_URL set) throwaway
PostgreSQL databases on that server.

A run migrates one template per xdist worker. Most tests share one copy of it, each inside a
transaction rolled back at the end (see conftest); a test that needs real commits (a live server,
threads, other processes) gets a fresh copy of its own (`CREATE DATABASE … TEMPLATE` on PostgreSQL, a
file copy on SQLite), under a name the worker's live tests share (`refresh`)."""

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from app import migrations

PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = bool(PG_ADMIN_URL)


def _admin_dsn() -> str:
    u = make_url(PG_ADMIN_URL)
    return (f"host={u.host or '127.0.0.1'} port={u.port or 5432} user={u.username or 'postgres'} "
            f"dbname={u.database or 'postgres'}")


def _pg_url(name: str) -> str:
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def _admin(sql: str) -> None:
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        conn.execute(sql)


def _new_name(kind: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"spares_{kind}_{worker}_{uuid.uuid4().hex[:8]}"


def migrated_template(folder: Path) -> str:
    """A new database migrated to head; returns its URL. Drop it with `drop`."""
    if ON_POSTGRES:
        name = _new_name("tmpl")
        _admin(f'CREATE DATABASE "{name}"')
        url = _pg_url(name)
    else:
        url = f"sqlite:///{folder / f'template-{uuid.uuid4().hex[:8]}.db'}"
    migrations.upgrade(url)
    return url


def copy_of(template_url: str, folder: Path) -> str:
    """A new database holding what the template holds (nobody may be connected to the template)."""
    if ON_POSTGRES:
        name = _new_name("copy")
        _admin(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(template_url).database}"')
        return _pg_url(name)
    path = folder / f"copy-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(make_url(template_url).database, path)
    return f"sqlite:///{path}"


def drop(url: str) -> None:
    if ON_POSTGRES:
        _admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    else:
        Path(make_url(url).database).unlink(missing_ok=True)


def live_url(folder: Path) -> str:
    """The name the run's live tests commit under (one per xdist worker); `refresh` makes it anew."""
    return _pg_url(_new_name("live")) if ON_POSTGRES else f"sqlite:///{folder / 'live.db'}"


def refresh(template_url: str, url: str) -> None:
    """`url`'s database made anew as a copy of the template (nobody may be connected to the template;
    connections left to the old one are cut on PostgreSQL, and see the old file on SQLite)."""
    if ON_POSTGRES:
        name, template = make_url(url).database, make_url(template_url).database
        with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return
    path = Path(make_url(url).database)
    for old in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        old.unlink(missing_ok=True)
    shutil.copyfile(make_url(template_url).database, path)


@contextmanager
def clone(template_url: str, folder: Path) -> Iterator[str]:
    url = copy_of(template_url, folder)
    try:
        yield url
    finally:
        drop(url)


@contextmanager
def empty_database(tmp_path: Path) -> Iterator[str]:
    """Yields the SQLAlchemy URL of a database with no tables at all."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / f'empty-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = _new_name("empty")
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def restart_ids(conn: Connection) -> None:
    """PostgreSQL sequences are not rolled back with a transaction: start every table's ids at 1 again,
    as a fresh database would (SQLite reuses rolled-back row ids by itself)."""
    if conn.dialect.name != "postgresql":
        return
    names = conn.info.get("sequences")
    if names is None:
        names = conn.info["sequences"] = list(conn.scalars(text(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences "
            "WHERE schemaname = 'public'")))
    if names:
        conn.execute(text("SELECT " + ", ".join(f"setval('{n}', 1, false)" for n in names)))
