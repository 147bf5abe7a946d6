"""The throwaway service a simulation runs: its database (SQLite in memory, or a new PostgreSQL database
dropped afterwards), the service built by `bootstrap()` on the simulated carrier, and the scenario's
depots, models, spare stock and the workers' own devices."""

import os
import sqlite3
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import cached_property, lru_cache

from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from app import clock, migrations
from app.bootstrap import Service, bootstrap
from app.db import make_engine, unit_of_work
from app.inventory import catalog, units
from app.inventory.schemas import (
    DepotCreate,
    DeviceModelCreate,
    ParLevelSet,
    ProfileCreate,
    UnitCreate,
)
from app.inventory.states import UnitState
from app.models import CustodyEntry, SpareUnit
from app.notify.notifier import LocalOutbox
from app.planning.scenario import Scenario
from app.settings import Settings
from app.shipping.simulated import SimulatedCarrier
from app.simulation.arrivals import devices

ACTOR = "simulation"
BOX = ["charger"]
PROFILE_VERSION = "1"


@dataclass
class World:
    service: Service
    depot_ids: dict[str, int]
    model_ids: dict[str, int]
    profile_ids: dict[str, int]
    fleet: dict[tuple[str, str], list[str]]  # (depot, sku) → the asset tag each worker has now

    @cached_property
    def depot_of_id(self) -> dict[int, str]:
        return {v: k for k, v in self.depot_ids.items()}

    @cached_property
    def sku_of_id(self) -> dict[int, str]:
        return {v: k for k, v in self.model_ids.items()}


def fleet_tag(depot: str, sku: str, worker: int) -> str:
    return f"W-{depot}-{sku}-{worker:06d}"


@contextmanager
def throwaway_database(database_url: str) -> Iterator[str]:
    """`sqlite://` (the default): one in-memory database on one connection. A PostgreSQL URL: a new
    database on that server, migrated, dropped at the end."""
    if database_url.startswith("sqlite"):
        yield "sqlite://"
        return
    url = make_url(database_url)
    name = f"spares_sim_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        target = url.set(database=name).render_as_string(hide_password=False)
        migrations.upgrade(target)
        yield target
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@lru_cache(maxsize=1)
def migrated_template() -> str:
    """An SQLite file migrated to head by Alembic, once per process; each in-memory simulation database
    starts as a copy of it (SQLite's backup API: milliseconds, where migrating takes a second or two)."""
    path = os.path.join(tempfile.mkdtemp(prefix="spares-sim-"), "template.db")
    migrations.upgrade(f"sqlite:///{path}")
    return path


@lru_cache(maxsize=8)
def _memory_engine(_thread: int) -> Engine:
    """The in-memory database's engine, one per thread for every run it plays: its compiled statements
    are cached on the engine, so a run on a new one compiled each of them again (a fifth of a short
    run's time). Each run starts from a copy of the template all the same (see `build_service`); a run
    disposing of the engine closes its connection, and with it that run's database."""
    return make_engine("sqlite://", poolclass=StaticPool)


def build_service(database_url: str) -> Service:
    """The service as `bootstrap()` builds it for the API and the worker, on the simulated carrier and
    with nothing leaving the machine (no Shippo key, no ticket tools, messages kept in the local outbox)."""
    settings = Settings(_env_file=None, database_url=database_url, shippo_api_key="", shippo_webhook_secrets="",
                        ticket_systems="", notify_email_url="", notify_sms_url="", notify_support_url="",
                        webhook_allowed_hosts="", clock_file="", run_background_jobs=False,
                        public_base_url="http://simulation.invalid", secret_key="simulation")
    if database_url == "sqlite://":
        engine = _memory_engine(threading.get_ident())
        target = engine.raw_connection()
        try:
            with sqlite3.connect(migrated_template()) as template:
                template.backup(target.driver_connection)
        finally:
            target.close()
    else:
        engine = make_engine(database_url, pool_size=2, pool_overflow=2)
    carrier = SimulatedCarrier(clock.now, base_url=settings.public_base_url)
    return bootstrap(settings, carrier=carrier, engine=engine, notifier=LocalOutbox())


