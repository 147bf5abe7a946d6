"""Drills with real `spares worker` processes on one PostgreSQL, booking through the real Shippo SDK
against the stand-in, which is told how to misbehave the way an operator would tell it by hand
(`POST /__standin/faults`): a carrier slower than the job lease, a worker killed mid-purchase, a worker
stopped mid-batch, pickups whose answers are lost. Every label and pickup must be made exactly once,
and nothing may stay claimed longer than one short lease."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db import make_engine, make_session_factory
from app.models import ExtraLabel, OutboxJob, PickupRequest, SwapEvent, SwapRequest
from tests.support import factories as f
from tests.support import http
from tests.support.factories import US_WORKER, swap_body
from tests.support.service import SWAP_JOB_KINDS
from tests.support.shippo_standin import ShippoStandin

pytestmark = [pytest.mark.postgres_only, pytest.mark.live_db]
LEASE = 2.0  # seconds: short, because it is extended while a job runs


@pytest.fixture
def standin():
    with ShippoStandin() as api:
        yield api


@pytest.fixture
def factory(settings):
    fac = make_session_factory(make_engine(settings.database_url))
    yield fac
    fac.kw["bind"].dispose()


class Workers:
    def __init__(self, settings, standin: ShippoStandin):
        self.env = {**os.environ, "DATABASE_URL": settings.database_url, "SHIPPO_API_KEY": "shippo_test_abc",
                    "SHIPPO_WEBHOOK_SECRETS": settings.shippo_webhook_secrets,
                    "SHIPPO_BASE_URL": standin.url, "LOG_LEVEL": "WARNING", "OUTBOX_LEASE_SECONDS": str(LEASE),
                    "OUTBOX_RETRY_SECONDS": "1", "SHIPPO_TIMEOUT_SECONDS": "5",
                    "TRACKING_POLL_QUIET_SECONDS": "86400"}
        self.procs: list[subprocess.Popen] = []

    def start(self, n: int) -> list[subprocess.Popen]:
        spares = str(Path(sys.executable).with_name("spares"))
        new = [subprocess.Popen([spares, "worker"], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True) for _ in range(n)]
        self.procs += new
        return new

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            p.wait(10)


@pytest.fixture
def workers(settings, standin):
    w = Workers(settings, standin)
    yield w
    w.stop_all()


def faults(standin: ShippoStandin, **config) -> None:
    """Set from outside, over HTTP, as by hand."""
    assert http.post(f"{standin.url}/__standin/faults", json=config).status_code == 200


def counts(standin: ShippoStandin) -> dict:
    return http.get(f"{standin.url}/__standin/counts").json()


def make_swaps(client, keys, n: int, return_mode: str) -> list[int]:
    f.depot(client, keys["admin"], "NYC")
    model = f.model(client, keys["admin"])
    rows = "\n".join(f"D{i:05d},DA{i:05d},{model['sku']},NYC,ready" for i in range(n))
    r = client.post("/api/v1/units/import", content=f"serial,asset_tag,model_sku,depot_code,state\n{rows}\n",
                    headers={**keys["warehouse"], "Content-Type": "text/csv"})
    assert r.status_code == 201, r.text
    ids = []
    for i in range(n):
        body = swap_body(model["id"], ticket=f"DR{i}", worker=US_WORKER, return_mode=return_mode)
        r = client.post("/api/v1/swap-requests", json=body, headers=keys["support"])
        assert r.status_code == 201 and r.json()["status"] == "allocated", r.text
        ids.append(r.json()["id"])
    return ids


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def booked(factory) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(SwapRequest).where(SwapRequest.status == "label_booked"))


def assert_each_made_once(standin, factory, ids: list[int], directions: tuple[str, ...], pickups: bool = False):
    made = counts(standin)
    assert made["labels"] == {f"swap-{i}-{d}": 1 for i in ids for d in directions}
    if pickups:
        assert made["pickups"] == {f"swap-{i}-pickup": 1 for i in ids}
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(ExtraLabel)) == 0
        assert set(s.scalars(select(OutboxJob.status).where(OutboxJob.kind.in_(SWAP_JOB_KINDS)))) == {"done"}


def test_a_carrier_slower_than_the_lease_still_buys_each_label_once(client, keys, standin, workers, factory):
    ids = make_swaps(client, keys, 6, "return_box")
    faults(standin, paths=["/transactions"], latency=[1.2 * LEASE, 2 * LEASE], seed=1)
    workers.start(2)
    wait_until(lambda: booked(factory) == len(ids), 120, "every swap booked")
    assert_each_made_once(standin, factory, ids, ("outbound", "return"))
    with factory() as s:
        assert set(s.scalars(select(OutboxJob.attempts).where(OutboxJob.kind.in_(SWAP_JOB_KINDS)))) == {1}


def test_sigkill_mid_purchase_loses_nothing_and_strands_nothing_past_one_lease(client, keys, standin, workers,
                                                                               factory):
    ids = make_swaps(client, keys, 6, "no_return")
    faults(standin, paths=["/transactions"], latency=[2.0, 3.0], seed=2)
    victim, _survivor = workers.start(2)
    wait_until(lambda: len(standin.calls("POST", "/transactions")) >= 2, 60, "purchases under way")
    victim.send_signal(signal.SIGKILL)
    killed_at = datetime.now(UTC)
    victim.wait(10)
    with factory() as s:
        held = s.scalars(select(OutboxJob.locked_until).where(OutboxJob.status == "in_flight",
                                                              OutboxJob.kind.in_(SWAP_JOB_KINDS))).all()
    # Whatever the dead worker held is free again within one lease of its death (a beat may have
    # extended it just before).
    assert held and all(until <= killed_at + timedelta(seconds=LEASE + 0.5) for until in held)
    wait_until(lambda: booked(factory) == len(ids), 120, "every swap booked by the survivor")
    assert_each_made_once(standin, factory, ids, ("outbound",))


def test_sigterm_mid_batch_hands_work_back_and_exits_cleanly(client, keys, standin, workers, factory):
    ids = make_swaps(client, keys, 8, "no_return")
    faults(standin, paths=["/transactions"], latency=[1.0, 2.0], seed=3)
    stopping, _other = workers.start(2)
    wait_until(lambda: len(standin.calls("POST", "/transactions")) >= 3, 60, "purchases under way")
    asked = time.monotonic()
    stopping.send_signal(signal.SIGTERM)
    out, _ = stopping.communicate(timeout=15)
    assert stopping.returncode == 0, out
    # The purchase under way (≤ 2 s) was finished and no other begun (the rest is the exit, on a busy machine).
    assert time.monotonic() - asked < 2.0 + 4.0
    assert "worker stopped" in out
    with factory() as s:  # nothing stays claimed by the stopped worker: at most the other's one job
        assert s.scalar(select(func.count()).select_from(OutboxJob).where(
            OutboxJob.status == "in_flight", OutboxJob.kind.in_(SWAP_JOB_KINDS))) <= 1
    wait_until(lambda: booked(factory) == len(ids), 120, "every swap booked")
    assert_each_made_once(standin, factory, ids, ("outbound",))


def test_lost_pickup_answers_leave_exactly_one_pickup_per_swap(client, keys, standin, workers, factory):
    ids = make_swaps(client, keys, 8, "swap_at_door")
    faults(standin, paths=["/pickups"], rates={"lost": 0.35, "503": 0.25}, seed=4)
    workers.start(2)
    wait_until(lambda: booked(factory) == len(ids), 120, "every swap booked")
    assert_each_made_once(standin, factory, ids, ("outbound", "return"), pickups=True)
    with factory() as s:
        statuses = s.execute(select(PickupRequest.reference, PickupRequest.status)).all()
        unconfirmed = {ref for ref, st in statuses if st == "unconfirmed"}
        told = [d["reference"] for d in s.scalars(select(SwapEvent.data).where(SwapEvent.kind == "pickup_unconfirmed"))]
    assert {st for _, st in statuses} <= {"confirmed", "unconfirmed"}
    assert unconfirmed, "the drill lost no answer: it proved nothing"
    assert sorted(told) == sorted(unconfirmed)  # each lost answer went to support, once
