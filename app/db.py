"""Engine and session factory. Only boundaries (request dependency, job runner, CLI) commit."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, *, pool_size: int = 16, pool_overflow: int = 4, pool_recycle: int = 600,
                **kwargs) -> Engine:
    """SQLite: one file, serialised writers. PostgreSQL: a pool of `pool_size` connections kept open
    (plus `pool_overflow`), each replaced once older than `pool_recycle` seconds. No ping before each
    use: a connection found dead invalidates the pool, and the request is run again (`api.replay`)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _serialise_sqlite(engine)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_overflow, pool_recycle=pool_recycle,
                         pool_pre_ping=False, **kwargs)


def _serialise_sqlite(engine: Engine) -> None:
    """SQLite has no row locks: every transaction takes the write lock up front (BEGIN IMMEDIATE),
    so two writers never interleave a read-then-write (the allocation race) on the embedded default."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - trivial wiring
        dbapi_conn.isolation_level = None  # let us emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - trivial wiring
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine, **kwargs) -> sessionmaker[Session]:
    """Sessions for the app (`bootstrap()` adds the dispatcher to their `info`)."""
    return sessionmaker(bind=engine, expire_on_commit=False, **kwargs)


@contextmanager
def unit_of_work(factory: sessionmaker[Session], *,
                 commit: Callable[[Session], None] = Session.commit) -> Iterator[Session]:
    """A transaction: commit on success (with `commit`, e.g. one that marks a request's commit as
    begun), roll back on error."""
    session = factory()
    try:
        yield session
        commit(session)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_postgres(session_or_engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


def insert_for(session: Session, entity):
    """The dialect's INSERT (it has `on_conflict_do_nothing`): PostgreSQL's or SQLite's."""
    return (postgresql if is_postgres(session) else sqlite).insert(entity)


@lru_cache(maxsize=64)
def _insert_ignoring(dialect: str, table: Table, key: str, returning: bool):
    """`INSERT … ON CONFLICT (key) DO NOTHING [RETURNING id]`, built once per table: the values go in as
    parameters, so the compiled statement is cached (values written into the statement are compiled anew
    each time)."""
    stmt = (postgresql if dialect == "postgresql" else sqlite).insert(table).on_conflict_do_nothing(
        index_elements=[key])
    return stmt.returning(table.c.id) if returning else stmt


def insert_ignoring(session: Session, table: Table, values: dict, *, key: str = "dedupe_key",
                    returning: bool = False):
    """Insert one row of `values` unless a row with the same `key` exists; with `returning`, its id (None
    when it existed)."""
    stmt = _insert_ignoring(session.get_bind().dialect.name, table, key, returning)
    return session.scalar(stmt, values) if returning else session.execute(stmt, values)


def insert_unless_exists(session: Session, row, *, key: str = "dedupe_key") -> int | None:
    """Insert the new ORM object `row` in one `INSERT … ON CONFLICT (key) DO NOTHING RETURNING id`:
    its id, or None when a row with its `key` exists already (queued by another process at the same
    moment included). `row` itself is not added to the session."""
    table = type(row).__table__
    values = {c.key: v for c in table.columns if c.key != "id" and (v := getattr(row, c.key)) is not None}
    return insert_ignoring(session, table, values, key=key, returning=True)
