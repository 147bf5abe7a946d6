"""Rows a transaction adds and does not read back at once — timeline entries, ledger rows, tracking
links, reservations, outbox jobs — kept aside and written together: on PostgreSQL in one statement
(an INSERT per table in one WITH, each table's rows one JSON parameter), elsewhere one INSERT per table.

They are written before the session next runs a statement that reads one of their tables (or any
statement whose tables cannot be told, such as text), and at commit; so the transaction reads its own
rows as if each had been written when added. Rows added inside a savepoint that is rolled back are
dropped with it, and rows added before a savepoint are written before it begins. Rows of one table
keep the order they were added in (their ids rise in that order). A row's columns are given in full
(no column default is applied), and it may not be referred to by a row written otherwise: nothing
has its id until it is written.

An object's new column values (`update`) go the same way: the object holds them as if loaded so, and
one UPDATE by its primary key writes them with the rows (PostgreSQL: in the same statement).

A session whose factory `install` was not given (bootstrap gives it the service's) writes each row at once."""

import json
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    TextClause,
    bindparam,
    event,
    insert,
    inspect,
)
from sqlalchemy import update as sql_update
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.util import find_tables

from app.db import insert_ignoring_statement

QUEUED = "queued_rows"  # the session's info key: the rows not written yet
_UPDATED = "objects_updated"  # the session's info key: (savepoint, object) for each update in a savepoint
_OWNER = "rows_kept_by"  # the connection's info key: the session whose rows it writes
_CONNECTION = "rows_connection"  # the session's info key: the connection of its transaction
BUFFERED = "rows_buffered"  # the factory's info key: its sessions keep rows aside (see `install`)


@dataclass(frozen=True)
class _Row:
    table: Table
    values: dict[str, Any]
    ignore_conflicts_on: tuple[str, ...] | None  # ON CONFLICT (these) DO NOTHING
    transaction: SessionTransaction | None  # the innermost savepoint it was added in (None: the transaction)
    where: tuple[tuple[str, Any], ...] | None = None  # an UPDATE of the row with this primary key


def add(session: Session, table: Table, values: dict[str, Any], *,
        ignore_conflicts_on: tuple[str, ...] | None = None) -> None:
    """Write `values` into `table` with the next statement that reads it, or at commit. With
    `ignore_conflicts_on`, a row that would repeat those columns' values is not written."""
    if not session.info.get(BUFFERED):
        _write(session.connection(), [_Row(table, values, ignore_conflicts_on, None)])
        return
    _own(session)
    session.info.setdefault(QUEUED, []).append(
        _Row(table, values, ignore_conflicts_on, session.get_nested_transaction()))


def update(session: Session, obj: Any, **values: Any) -> None:
    """Give the persistent ORM object `obj` these column values: it holds them as written, and they are
    written with the rows kept aside (one UPDATE by its primary key, the values of several calls for
    the same row merged)."""
    state = inspect(obj)
    if not session.info.get(BUFFERED) or state.key is None or state.session is not session:
        for name, value in values.items():
            setattr(obj, name, value)
        return
    _own(session)
    table, transaction = state.mapper.local_table, session.get_nested_transaction()
    where = tuple((column.key, value) for column, value in zip(state.mapper.primary_key, state.identity, strict=True))
    queued = session.info.setdefault(QUEUED, [])
    for i, row in enumerate(queued):
        if row.where == where and row.table is table:
            if row.transaction is transaction:
                queued[i] = replace(row, values={**row.values, **values})
                break
            flush(session)  # set in a savepoint another than this one's: two UPDATEs of one row, in turn
            session.info[QUEUED] = [_Row(table, values, None, transaction, where)]
            break
    else:
        queued.append(_Row(table, values, None, transaction, where))
    for name, value in values.items():
        set_committed_value(obj, name, value)
    if transaction is not None:
        session.info.setdefault(_UPDATED, []).append((transaction, obj))


def flush(session: Session) -> None:
    """Write the rows kept aside now."""
    if not session.info.get(QUEUED):
        return
    connection = session.connection()  # first: a savepoint begun by it writes the rows added before it
    if rows := session.info.pop(QUEUED, None):
        _write(connection, rows)


def _own(session: Session) -> None:
    """Begin the session's transaction if it has none (as a statement would: its rollback drops the rows),
    and let its connection know whose rows to write before a savepoint begins."""
    connection = session.connection()
    connection.info[_OWNER] = weakref.ref(session)
    session.info[_CONNECTION] = connection


