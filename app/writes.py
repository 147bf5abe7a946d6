"""Rows a transaction adds and does not read back at once — timeline entries, ledger rows, tracking
links, reservations, outbox jobs — kept aside and written together: on PostgreSQL in one statement
(an INSERT per table, each in a WITH of one SELECT), elsewhere one multi-row INSERT per table.

They are written before the session next runs a statement that reads one of their tables (or any
statement whose tables cannot be told, such as text), and at commit; so the transaction reads its own
rows as if each had been written when added. Rows added inside a savepoint that is rolled back are
dropped with it. Rows of one table keep the order they were added in (their ids rise in that order).
A row's columns are given in full (no column default is applied), and it may not be referred to by a
row written otherwise: nothing has its id until it is written.

A session whose factory was not made by `db.make_session_factory` writes each row at once."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, TextClause, bindparam, event, insert, literal_column, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, sessionmaker
from sqlalchemy.sql.util import find_tables

from app.db import insert_ignoring, pg_insert_ignoring

QUEUED = "queued_rows"  # the session's info key: the rows not written yet
BUFFERED = "rows_buffered"  # the factory's info key: its sessions keep rows aside (see `install`)


@dataclass(frozen=True)
class _Row:
    table: Table
    values: dict[str, Any]
    ignore_conflicts_on: tuple[str, ...] | None  # ON CONFLICT (these) DO NOTHING
    transaction: SessionTransaction | None  # the innermost savepoint it was added in (None: the transaction)


def add(session: Session, table: Table, values: dict[str, Any], *,
        ignore_conflicts_on: tuple[str, ...] | None = None) -> None:
    """Write `values` into `table` with the next statement that reads it, or at commit. With
    `ignore_conflicts_on`, a row that would repeat those columns' values is not written."""
    if not session.info.get(BUFFERED):
        _write(session, [_Row(table, values, ignore_conflicts_on, None)])
        return
    if session.get_transaction() is None:
        session.connection()  # begun now, as a statement would begin it: its rollback drops the row
    session.info.setdefault(QUEUED, []).append(
        _Row(table, values, ignore_conflicts_on, session.get_nested_transaction()))


def flush(session: Session) -> None:
    """Write the rows kept aside now."""
    rows = session.info.pop(QUEUED, None)
    if rows:
        _write(session, rows)


def install(factory: sessionmaker) -> None:
    """Make `factory`'s sessions keep rows aside (see the module's doc)."""
    factory.kw.setdefault("info", {})[BUFFERED] = True

    @event.listens_for(factory, "do_orm_execute")
    def _before_statement(state: ORMExecuteState) -> None:
        rows = state.session.info.get(QUEUED)
        if rows and _reads_any(state.statement, {r.table.name for r in rows}):
            flush(state.session)

    @event.listens_for(factory, "before_commit")
    def _before_commit(session: Session) -> None:
        flush(session)

    @event.listens_for(factory, "after_transaction_end")
    def _after_end(session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:  # written at commit; dropped by a rollback
            session.info.pop(QUEUED, None)

    @event.listens_for(factory, "after_soft_rollback")
    def _after_rollback(session: Session, previous: SessionTransaction) -> None:
        rows = session.info.get(QUEUED)
        if not rows:
            return
        if not previous.nested:
            session.info.pop(QUEUED, None)
            return
        session.info[QUEUED] = [r for r in rows if not _inside(r.transaction, previous)]


def _inside(transaction: SessionTransaction | None, savepoint: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is savepoint:
            return True
        transaction = transaction.parent
    return False


def _reads_any(statement, tables: set[str]) -> bool:
    if isinstance(statement, TextClause):
        return True
    return any(t.name in tables for t in find_tables(statement, include_joins=True, include_aliases=True)
               if isinstance(t, Table)) or not _tables_known(statement)


def _tables_known(statement) -> bool:
    return bool(getattr(statement, "is_dml", False) or getattr(statement, "is_select", False))


def _groups(rows: Iterable[_Row]) -> list[tuple[Table, tuple[str, ...] | None, tuple[str, ...], list[dict]]]:
    """(table, conflict target, columns, rows) in the order each group first appears, its rows in the
    order added; the columns any of its rows gives (a row without one writes NULL there)."""
    groups: dict[tuple, tuple[Table, tuple[str, ...] | None, dict[str, None], list[dict]]] = {}
    for r in rows:
        key = (r.table.name, r.ignore_conflicts_on)
        if key not in groups:
            groups[key] = (r.table, r.ignore_conflicts_on, {}, [])
        groups[key][2].update(dict.fromkeys(r.values))
        groups[key][3].append(r.values)
    return [(table, conflict, tuple(columns), [{c: v.get(c) for c in columns} for v in values])
            for table, conflict, columns, values in groups.values()]


def _write(session: Session, rows: list[_Row]) -> None:
    groups = _groups(rows)
    if session.get_bind().dialect.name == "postgresql":
        shape = tuple((table, conflict, columns, len(values)) for table, conflict, columns, values in groups)
        params = {f"w{i}_{n}_{column}": value for i, (_, _, _, values) in enumerate(groups)
                  for n, row in enumerate(values) for column, value in row.items()}
        connection = session.connection()
        sql, processors = _one_statement(shape, connection.dialect)
        connection.exec_driver_sql(sql, {name: processors[name](value) if name in processors else value
                                         for name, value in params.items()})
        return
    for table, conflict, _, values in groups:
        if conflict:
            for row in values:  # SQLite: one statement a row, for its ON CONFLICT
                insert_ignoring(session, table, row, key=conflict)
        else:
            session.connection().execute(_plain_insert(table), values)


@lru_cache(maxsize=256)
def _plain_insert(table: Table):
    return insert(table)


@lru_cache(maxsize=256)
def _one_statement(shape: tuple, dialect) -> tuple[str, dict[str, Callable[[Any], Any]]]:
    """`WITH w0 AS (INSERT …), w1 AS (INSERT …) SELECT 1` for one shape (tables, conflict targets,
    columns, row counts), its parameters named w<group>_<row>_<column>: the SQL, compiled once (a
    multi-row INSERT has no cache key, so SQLAlchemy would compile it at every execution), and each
    parameter's conversion to what the driver takes (JSON to text, times to UTC)."""
    ctes, processors = [], {}
    for i, (table, conflict, columns, count) in enumerate(shape):
        rows = [{c: bindparam(f"w{i}_{n}_{c}", type_=table.c[c].type) for c in columns} for n in range(count)]
        stmt = pg_insert_ignoring(table, conflict) if conflict else insert(table)
        ctes.append(stmt.values(rows).cte(f"w{i}"))
        for c in columns:
            if (process := table.c[c].type.bind_processor(dialect)) is not None:
                processors.update({f"w{i}_{n}_{c}": process for n in range(count)})
    return str(select(literal_column("1")).add_cte(*ctes).compile(dialect=dialect)), processors
