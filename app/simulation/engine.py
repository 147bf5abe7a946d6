"""One run of a scenario through the service. SimPy's clock is the service's clock: each process waits
for its moment, sets nothing itself, and calls the service as its people would:

- a worker's device fails → support takes the swap in (`intake.create_swap`, the fair waitlist when
  no unit is on the shelf);
- the worker (the outbox runner) books the courier for every swap that got a unit;
- the courier collects at the depot's cut-off on the ship day and delivers on the promised day (or a
  business day late, by the lane's on-time rate): tracking events, as the carrier's webhooks bring them;
- the worker sends the old device back after a lag; the courier brings it to the depot;
- the warehouse tech scans the box and the device in, checks the box, triages (scraps the scenario's
  share and orders a new unit), wipes and refurbishes the rest back to ready, which serves the head
  of the waitlist;
- the periodic jobs (waitlist, escalations, returns) run every `sweep_every_hours`.

Messages to people, ticket notes and webhooks are queued by the service as always and left unsent
(nothing leaves a simulation)."""

import logging
import time as wallclock
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import simpy
from sqlalchemy import delete, func, select

from app import clock
from app.care import followup
from app.db import unit_of_work
from app.inventory import refurbish, units, wipes
from app.inventory.calendar import add_business_days, at_local, is_business_day, next_business_day
from app.inventory.schemas import UnitCreate, WipeCreate, WipeMethod, WipeResult
from app.inventory.states import UnitState
from app.jobs import work
from app.jobs.kinds import schedule_slot
from app.jobs.sweeps import SWEEP_ESCALATIONS, SWEEP_RETURNS, SWEEP_WAITLIST
from app.models import FollowUp, OutboxJob, Shipment, SpareUnit, SwapRequest
from app.planning.scenario import DepotPlan, Scenario
from app.shipping import address_check, tracking
from app.shipping.carrier import Address
from app.shipping.jobs import BOOK_SWAP
from app.shipping.states import Direction
from app.simulation.arrivals import Request, draw
from app.simulation.world import (
    ACTOR,
    BOX,
    PROFILE_VERSION,
    World,
    build_service,
    seed,
    throwaway_database,
)
from app.swaps import intake
from app.swaps import repository as swaps
from app.swaps.schemas import SwapCreate
from app.swaps.states import SwapStatus
from app.warehouse import returns, scanning

log = logging.getLogger(__name__)
RUN_HERE = (BOOK_SWAP, SWEEP_WAITLIST, SWEEP_ESCALATIONS, SWEEP_RETURNS)
COURIER_HOURS = (time(9, 0), time(17, 0))
# One process runs every job to its end, one after another, so no lease is ever taken over; a long one
# keeps the heartbeat (a second thread) off the one in-memory connection the jobs share.
LEASE = timedelta(hours=6)
WIPE = WipeCreate(method=WipeMethod.PURGE, technique="cryptographic erase", tool="Simulated eraser", tool_version="1",
                  technician="bench", result=WipeResult.SUCCESS, verification="erase verified by the tool")


@dataclass
class Sample:
    day: date
    ready: dict[str, int]  # depot → ready units
    waiting: dict[str, int]  # depot → swaps backordered in its country
    states: dict[str, dict[str, int]]  # depot → unit state → count


@dataclass
class Run:
    """What a run leaves: the throwaway service's database is gone afterwards, so the figures are taken
    before (see `report`)."""
    scenario: Scenario
    stock: dict[tuple[str, str], int]
    requests: int = 0  # failures drawn
    swaps: int = 0  # swaps taken in (a failure while the worker's last swap is under way is not one)
    samples: list[Sample] = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    wall_seconds: float = 0.0


