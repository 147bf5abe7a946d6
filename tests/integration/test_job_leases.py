"""Per-job leases that cannot double-spend, on the real clock: a job slower than its lease keeps it (a
heartbeat extends it), a worker that lost its lease spends nothing, and a stopping worker finishes the
purchase under way and hands the job back."""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.jobs import work
from app.models import OutboxJob, Shipment, SwapRequest
from app.shipping.simulated import SimulatedCarrier
from tests.support import factories as f
from tests.support.factories import swap_body
from tests.support.service import SWAP_JOB_KINDS, swap_jobs, worker_factory

pytestmark = pytest.mark.live_db  # leases, heartbeats and stopping workers: threads with their own sessions
LEASE = timedelta(seconds=1)


class CountingCarrier:
    """The simulated carrier, counting every label it is asked to buy; `on_buy` runs first (a slow
    carrier, a signal arriving mid-purchase...)."""

    def __init__(self, on_buy=None, on_find=None):
        self.inner = SimulatedCarrier(lambda: __import__("app.clock", fromlist=["now"]).now())
        self.name, self.finds_pickups = self.inner.name, self.inner.finds_pickups
        self.bought: Counter[str] = Counter()
        self.on_buy, self.on_find = on_buy, on_find
        self._lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def find_labels(self, **kw):
        if self.on_find:
            self.on_find(kw["reference"])
        return self.inner.find_labels(**kw)

    def buy_label(self, **kw):
        with self._lock:
            self.bought[kw["reference"]] += 1
        if self.on_buy:
            self.on_buy(kw["reference"])
        return self.inner.buy_label(**kw)


def _swaps(client, keys, n, return_mode="no_return") -> list[int]:
    depot = f.depot(client, keys["admin"], "LON")
    model = f.model(client, keys["admin"])
    for _ in range(n):
        f.unit(client, keys["warehouse"], model["id"], depot["id"])
    ids = []
    for i in range(n):
        r = client.post("/api/v1/swap-requests", json=swap_body(model["id"], ticket=f"L{i}", return_mode=return_mode),
                        headers=keys["support"])
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def _open_jobs(factory) -> int:
    """Booking jobs not done yet (messages held for the worker's working hours are not this test's work:
    counting them made it wait out its deadline whenever it ran after 20:00 in London)."""
    with factory() as s:
        return s.scalar(select(func.count()).select_from(OutboxJob).where(
            OutboxJob.status.in_(("pending", "in_flight")), OutboxJob.kind.in_(SWAP_JOB_KINDS)))


def test_a_purchase_slower_than_the_lease_is_not_taken_over(client, keys, settings):
    ids = _swaps(client, keys, 3)
    carrier = CountingCarrier(on_buy=lambda ref: time.sleep(2.5 * LEASE.total_seconds()))
    factories = [worker_factory(settings) for _ in range(2)]
    deadline = time.monotonic() + 60

    def worker(factory):
        while _open_jobs(factory) and time.monotonic() < deadline:
            if not work.run_outbox(factory, carrier, limit=1, lease=LEASE, only=SWAP_JOB_KINDS):
                time.sleep(0.05)  # the other worker holds what is left: a lease running out must not free it

    threads = [threading.Thread(target=worker, args=(fac,)) for fac in factories]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert carrier.bought == {f"swap-{i}-outbound": 1 for i in ids}
    with factories[0]() as s:
        assert Counter(s.scalars(select(SwapRequest.status))) == {"label_booked": 3}
        assert set(s.scalars(swap_jobs().with_only_columns(OutboxJob.attempts))) == {1}  # never taken over
    for fac in factories:
        fac.kw["bind"].dispose()


def test_a_worker_that_lost_its_lease_spends_nothing(client, keys, settings, session_factory):
    (swap_id,) = _swaps(client, keys, 1)

    def steal(_reference):  # another worker takes the job over while this one looks for labels
        with session_factory() as s, s.begin():
            s.execute(update(OutboxJob).values(lease_token="another-worker"))

    carrier = CountingCarrier(on_find=steal)
    assert work.run_outbox(session_factory, carrier, lease=LEASE, only=SWAP_JOB_KINDS) == 1
    assert carrier.bought == Counter()  # stopped at the fence, before buying
    with session_factory() as s:
        job = s.scalars(swap_jobs()).one()
        assert (job.status, job.lease_token) == ("in_flight", "another-worker")  # left to its new owner
        assert s.scalars(select(Shipment.label_status)).all() == ["pending"]
        assert s.get(SwapRequest, swap_id).status == "allocated"


