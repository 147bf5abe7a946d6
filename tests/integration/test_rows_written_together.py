"""Rows kept aside and written together (`app.writes`): a transaction reads them back as if each had
been written when added, a rolled-back savepoint drops its own, ids keep the order rows were added
in, and a session the service did not make writes each at once; an object's update is held by the
object and written once. On SQLite and PostgreSQL."""

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import sessionmaker

from app import outbox, writes
from app.db import make_engine, make_session_factory
from app.models import OutboxJob, SpareUnit
from tests.support import factories as f


def _kinds(session, prefix: str) -> list[str]:
    return list(session.scalars(select(OutboxJob.kind).where(OutboxJob.kind.like(f"{prefix}%"))
                                .order_by(OutboxJob.id)))


def test_a_row_added_is_read_back_by_the_next_statement_of_its_transaction(session_factory):
    with session_factory() as session:
        outbox.enqueue(session, "rw-read")
        assert session.info.get(writes.QUEUED), "kept aside, not written at once"
        assert _kinds(session, "rw-read") == ["rw-read"]  # an ORM select
        assert session.scalar(text("SELECT count(*) FROM outbox_jobs WHERE kind = 'rw-read'")) == 1  # text
        outbox.enqueue(session, "rw-read-2")
        session.execute(update(OutboxJob).where(OutboxJob.kind == "rw-read-2").values(attempts=7))  # an UPDATE
        assert session.scalar(select(OutboxJob.attempts).where(OutboxJob.kind == "rw-read-2")) == 7
        session.commit()


def test_rows_are_written_at_commit_and_keep_the_order_they_were_added_in(session_factory):
    with session_factory() as session:
        for n in range(5):
            outbox.enqueue(session, f"rw-order-{n}", dedupe_key=f"rw-order-{n}" if n % 2 else None)
        session.commit()
    with session_factory() as session:
        assert _kinds(session, "rw-order-") == [f"rw-order-{n}" for n in range(5)]


def test_a_savepoint_rolled_back_drops_the_rows_added_inside_it_only(session_factory):
    with session_factory() as session:
        outbox.enqueue(session, "rw-save-before")
        with pytest.raises(RuntimeError), session.begin_nested():
            outbox.enqueue(session, "rw-save-inside")
            raise RuntimeError("undo")
        outbox.enqueue(session, "rw-save-after")
        session.commit()
    with session_factory() as session:
        assert _kinds(session, "rw-save-") == ["rw-save-before", "rw-save-after"]


def test_rows_added_before_a_savepoint_outlive_its_rollback(session_factory):
    with session_factory() as session:
        outbox.enqueue(session, "rw-outer")
        with pytest.raises(RuntimeError), session.begin_nested():
            assert _kinds(session, "rw-outer") == ["rw-outer"]  # a read inside the savepoint
            raise RuntimeError("undo")
        session.commit()
    with session_factory() as session:
        assert _kinds(session, "rw-outer") == ["rw-outer"]


def test_a_rollback_drops_every_row_kept_aside(session_factory):
    with session_factory() as session:
        outbox.enqueue(session, "rw-rolled-back")
        session.rollback()
        assert not session.info.get(writes.QUEUED)
        session.commit()
        assert _kinds(session, "rw-rolled-back") == []


def test_the_same_dedupe_key_twice_in_one_transaction_queues_one_job(session_factory):
    with session_factory() as session:
        outbox.enqueue(session, "rw-dedupe", {"n": 1}, dedupe_key="rw-dedupe-key")
        outbox.enqueue(session, "rw-dedupe", {"n": 2}, dedupe_key="rw-dedupe-key")
        session.commit()
    with session_factory() as session:
        payloads = list(session.scalars(select(OutboxJob.payload).where(OutboxJob.kind == "rw-dedupe")))
        assert payloads == [{"n": 1}]


def test_a_session_the_service_did_not_make_writes_each_row_at_once(session_factory):
    plain = sessionmaker(bind=session_factory.kw["bind"], join_transaction_mode="create_savepoint")
    with plain() as session:
        outbox.enqueue(session, "rw-plain")
        assert not session.info.get(writes.QUEUED)
        assert session.scalar(select(func.count()).where(OutboxJob.kind == "rw-plain")) == 1
        session.rollback()


@pytest.fixture
def unit_id(client, keys):
    depot = f.depot(client, keys["admin"], "LON")
    model = f.model(client, keys["admin"])
    return f.unit(client, keys["warehouse"], model["id"], depot["id"])["id"]


def _state_in_database(session, unit_id: int) -> str:
    return session.scalar(text("SELECT state FROM spare_units WHERE id = :id"), {"id": unit_id})


def test_an_update_is_held_by_the_object_and_read_back_by_the_next_statement(session_factory, unit_id):
    with session_factory() as session:
        unit = session.get(SpareUnit, unit_id)
        writes.update(session, unit, state="quarantined")
        assert unit.state == "quarantined" and unit not in session.dirty  # held as written: no ORM UPDATE
        assert _state_in_database(session, unit_id) == "quarantined"
        session.commit()


def test_two_updates_of_one_row_in_one_transaction_write_the_last_values(session_factory, unit_id):
    with session_factory() as session:
        unit = session.get(SpareUnit, unit_id)
        writes.update(session, unit, state="reserved")
        writes.update(session, unit, state="packed")
        # one UPDATE with both calls' values (two in one PostgreSQL statement would leave either)
        assert len(session.info[writes.QUEUED]) == 1
        session.commit()
    with session_factory() as session:
        assert _state_in_database(session, unit_id) == "packed"


def test_an_update_in_a_savepoint_rolled_back_is_dropped_and_the_object_reads_the_row_again(session_factory,
                                                                                           unit_id):
    with session_factory() as session:
        unit = session.get(SpareUnit, unit_id)
        writes.update(session, unit, state="reserved")
        with pytest.raises(RuntimeError), session.begin_nested():
            writes.update(session, unit, state="packed")
            raise RuntimeError("undo")
        assert unit.state == "reserved"  # the savepoint's value is gone from the object too
        session.commit()
    with session_factory() as session:
        assert _state_in_database(session, unit_id) == "reserved"


@pytest.mark.postgres_only  # two writers at once (SQLite takes one)
@pytest.mark.live_db
def test_a_savepoint_writes_only_the_rows_of_the_session_it_belongs_to(database_url):
    """A connection remembers whose rows to write before a savepoint; once that session has moved to
    another connection, a savepoint here (another session's) must not take its rows."""
    engine = make_engine(database_url, pool_size=2, pool_overflow=0)
    factory = make_session_factory(engine)
    writes.install(factory)
    try:
        first, other = factory(), factory()
        outbox.enqueue(first, "rw-mine-1")
        first.commit()  # its connection goes back to the pool, still naming `first`
        other.connection()  # … and is taken by `other`
        outbox.enqueue(first, "rw-mine-2")  # `first` now writes on the pool's other connection
        with other.begin_nested():  # a savepoint on the connection that named `first`
            other.execute(text("SELECT 1"))
        other.rollback()
        first.commit()
        with factory() as session:
            assert _kinds(session, "rw-mine-") == ["rw-mine-1", "rw-mine-2"]
        first.close(), other.close()
    finally:
        engine.dispose()
