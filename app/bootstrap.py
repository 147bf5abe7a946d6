"""Builds the service, once per process (API, worker, CLI, tests alike): the engine, sessions that
carry the dispatcher, the carrier, and the kinds of job. The dispatcher is where the parts are
connected: what each event causes, in the same transaction or as a job."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_session_factory
from app.dispatch import Dispatcher
from app.events import (
    DISPATCHER,
    ShipmentStatusChanged,
    SwapAllocated,
    SwapBooked,
    SwapCancelled,
    UnitReady,
)
from app.jobs.kinds import all_kinds
from app.jobs.scheduler import BackgroundWork
from app.outbox import Kind
from app.settings import Settings
from app.shipping import jobs as shipping_jobs
from app.shipping import refunds
from app.shipping.carrier import Carrier
from app.shipping.carriers import make_carrier
from app.swaps import reserve
from app.warehouse import returns


@dataclass(frozen=True)
class Service:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    carrier: Carrier
    kinds: dict[str, Kind]

    def background_work(self) -> BackgroundWork:
        return BackgroundWork(self.session_factory, self.carrier, self.kinds,
                              lease=timedelta(seconds=self.settings.outbox_lease_seconds))


def build_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher()
    dispatcher.on(UnitReady, reserve.on_unit_ready)  # the head of the waitlist gets it at once
    dispatcher.queue(SwapAllocated, shipping_jobs.BOOK_SWAP, lambda e: {"swap_id": e.swap_id})
    dispatcher.on(SwapCancelled, refunds.on_swap_cancelled)
    dispatcher.on(SwapBooked, returns.on_swap_booked)  # the broken unit is expected back
    dispatcher.on(ShipmentStatusChanged, returns.on_shipment_status_changed)  # and followed by the courier
    return dispatcher


def bootstrap(settings: Settings, *, carrier: Carrier | None = None, engine: Engine | None = None,
              **session_options) -> Service:
    engine = engine or make_engine(settings.database_url)
    return Service(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine, info={DISPATCHER: build_dispatcher()}, **session_options),
        carrier=carrier or make_carrier(settings),
        kinds=all_kinds(retry_seconds=settings.outbox_retry_seconds,
                        poll_quiet_for=timedelta(seconds=settings.tracking_poll_quiet_seconds)),
    )
