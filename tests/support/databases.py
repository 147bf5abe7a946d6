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


def _admin_dsn(database: str | None = None) -> str:
    u = make_url(PG_ADMIN_URL)
    return (f"host={u.host or '127.0.0.1'} port={u.port or 5432} user={u.username or 'postgres'} "
            f"dbname={database or u.database or 'postgres'}")


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
    """`url`'s database made as the template is: on SQLite a fresh copy of its file; on PostgreSQL its
    rows deleted and its ids restarted when its schema is still the template's (a copy made by
    `CREATE DATABASE … TEMPLATE` costs PostgreSQL ~0.5 s of CPU, emptying a test's few rows a few ms),
    else a fresh copy. Connections left to it are cut first."""
    if not ON_POSTGRES:
        path = Path(make_url(url).database)
        for old in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            old.unlink(missing_ok=True)
        shutil.copyfile(make_url(template_url).database, path)
        return
    name, template = make_url(url).database, make_url(template_url).database
    with psycopg.connect(_admin_dsn(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                      "AND pid <> pg_backend_pid()", [name])
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if exists and _emptied(name, _shape(template)):
        return
    with psycopg.connect(_admin_dsn(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


_SHAPE = """SELECT (SELECT version_num FROM alembic_version),
  (SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, column_name)
   FROM information_schema.columns WHERE table_schema = 'public'),
  (SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'),
  (SELECT string_agg(quote_ident(schemaname) || '.' || quote_ident(sequencename), ',')
   FROM pg_sequences WHERE schemaname = 'public'),
  (SELECT string_agg(name || '=' || value, ',' ORDER BY name) FROM service_secrets)"""
_shapes: dict[str, tuple] = {}


def _shape(database: str) -> tuple:
    """What a database must still be for emptying it to make it the template again: its migration,
    columns, tables, sequences and the service's secret (the template's other rows)."""
    if database not in _shapes:
        with psycopg.connect(_admin_dsn(database)) as conn:
            _shapes[database] = conn.execute(_SHAPE).fetchone()
    return _shapes[database]


def _emptied(database: str, shape: tuple) -> bool:
    try:
        with psycopg.connect(_admin_dsn(database)) as conn:
            if conn.execute(_SHAPE).fetchone() != shape:
                return False
            tables = [t for t in shape[2].split(",") if t not in ("alembic_version", "service_secrets")]
            conn.execute("SET session_replication_role = replica")  # no foreign-key order to follow
            conn.execute("; ".join(f'DELETE FROM "{t}"' for t in tables))
            conn.execute("SELECT " + ", ".join(f"setval('{s}', 1, false)" for s in shape[3].split(",")))
            conn.commit()
    except psycopg.Error:
        return False
    return True


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
