"""Several worker processes share one PostgreSQL: each outbox job runs once, each label is bought once."""

import threading

import pytest
from sqlalchemy import func, select

from app.jobs import work
from app.models import OutboxJob, Shipment
from app.shipping.simulated import SimulatedCarrier
from tests.support.factories import stock_and_swaps
from tests.support.flaky_carrier import FlakyCarrier
from tests.support.service import SWAP_JOB_KINDS, swap_jobs, worker_factory

pytestmark = [pytest.mark.postgres_only, pytest.mark.live_db]


def test_four_workers_drain_the_outbox_without_doing_anything_twice(client, keys, settings, frozen_clock):
    _, _swap_ids = stock_and_swaps(client, keys, 40, return_mode="no_return")
    carrier = FlakyCarrier(SimulatedCarrier(frozen_clock))
    handled: list[int] = []
    barrier = threading.Barrier(4)

    def worker():
        factory = worker_factory(settings, pool_size=2)
        barrier.wait()
        while n := work.run_outbox(factory, carrier, limit=5, only=SWAP_JOB_KINDS):
            handled.append(n)
        factory.kw["bind"].dispose()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(handled) == 40  # every job claimed exactly once across the four workers
    assert len(handled) > 1
    assert set(carrier.purchases.values()) == {1} and len(carrier.purchases) == 40
    factory = worker_factory(settings)
    with factory() as s:
        assert s.scalars(swap_jobs().with_only_columns(OutboxJob.status).distinct()).all() == ["done"]
        assert s.scalar(select(func.count()).select_from(Shipment)) == 40
    factory.kw["bind"].dispose()