def test_a_stopping_worker_finishes_the_purchase_under_way_and_hands_the_job_back(client, keys, settings,
                                                                                  session_factory):
    (swap_id,) = _swaps(client, keys, 1, return_mode="return_box")
    runner_box = {}

    def signal_arrives(_reference):  # SIGTERM while the outbound label is being bought
        runner_box["runner"].stopping.set()

    carrier = CountingCarrier(on_buy=signal_arrives)
    runner = work.outbox_runner(session_factory, carrier, lease=LEASE)
    runner_box["runner"] = runner
    assert runner.run_one() is True
    with session_factory() as s:
        job = s.scalars(swap_jobs()).one()
        assert (job.status, job.attempts, job.lease_token) == ("pending", 0, None)  # handed back, not counted
        labels = {d: (st, rate is not None) for d, st, rate in s.execute(
            select(Shipment.direction, Shipment.label_status, Shipment.rate_id))}
    # The purchase under way was recorded; nothing was rated or bought for the next one.
    assert labels["outbound"] == ("SUCCESS", True) and labels.get("return", ("pending", False)) == ("pending", False)
    assert carrier.bought == {f"swap-{swap_id}-outbound": 1}
    # Another worker carries on from there and buys only what is missing.
    assert work.run_outbox(session_factory, carrier, lease=LEASE, only=SWAP_JOB_KINDS) == 1
    assert carrier.bought == {f"swap-{swap_id}-outbound": 1, f"swap-{swap_id}-return": 1}
    with session_factory() as s:
        assert s.get(SwapRequest, swap_id).status == "label_booked"


@pytest.mark.parametrize("stolen", [True, False])
def test_only_the_lease_holder_can_finish_a_job(session_factory, stolen):
    from app import outbox
    from app.db import unit_of_work

    with unit_of_work(session_factory) as s:
        outbox.enqueue(s, "book_swap", {"swap_id": 1})
    with unit_of_work(session_factory) as s:
        job = outbox.claim_one(s, lease=LEASE, kinds={"book_swap"})
        job_id, token = job.id, job.lease_token
    if stolen:
        with session_factory() as s, s.begin():
            s.execute(update(OutboxJob).values(lease_token="another-worker"))
    with unit_of_work(session_factory) as s:
        assert outbox.complete(s, job_id, token) is (not stolen)
    with session_factory() as s:
        assert s.get(OutboxJob, job_id).status == ("in_flight" if stolen else "done")


class LandsLate(CountingCarrier):
    """The worker dies while its purchase is still being processed; the label appears at the carrier
    only later, as a slow carrier's would."""

    settle_after = timedelta(seconds=40)

    def __init__(self):
        super().__init__()
        self.in_flight: list[dict] = []

    def buy_label(self, **kw):
        self.bought[kw["reference"]] += 1
        if not self.in_flight and self.bought[kw["reference"]] == 1:
            self.in_flight.append(kw)
            raise Crash("killed with the purchase on the wire")
        return self.inner.buy_label(**kw)

    def land(self):
        for kw in self.in_flight:
            self.inner.buy_label(**kw)


class Crash(BaseException):
    pass


def test_a_purchase_still_on_the_wire_when_its_worker_died_is_waited_for_not_made_again(
        client, keys, session_factory, frozen_clock):
    (swap_id,) = _swaps(client, keys, 1)
    carrier = LandsLate()
    with pytest.raises(Crash):
        work.run_outbox(session_factory, carrier, lease=LEASE)
    frozen_clock.advance(seconds=LEASE.total_seconds() + 1)  # the lease runs out: another worker takes over
    assert work.run_outbox(session_factory, carrier, lease=LEASE, only=SWAP_JOB_KINDS) == 1
    assert carrier.bought == {f"swap-{swap_id}-outbound": 1}  # it waits: the first purchase may still land
    carrier.land()
    frozen_clock.advance(seconds=45)
    assert work.run_outbox(session_factory, carrier, lease=LEASE, only=SWAP_JOB_KINDS) == 1
    assert carrier.bought == {f"swap-{swap_id}-outbound": 1}  # the late label was adopted
    with session_factory() as s:
        assert s.get(SwapRequest, swap_id).status == "label_booked"
