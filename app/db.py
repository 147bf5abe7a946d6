"""Engine and session factory. Only boundaries (request dependency, job runner, CLI) commit."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import ClassVar, TypeVar

from sqlalchemy import Engine, Table, create_engine, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.visitors import InternalTraversal as T

V = TypeVar("V")


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


def one_snapshot(session: Session) -> None:
    """The session's next transaction reads one snapshot: every read in it sees the same moment, so a
    commit landing between two of them is not seen half (REPEATABLE READ on PostgreSQL). A session whose
    transaction is under way, or bound to a connection in a transaction of its own (the tests' shared
    one), keeps its level; SQLite runs one transaction at a time, so its reads see one moment anyway."""
    bind = session.get_bind()
    if session.in_transaction() or bind.dialect.name != "postgresql" or not isinstance(bind, Engine):
        return
    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def per_transaction(session: Session, key: str, make: Callable[[], V]) -> V:
    """A value the session keeps for its current transaction under `key`: made by `make()` on first use,
    made again once another transaction has begun (what one transaction read or found is not trusted by
    the next)."""
    transaction = session.get_transaction()
    held = session.info.get(key)
    if held is None or held[0] is not transaction:
        held = session.info[key] = (transaction, make())
    return held[1]


class _PgDoNothing(postgresql.dml.OnConflictDoNothing):
    inherit_cache = True
    _traverse_internals: ClassVar = [("constraint_target", T.dp_string),
                                     ("inferred_target_elements", T.dp_clauseelement_list),
                                     ("inferred_target_whereclause", T.dp_clauseelement)]


class _PgInsert(postgresql.Insert):
    inherit_cache = True  # its ON CONFLICT clause is in the cache key, through the one below


class _SqliteDoNothing(sqlite.dml.OnConflictDoNothing):
    inherit_cache = True
    _traverse_internals: ClassVar = [("inferred_target_elements", T.dp_clauseelement_list),
                                     ("inferred_target_whereclause", T.dp_clauseelement)]


class _SqliteInsert(sqlite.Insert):
    inherit_cache = True


@lru_cache(maxsize=64)
def _insert_ignoring(dialect: str, table: Table, keys: tuple[str, ...], returning: bool, *, entity=None,
                     where=None):
    """`INSERT … ON CONFLICT (keys) DO NOTHING [RETURNING id]`, built once per table, with a cache key.

    SQLAlchemy's dialect INSERTs (the ones with ON CONFLICT) say they cannot be cached, so each was
    compiled again at every execution: an outbox job, a message, an idempotency claim each cost a
    compilation (~0.5 ms of CPU here). These subclasses give the clause a cache key made of its
    conflict target (columns, never strings), which is all that varies in the SQL it compiles to."""
    insert, do_nothing = (_PgInsert, _PgDoNothing) if dialect == "postgresql" else (_SqliteInsert, _SqliteDoNothing)
    stmt = insert(entity if entity is not None else table)
    stmt._post_values_clause = do_nothing(index_elements=[table.c[k] for k in keys], index_where=where)
    if entity is not None:
        return stmt.returning(entity)
    return stmt.returning(table.c.id) if returning else stmt


def insert_ignoring_statement(dialect: str, table: Table, keys: tuple[str, ...]):
    """`INSERT INTO table … ON CONFLICT (keys) DO NOTHING` for `dialect`, with a cache key (values to add)."""
    return _insert_ignoring(dialect, table, keys, False)


def insert_ignoring(session: Session, table: Table, values: dict, *, key: str | tuple[str, ...] = "dedupe_key",
                    returning: bool = False):
    """Insert one row of `values` unless a row with the same `key` (a column, or several) exists; with
    `returning`, its id (None when it existed)."""
    keys = (key,) if isinstance(key, str) else tuple(key)
    stmt = _insert_ignoring(session.get_bind().dialect.name, table, keys, returning)
    return session.scalar(stmt, values) if returning else session.execute(stmt, values)


def insert_new(session: Session, row: V, *, key: tuple[str, ...], where=None) -> V | None:
    """Insert the new ORM object `row` in one `INSERT … ON CONFLICT (key) [WHERE where] DO NOTHING
    RETURNING *` (`where`: a partial unique index's predicate): the object the session now holds,
    with every column as written, or None when a row with the same `key` exists (nothing fails, so
    no savepoint is needed). `row` itself stays out of the session; a related object it was given
    (`row.unit = unit`) is written as its foreign key."""
    state = inspect(row)
    values = {attr.key: value for attr in state.mapper.column_attrs
              if attr.key != "id" and (value := state.dict.get(attr.key)) is not None}
    related = {rel.key: state.dict[rel.key] for rel in state.mapper.relationships if rel.key in state.dict}
    for rel in state.mapper.relationships:
        if (target := related.get(rel.key)) is not None:
            for local, remote in rel.local_remote_pairs:
                values[local.key] = getattr(target, remote.key)
    table = state.mapper.local_table
    stmt = _insert_ignoring(session.get_bind().dialect.name, table, key, True, entity=type(row), where=where)
    written = session.scalars(stmt, [values]).first()
    if written is not None:
        for name, target in related.items():  # held already: not loaded again
            set_committed_value(written, name, target)
    return written


def insert_unless_exists(session: Session, row, *, key: str = "dedupe_key") -> int | None:
    """Insert the new ORM object `row` in one `INSERT … ON CONFLICT (key) DO NOTHING RETURNING id`:
    its id, or None when a row with its `key` exists already (queued by another process at the same
    moment included). `row` itself is not added to the session."""
    table = type(row).__table__
    values = {c.key: v for c in table.columns if c.key != "id" and (v := getattr(row, c.key)) is not None}
    return insert_ignoring(session, table, values, key=key, returning=True)
