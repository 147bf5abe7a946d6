"""The booking outbox under a failing carrier and a crashing worker: nothing lost, never two labels."""

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import outbox
from app.jobs import work
from app.models import OutboxJob, Shipment, SwapRequest
from app.shipping import booking
from app.shipping.simulated import SimulatedCarrier
from tests.support.factories import stock_and_swaps
from tests.support.flaky_carrier import Crash, FlakyCarrier
from tests.support.service import SWAP_JOB_KINDS, swap_jobs, worker_factory


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch):
    monkeypatch.setattr(booking, "READ_PAUSE_SECONDS", 0)


def _drain(factory, carrier, clock, rounds=200):
    """Runs the booking jobs until none is left (the messages they cause are not this test's subject)."""
    for _ in range(rounds):
        with factory() as s:
            open_jobs = s.scalar(select(func.count()).select_from(OutboxJob).where(
                OutboxJob.kind.in_(SWAP_JOB_KINDS), OutboxJob.status.in_(("pending", "in_flight"))))
        if not open_jobs:
            return
        clock.advance(minutes=31)  # past any backoff and lease
        work.run_outbox(factory, carrier, limit=100, only=SWAP_JOB_KINDS)
    raise AssertionError("the outbox did not drain")


def _assert_one_label_each(factory, swap_ids, carrier, directions=("outbound", "return")):
    with factory() as s:
        statuses = Counter(s.scalars(select(SwapRequest.status).where(SwapRequest.id.in_(swap_ids))))
        assert statuses == {"label_booked": len(swap_ids)}
        rows = s.execute(select(Shipment.swap_id, Shipment.direction, Shipment.label_status, Shipment.reference)).all()
    assert Counter((d, st) for _, d, st, _ in rows) == {(d, "SUCCESS"): len(swap_ids) for d in directions}
    assert {(sid, d) for sid, d, _, _ in rows} == {(sid, d) for sid in swap_ids for d in directions}
    bought = carrier.purchases
    assert set(bought) == {ref for *_, ref in rows}
    assert max(bought.values()) == 1, [ref for ref, n in bought.items() if n > 1]


@pytest.mark.postgres_only  # one worker, in order: the database kind changes nothing; run where workers run
def test_carrier_failing_30_percent_of_calls_still_books_every_swap_exactly_once(
        client, keys, app, frozen_clock, session_factory):
    _, swap_ids = stock_and_swaps(client, keys, 100)
    carrier = FlakyCarrier(SimulatedCarrier(frozen_clock), failure_rate=0.3)
    _drain(session_factory, carrier, frozen_clock)
    _assert_one_label_each(session_factory, swap_ids, carrier)
    with session_factory() as s:
        retried = s.scalar(select(func.count()).select_from(OutboxJob).where(OutboxJob.attempts > 1))
    assert retried > 50  # the failures really happened and were retried (over half the swaps' jobs)


@pytest.mark.live_db  # two workers with engines of their own
def test_worker_killed_mid_job_loses_nothing_and_buys_nothing_twice(client, keys, app, frozen_clock, settings):
    _, swap_ids = stock_and_swaps(client, keys, 12, return_mode="no_return")
    carrier = FlakyCarrier(SimulatedCarrier(frozen_clock), crash_after_buys=1)
    first_worker = worker_factory(settings)
    with pytest.raises(Crash):
        work.run_outbox(first_worker, carrier, limit=100)
    with first_worker() as s:
        statuses = Counter(s.scalars(swap_jobs().with_only_columns(OutboxJob.status)))
    # Jobs are claimed one at a time: only the one it was running is left claimed.
    assert statuses == {"in_flight": 1, "pending": 11}
    first_worker.kw["bind"].dispose()
    # A restarted worker does the rest at once, and takes the stranded job over after one short lease.
    second_worker = worker_factory(settings)
    assert work.run_outbox(second_worker, carrier, limit=100, only=SWAP_JOB_KINDS) == 11
    frozen_clock.advance(seconds=outbox.DEFAULT_LEASE.total_seconds() + 1)
    assert work.run_outbox(second_worker, carrier, limit=100, only=SWAP_JOB_KINDS) == 1
    _assert_one_label_each(second_worker, swap_ids, carrier, directions=("outbound",))
    second_worker.kw["bind"].dispose()


def test_a_carrier_that_keeps_failing_escalates_the_swap(client, keys, app, frozen_clock, session_factory):
    _, (swap_id,) = stock_and_swaps(client, keys, 1)
    carrier = FlakyCarrier(SimulatedCarrier(frozen_clock), failure_rate=1.0)
    for _ in range(outbox.RetryPolicy().max_attempts):
        frozen_clock.advance(hours=1)
        work.run_outbox(session_factory, carrier)
    swap = client.get(f"/api/v1/swap-requests/{swap_id}", headers=keys["support"]).json()
    assert swap["status"] == "exception"
    assert swap["timeline"][-1]["data"]["escalated"] is True and "503" in swap["timeline"][-1]["message"]
    with session_factory() as s:
        job = s.scalars(swap_jobs()).one()
        assert (job.status, job.attempts) == ("failed", outbox.RetryPolicy().max_attempts)
    assert carrier.purchases == Counter()


def test_backoff_grows_and_honours_retry_after():
    steady = outbox.RetryPolicy(jitter=0)
    assert steady.delay(1) == timedelta(seconds=15)
    assert steady.delay(3) == timedelta(seconds=60)
    assert steady.delay(20) == steady.cap
    assert steady.delay(1, retry_after=120) == timedelta(seconds=120)
    jittered = {outbox.RetryPolicy().delay(3) for _ in range(20)}
    assert len(jittered) > 1 and all(timedelta(seconds=48) <= d <= timedelta(seconds=72) for d in jittered)