@event.listens_for(Engine, "savepoint")
def _before_savepoint(connection: Connection, _name) -> None:
    """Rows kept aside before a savepoint are written before it: undoing the savepoint must not undo them
    (a savepoint's begin runs no statement of the session's that would write them)."""
    owner = connection.info.get(_OWNER)  # kept by the pooled connection: the session may have moved on
    session = owner() if owner is not None else None
    if session is not None and session.info.get(_CONNECTION) is connection and (rows := session.info.pop(QUEUED, None)):
        _write(connection, rows)


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
            session.info.pop(_UPDATED, None)
            session.info.pop(_CONNECTION, None)

    @event.listens_for(factory, "after_soft_rollback")
    def _after_rollback(session: Session, previous: SessionTransaction) -> None:
        if previous.nested:  # objects given values in the savepoint (written or not) read the row again
            updated = session.info.get(_UPDATED, [])
            for transaction, obj in updated:
                if _inside(transaction, previous):
                    session.expire(obj)
            session.info[_UPDATED] = [(t, o) for t, o in updated if not _inside(t, previous)]
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


def _write(connection: Connection, rows: list[_Row]) -> None:
    groups = _groups(r for r in rows if r.where is None)
    updates = [r for r in rows if r.where is not None]
    if connection.dialect.name == "postgresql":
        shape = (tuple((table, conflict, columns) for table, conflict, columns, _ in groups)
                 + tuple((r.table, None, (tuple(r.values), tuple(k for k, _ in r.where))) for r in updates))
        params = {f"w{i}": _json(values) for i, (_, _, _, values) in enumerate(groups)}
        params.update({f"w{i}": _json({**r.values, **dict(r.where)}) for i, r in enumerate(updates, start=len(groups))})
        connection.exec_driver_sql(_one_statement(shape, connection.dialect), params)
        return
    for r in updates:
        connection.execute(_update(r.table, tuple(r.values), tuple(k for k, _ in r.where)),
                           {**r.values, **{f"key_{k}": v for k, v in r.where}})
    for table, conflict, _, values in groups:
        if conflict:
            for row in values:  # SQLite: one statement a row, for its ON CONFLICT
                connection.execute(insert_ignoring_statement(connection.dialect.name, table, conflict), row)
        else:
            connection.execute(_plain_insert(table), values)


def _json(value: Any) -> str:
    return json.dumps(value, default=_json_value, separators=(",", ":"))


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not written as JSON")


@lru_cache(maxsize=256)
def _plain_insert(table: Table):
    return insert(table)


@lru_cache(maxsize=256)
def _update(table: Table, columns: tuple[str, ...], keys: tuple[str, ...]):
    return (sql_update(table).where(*(table.c[k] == bindparam(f"key_{k}") for k in keys))
            .values({c: bindparam(c) for c in columns}))


@lru_cache(maxsize=256)
def _one_statement(shape: tuple, dialect) -> str:
    """One statement for a shape (tables, conflict targets, columns), built once: each table's rows come
    as one JSON parameter (w<i>), read by `json_populate_recordset` in the order given, so the statement's
    text does not change with the number of rows (the driver and PostgreSQL keep it prepared):

        WITH w0 AS (INSERT INTO t (a, b) SELECT r.a, r.b FROM json_populate_recordset(NULL::t, %(w0)s)
                    WITH ORDINALITY AS r ORDER BY r.ordinality [ON CONFLICT (k) DO NOTHING]),
             w1 AS (UPDATE u SET c = r.c FROM json_populate_record(NULL::u, %(w1)s) AS r WHERE u.id = r.id)
        SELECT 1"""
    q = dialect.identifier_preparer.quote
    parts = []
    for i, (table, conflict, columns) in enumerate(shape):
        name = q(table.name)
        if conflict is None and isinstance(columns[0], tuple):  # an UPDATE of one row: (columns set, key)
            columns, keys = columns
            sets = ", ".join(f"{q(c)} = r.{q(c)}" for c in columns)
            match = " AND ".join(f"{name}.{q(k)} = r.{q(k)}" for k in keys)
            parts.append(f"w{i} AS (UPDATE {name} SET {sets} FROM json_populate_record(NULL::{name}, "
                         f"%(w{i})s) AS r WHERE {match})")
            continue
        listed = ", ".join(q(c) for c in columns)
        picked = ", ".join(f"r.{q(c)}" for c in columns)
        on_conflict = f" ON CONFLICT ({', '.join(q(k) for k in conflict)}) DO NOTHING" if conflict else ""
        parts.append(f"w{i} AS (INSERT INTO {name} ({listed}) SELECT {picked} FROM json_populate_recordset("
                     f"NULL::{name}, %(w{i})s) WITH ORDINALITY AS r ORDER BY r.ordinality{on_conflict})")
    return "WITH " + ", ".join(parts) + " SELECT 1"
