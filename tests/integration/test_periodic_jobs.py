"""Periodic work (the sweeps, the tracking poll) is one outbox job per slot, however many processes
tick: each process's scheduler queues the slot's job under the slot as its dedupe key."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.jobs import sweeps
from app.jobs.kinds import PERIODIC, schedule_slot, slot_of
from app.models import OutboxJob
from tests.support.service import worker_factory


def _jobs(factory, kind):
    with factory() as s:
        return list(s.scalars(select(OutboxJob).where(OutboxJob.kind == kind).order_by(OutboxJob.id)))


def test_a_slot_starts_on_its_boundary_and_names_itself():
    every = PERIODIC[sweeps.SWEEP_RETURNS]  # 15 minutes
    start, key = slot_of(sweeps.SWEEP_RETURNS, datetime(2026, 11, 24, 9, 14, 59, tzinfo=UTC))
    assert start == datetime(2026, 11, 24, 9, 0, tzinfo=UTC) and every == timedelta(minutes=15)
    assert key == "sweep_returns@2026-11-24T09:00:00+00:00"
    assert slot_of(sweeps.SWEEP_RETURNS, datetime(2026, 11, 24, 9, 15, tzinfo=UTC))[0] == start + every


def test_ticks_of_one_slot_queue_one_job_and_the_next_slot_another(session_factory, frozen_clock):
    for _ in range(3):  # three ticks in the same slot (as three processes would)
        schedule_slot(session_factory, sweeps.SWEEP_WAITLIST)
        frozen_clock.advance(seconds=10)
    jobs = _jobs(session_factory, sweeps.SWEEP_WAITLIST)
    assert len(jobs) == 1 and jobs[0].status == "pending"
    frozen_clock.advance(seconds=PERIODIC[sweeps.SWEEP_WAITLIST].total_seconds())
    schedule_slot(session_factory, sweeps.SWEEP_WAITLIST)
    assert len(_jobs(session_factory, sweeps.SWEEP_WAITLIST)) == 2


@pytest.mark.live_db  # two processes' engines
def test_two_processes_ticking_the_same_slot_queue_one_job(settings, frozen_clock):
    first, second = worker_factory(settings), worker_factory(settings)
    try:
        schedule_slot(first, sweeps.PURGE_EXPIRED)
        schedule_slot(second, sweeps.PURGE_EXPIRED)
        assert len(_jobs(first, sweeps.PURGE_EXPIRED)) == 1
    finally:
        for factory in (first, second):
            factory.kw["bind"].dispose()