class Simulation:
    def __init__(self, scenario: Scenario, world: World, requests: list[Request]) -> None:
        self.scenario, self.world, self.requests = scenario, world, requests
        self.factory = world.service.session_factory
        self.carrier = world.service.carrier
        self.start = datetime.combine(scenario.start, time(0), UTC)
        self.env = simpy.Environment()
        self.depots = {d.code: d for d in scenario.depots}
        self.models = {m.sku: m for m in scenario.models}
        self.country_depot = {d.country: d.code for d in scenario.depots}
        self.verdicts = {d.code: self._address_verdict(d) for d in scenario.depots}
        self.busy: set[tuple[str, str, int]] = set()  # workers with a swap under way
        self.seen_shipment = 0
        self.pending: dict[int, tuple[Request, str]] = {}  # swap id → its request and broken device, until booked
        self.tickets = self.new_units = 0
        self.samples: list[Sample] = []

    # ---- time -------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.env.now)

    def until(self, at: datetime):
        return self.env.timeout(max(0.0, (at - self.now()).total_seconds()))

    # ---- the people and the couriers ---------------------------------------------------------------

    def arrivals(self) -> Iterator:
        for request in self.requests:
            yield self.until(request.at)
            self.take_in(request)

    def take_in(self, request: Request) -> None:
        fleet = self.world.fleet[(request.depot, request.sku)]
        worker = request.worker
        for _ in range(len(fleet)):  # a worker whose last swap is still under way: the next one asks
            if (request.depot, request.sku, worker) not in self.busy:
                break
            worker = (worker + 1) % len(fleet)
        else:
            return
        self.busy.add((request.depot, request.sku, worker))
        self.tickets += 1
        depot = self.depots[request.depot]
        body = SwapCreate.model_validate({
            "ticket": {"system": "sim", "id": f"SIM-{self.tickets}"},
            "worker": {"name": f"Worker {worker} ({depot.code})", "email": f"w{worker}.{depot.code.lower()}@example.com",
                       "timezone": depot.timezone, "address": self._worker_address(depot)},
            "needed": {"model_id": self.world.model_ids[request.sku]},
            "broken_unit": fleet[worker], "return_mode": "return_box"})
        with unit_of_work(self.factory) as session:
            swap, _ = intake.create_swap(session, body, actor=ACTOR, address_verdict=self.verdicts[depot.code])
            self.pending[swap.id] = (replace(request, worker=worker), fleet[worker])
            allocated = swap.status == SwapStatus.ALLOCATED
        if allocated:
            self.book()

    def book(self) -> None:
        """The worker's turn: every booking job due runs; each swap booked is handed to the courier.
        Called when a swap may have got a unit: taken in and allocated, or a unit ready while swaps wait."""
        if not self.pending:
            return
        work.run_outbox(self.factory, self.carrier, kinds=self.world.service.kinds, limit=10_000, only={BOOK_SWAP},
                        lease=LEASE)
        with self.factory() as session:
            rows = session.execute(
                select(Shipment.id, Shipment.swap_id, Shipment.direction, Shipment.tracking_number,
                       SwapRequest.ship_date, SwapRequest.promised_date, SwapRequest.depot_id,
                       SwapRequest.return_depot_id, SpareUnit.asset_tag)
                .join(SwapRequest, SwapRequest.id == Shipment.swap_id)
                .join(SpareUnit, SpareUnit.id == SwapRequest.unit_id)
                .where(Shipment.id > self.seen_shipment).order_by(Shipment.id)).all()
        booked: dict[int, dict] = {}
        for row in rows:
            self.seen_shipment = max(self.seen_shipment, row.id)
            entry = booked.setdefault(row.swap_id, {"row": row})
            entry[row.direction] = row.tracking_number
        for swap_id, entry in booked.items():
            waiting = self.pending.pop(swap_id, None)
            if waiting is not None and entry.get(Direction.OUTBOUND):
                self.env.process(self.journey(*waiting, entry))

    def journey(self, request: Request, broken: str, booked: dict) -> Iterator:
        row, depot = booked["row"], self.depots[request.depot]
        zone = depot.timezone
        pickup = at_local(row.ship_date, depot.cutoff_local, zone) + timedelta(minutes=30)
        yield self.until(max(pickup, self.now()))
        self.courier(booked[Direction.OUTBOUND], "TRANSIT")
        day = row.promised_date if request.on_time else add_business_days(row.promised_date, 1, depot.country)
        yield self.until(max(at_local(day, COURIER_HOURS[0], zone) + timedelta(minutes=request.delivery_minute),
                             self.now()))
        self.courier(booked[Direction.OUTBOUND], "DELIVERED")
        if request.answers:
            self.env.process(self.follow_up(row.swap_id, request.answer_lag))
        key = (request.depot, request.sku, request.worker)
        self.world.fleet[(request.depot, request.sku)][request.worker] = row.asset_tag  # the worker's device now
        self.busy.discard(key)
        back = booked.get(Direction.RETURN)
        if back is None:
            return
        handed = self._courier_slot(self.now() + request.lag, depot)
        yield self.until(handed)
        self.courier(back, "TRANSIT")
        arrives = at_local(add_business_days(handed.astimezone(ZoneInfo(zone)).date(), self.scenario.return_transit_days,
                                             depot.country), time(11, 0), zone)
        yield self.until(arrives)
        self.courier(back, "DELIVERED")
        depot_code = self.world.depot_of_id[row.return_depot_id or row.depot_id]
        unit_id = self.check_in(back, broken=broken, depot=depot_code,
                                scrap=request.scrap)
        if unit_id is None:
            return
        home = self.depots[depot_code]
        if request.scrap:
            yield from self.resupply(home, request.sku)
        else:
            done = at_local(add_business_days(self.now().astimezone(ZoneInfo(home.timezone)).date(),
                                              self.models[request.sku].refurbish_days, home.country),
                            time(10, 0), home.timezone)
            yield self.until(max(done, self.now() + timedelta(hours=1)))
            with unit_of_work(self.factory) as session:
                wipes.record_wipe(session, unit_id, WIPE, actor=ACTOR)
                refurbish.refurbished(session, unit_id, notes=None, actor=ACTOR)
            self.book()

    def follow_up(self, swap_id: int, lag: timedelta) -> Iterator:
        """The worker answers "is it working?" (yes) on the tracking page, `lag` after the question is due
        (the service set when, at delivery)."""
        with self.factory() as session:
            due = session.scalar(select(FollowUp.due_at).where(FollowUp.swap_id == swap_id))
        if due is None:
            return
        yield self.until(max(due + lag, self.now()))
        with unit_of_work(self.factory) as session:
            followup.answer(session, swaps.get_swap_for_update(session, swap_id), answer="yes", score=5, comment=None)

    def resupply(self, depot: DepotPlan, sku: str) -> Iterator:
        """A new unit for a scrapped one: ordered at triage, ready at the depot after `resupply_days`."""
        model = self.models[sku]
        arrives = at_local(add_business_days(self.now().astimezone(ZoneInfo(depot.timezone)).date(),
                                             model.resupply_days, depot.country), time(10, 0), depot.timezone)
        yield self.until(max(arrives, self.now()))
        self.new_units += 1
        now = self.now()
        with unit_of_work(self.factory) as session:
            units.create_unit(session, UnitCreate(
                serial=f"NEW{self.new_units:07d}", asset_tag=f"NEW-{self.new_units:07d}", model_id=self.world.model_ids[sku],
                depot_id=self.world.depot_ids[depot.code], state=UnitState.READY,
                profile_id=self.world.profile_ids[sku], profile_version=PROFILE_VERSION, configured_at=now,
                last_tested_at=now, last_charged_at=now, box_contents=BOX), actor=ACTOR, reason="resupply")
        self.book()

    def check_in(self, tracking_number: str, *, broken: str, depot: str, scrap: bool) -> int | None:
        """At the bench: the box's label, then the device in it, the checklist, triage."""
        depot_id = self.world.depot_ids[depot]
        with unit_of_work(self.factory) as session:
            box = scanning.scan(session, code=tracking_number, depot_id=depot_id, actor=ACTOR)
            if box.expected_return_id is None:
                log.warning("simulation: return %s not found at %s", tracking_number, depot)
                return None
            device = scanning.scan(session, code=broken, depot_id=depot_id, actor=ACTOR,
                                   return_id=box.expected_return_id)
            returns.inspect(session, box.expected_return_id, items_present=box.checklist or ["device", *BOX],
                            damaged=False, notes=None, actor=ACTOR)
            if device.unit_id is None:
                return None
            decision = refurbish.TriageDecision.RETIRE if scrap else refurbish.TriageDecision.REFURBISH
            refurbish.triage(session, device.unit_id, decision, reason="beyond repair" if scrap else "fit to refurbish",
                             actor=ACTOR, grade="B", battery_health=90)
            return device.unit_id

    def courier(self, tracking_number: str, status: str) -> None:
        with unit_of_work(self.factory) as session:
            tracking.apply_event(session, tracking.Event(carrier=None, tracking_number=tracking_number, status=status,
                                                         status_date=self.now()), source="simulation")

    def sweeps(self) -> Iterator:
        """The periodic jobs, queued and run as the workers' schedulers do. Serving the waitlist and
        escalating run every `sweep_every_hours` while someone waits (with nobody waiting they have
        nothing to do); chasing returns runs once a day."""
        every, last_chase = self.scenario.sweep_every_hours * 3600, None
        while True:
            yield self.env.timeout(every)
            kinds = {SWEEP_WAITLIST, SWEEP_ESCALATIONS} if self.pending else set()
            if self.now().date() != last_chase:
                kinds.add(SWEEP_RETURNS)
                last_chase = self.now().date()
            if not kinds:
                continue
            for kind in sorted(kinds):
                schedule_slot(self.factory, kind)
            work.run_outbox(self.factory, self.carrier, kinds=self.world.service.kinds, limit=100, only=kinds,
                            lease=LEASE)
            self.book()

    def sampler(self) -> Iterator:
        while True:
            yield self.env.timeout(86400 - 1)
            self.samples.append(self.sample())
            yield self.env.timeout(1)

    def sample(self) -> Sample:
        """The day's end: units by depot and state, swaps waiting by depot. And what the service queued
        for the outside world (messages, ticket notes, webhooks), which nothing in a simulation sends, is
        cleared from the outbox so it does not grow with the year."""
        with unit_of_work(self.factory) as session:
            session.execute(delete(OutboxJob).where(OutboxJob.kind.not_in(RUN_HERE)))
            states = session.execute(select(SpareUnit.depot_id, SpareUnit.state, func.count())
                                     .group_by(SpareUnit.depot_id, SpareUnit.state)).all()
            waiting = session.execute(select(SwapRequest.country, func.count())
                                      .where(SwapRequest.status == SwapStatus.BACKORDERED)
                                      .group_by(SwapRequest.country)).all()
        by_depot: dict[str, dict[str, int]] = {d: {} for d in self.depots}
        for depot_id, state, n in states:
            by_depot[self.world.depot_of_id[depot_id]][state] = n
        wait = dict.fromkeys(self.depots, 0)
        for country, n in waiting:
            if country in self.country_depot:
                wait[self.country_depot[country]] += n
        return Sample(day=self.now().date(), ready={d: s.get(UnitState.READY, 0) for d, s in by_depot.items()},
                      waiting=wait, states=by_depot)

    # ---- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _worker_address(depot: DepotPlan) -> dict:
        return {"street1": depot.worker_street1 or depot.street1, "city": depot.city, "region": depot.state,
                "postal_code": depot.worker_postal_code or depot.postal_code, "country": depot.country}

    def _address_verdict(self, depot: DepotPlan):
        """Asked once per depot, as intake asks the carrier for each request: the workers of a depot share
        its address here."""
        a = self._worker_address(depot)
        return address_check.check(self.carrier, Address(name="Worker", street1=a["street1"], city=a["city"],
                                                         state=a["region"], postal_code=a["postal_code"],
                                                         country=a["country"]))

    def _courier_slot(self, at: datetime, depot: DepotPlan) -> datetime:
        """The first moment at or after `at` a courier takes a parcel in the worker's day (business days,
        09:00–17:00 local)."""
        zone = ZoneInfo(depot.timezone)
        local = at.astimezone(zone)
        day = local.date()
        if is_business_day(day, depot.country) and COURIER_HOURS[0] <= local.time() < COURIER_HOURS[1]:
            return at
        if not is_business_day(day, depot.country) or local.time() >= COURIER_HOURS[1]:
            day = next_business_day(day, depot.country)
        return at_local(day, time(12, 0), depot.timezone)


def run(scenario: Scenario, stock: dict[tuple[str, str], int], *, database_url: str = "sqlite://",
        figures=None) -> Run:
    """Play the scenario with `stock` ready units per (depot, sku) at the start. `figures(session, sim)`
    takes what the caller wants from the database before it is thrown away."""
    began = wallclock.perf_counter()
    requests = draw(scenario)
    result = Run(scenario=scenario, stock=dict(stock), requests=len(requests))
    start = datetime.combine(scenario.start, time(0), UTC)
    with clock.using(lambda: start), throwaway_database(database_url) as url:
        service = build_service(url)
        try:
            world = seed(service, scenario, stock)
            sim = Simulation(scenario, world, requests)
            with clock.using(sim.now):
                sim.env.process(sim.arrivals())
                sim.env.process(sim.sweeps())
                sim.env.process(sim.sampler())
                sim.env.run(until=scenario.days * 86400)
                result.samples = sim.samples
                result.swaps = sim.tickets
                if figures is not None:
                    with service.session_factory() as session:
                        result.figures = figures(session, sim)
        finally:
            service.engine.dispose()
    result.wall_seconds = wallclock.perf_counter() - began
    return result