def seed(service: Service, scenario: Scenario, stock: dict[tuple[str, str], int]) -> World:
    """Depots (each serving its country), models with one config profile each, `stock` ready units per
    depot × model (its par level set to the same), and every worker's own device, out with them."""
    now = clock.now()
    with unit_of_work(service.session_factory) as session:
        depots = {d.code: catalog.create_depot(session, DepotCreate(
            code=d.code, name=f"{d.city} depot", contact_name="Spares desk", street1=d.street1, city=d.city,
            state=d.state, postal_code=d.postal_code, country=d.country, timezone=d.timezone,
            cutoff_local=d.cutoff_local, serves=[d.country])) for d in scenario.depots}
        profiles = {m.sku: catalog.create_profile(session, ProfileCreate(name=f"{m.sku}-std",
                                                                         current_version=PROFILE_VERSION))
                    for m in scenario.models}
        models = {m.sku: catalog.create_model(session, DeviceModelCreate(
            sku=m.sku, category=m.category, maker="Simulated", name=m.name or m.sku, length_cm=40, width_cm=30,
            height_cm=8, weight_kg=Decimal("1.8"))) for m in scenario.models}
        serial = 0
        for d in scenario.depots:
            for m in scenario.models:
                count = stock.get((d.code, m.sku), 0)
                catalog.set_par_level(session, depots[d.code].id, models[m.sku].id, ParLevelSet(min_ready=count))
                for _ in range(count):
                    serial += 1
                    units.create_unit(session, UnitCreate(
                        serial=f"SIM{serial:07d}", asset_tag=f"SP-{serial:07d}", model_id=models[m.sku].id,
                        depot_id=depots[d.code].id, state=UnitState.READY, profile_id=profiles[m.sku].id,
                        profile_version=PROFILE_VERSION, configured_at=now, last_tested_at=now, last_charged_at=now,
                        box_contents=BOX), actor=ACTOR, reason="starting stock")
        fleet = _deploy_fleet(session, scenario, depots, models, profiles, now)
    return World(service=service, depot_ids={k: v.id for k, v in depots.items()},
                 model_ids={k: v.id for k, v in models.items()}, profile_ids={k: v.id for k, v in profiles.items()},
                 fleet=fleet)


def _deploy_fleet(session, scenario: Scenario, depots, models, profiles, now) -> dict[tuple[str, str], list[str]]:
    """The workers' own devices: deployed, each with its custody entry, written in bulk (10,000 workers
    would otherwise be 50,000 service calls before the first day)."""
    fleet: dict[tuple[str, str], list[str]] = {}
    rows = []
    for d in scenario.depots:
        for m in scenario.models:
            tags = [fleet_tag(d.code, m.sku, i) for i in range(devices(d.workers, m.share))]
            fleet[(d.code, m.sku)] = tags
            rows += [{"serial": t, "asset_tag": t, "model_id": models[m.sku].id, "depot_id": depots[d.code].id,
                      "state": UnitState.DEPLOYED.value, "profile_id": profiles[m.sku].id,
                      "profile_version": PROFILE_VERSION, "configured_at": now - timedelta(days=400),
                      "box_contents": BOX, "created_at": now, "updated_at": now} for t in tags]
    if not rows:
        return fleet
    ids = session.scalars(insert(SpareUnit).returning(SpareUnit.id, sort_by_parameter_order=True), rows).all()
    session.execute(insert(CustodyEntry), [
        {"unit_id": uid, "from_state": None, "to_state": UnitState.DEPLOYED.value, "from_depot_id": None,
         "depot_id": row["depot_id"], "actor": ACTOR, "reason": "with its worker before the simulation",
         "reference": None, "at": now} for uid, row in zip(ids, rows, strict=True)])
    return fleet
