"""Two `spares worker` processes, each with its own APScheduler, share one PostgreSQL and book through
the real Shippo SDK against the stand-in: every swap is booked once, every label bought once."""

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import OutboxJob, SwapRequest
from tests.support import factories as f
from tests.support.factories import US_WORKER, post_swap, swap_body
from tests.support.service import SWAP_JOB_KINDS, worker_factory
from tests.support.shippo_standin import ShippoStandin

pytestmark = [pytest.mark.postgres_only, pytest.mark.live_db]
SWAPS = 24


@pytest.fixture
def standin():
    with ShippoStandin() as api:
        yield api


def test_two_worker_processes_book_each_swap_once(client, keys, settings, standin):
    depot = f.depot(client, keys["admin"], "NYC")
    model = f.model(client, keys["admin"])
    for _ in range(SWAPS):
        f.unit(client, keys["warehouse"], model["id"], depot["id"])
    for i in range(SWAPS):
        body = swap_body(model["id"], ticket=f"P{i}", worker=US_WORKER, return_mode="return_box")
        assert post_swap(client, keys, body).json()["status"] == "allocated"

    env = {**os.environ, "DATABASE_URL": settings.database_url, "SHIPPO_API_KEY": "shippo_test_abc",
           "SHIPPO_WEBHOOK_SECRETS": settings.shippo_webhook_secrets,
           "SHIPPO_BASE_URL": standin.url, "LOG_LEVEL": "WARNING"}
    spares = str(Path(sys.executable).with_name("spares"))
    workers = [subprocess.Popen([spares, "worker"], env=env, stdout=subprocess.DEVNULL) for _ in range(2)]
    factory = worker_factory(settings)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with factory() as s:
                booked = s.scalar(select(func.count()).select_from(SwapRequest)
                                  .where(SwapRequest.status == "label_booked"))
            if booked == SWAPS:
                break
            time.sleep(0.5)
        assert all(w.poll() is None for w in workers), "a worker died"
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(10)
    with factory() as s:
        assert booked == SWAPS
        jobs = s.execute(select(OutboxJob.status, OutboxJob.attempts).where(OutboxJob.kind.in_(SWAP_JOB_KINDS))).all()
        assert {(status, attempts) for status, attempts in jobs} == {("done", 1)}  # each job run once
    factory.kw["bind"].dispose()
    labels = Counter(r.json["metadata"] for r in standin.calls("POST", "/transactions"))
    assert len(labels) == 2 * SWAPS and set(labels.values()) == {1}  # outbound + return, once each
