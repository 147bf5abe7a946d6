"""Builds the service, once per process (API, worker, CLI, tests alike): the engine, sessions that
carry the dispatcher, the carrier, the notifier, and the kinds of job. The dispatcher is where the
parts are connected: what each event causes, in the same transaction or as a job."""

from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app import clock, writes
from app.care import followup
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
from app.integrations.tickets import notes as ticket_notes
from app.integrations.tickets.connectors import parse_ticket_systems
from app.integrations.tickets.notes import TicketConfig
from app.integrations.webhooks import fanout as webhooks_out
from app.jobs.kinds import all_kinds
from app.jobs.scheduler import BackgroundWork
from app.jobs.sweeps import policies
from app.keyring import Keyring
from app.notify import handlers as notify_handlers
from app.notify.config import NotifyConfig
from app.notify.notifier import Notifier, make_notifier
from app.outbox import Kind
from app.reference import REFERENCE, ReferenceCache
from app.reference import watch as watch_reference
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
    notifier: Notifier
    keyring: Keyring
    kinds: dict[str, Kind]

    def background_work(self) -> BackgroundWork:
        return BackgroundWork(self.session_factory, self.carrier, self.kinds,
                              lease=timedelta(seconds=self.settings.outbox_lease_seconds),
                              tick_every=self.settings.sweep_every_seconds)


def ticket_config(settings: Settings) -> TicketConfig:
    """The ticketing tools of the settings (a mistake in them stops the start, naming the system)."""
    return TicketConfig(parse_ticket_systems(settings.ticket_systems))


def build_dispatcher(settings: Settings, tickets: TicketConfig) -> Dispatcher:
    _, _, follow = policies(settings)
    dispatcher = Dispatcher()
    dispatcher.on(UnitReady, reserve.on_unit_ready)  # the head of the waitlist gets it at once
    dispatcher.queue(SwapAllocated, shipping_jobs.BOOK_SWAP, lambda e: {"swap_id": e.swap_id})
    dispatcher.on(SwapCancelled, refunds.on_swap_cancelled)
    # The broken unit is expected back, and followed by the courier.
    dispatcher.on(SwapBooked, partial(returns.on_swap_booked, window=settings.return_due_business_days))
    dispatcher.on(ShipmentStatusChanged, returns.on_shipment_status_changed)
    # Delivered: "is it working?" is asked the next business day.
    dispatcher.on(ShipmentStatusChanged, partial(followup.on_shipment_status_changed, policy=follow))
    notify_handlers.wire(dispatcher, NotifyConfig.from_settings(settings))  # what people are told
    webhooks_out.wire(dispatcher)  # what the endpoints registered are sent
    ticket_notes.wire(dispatcher, tickets)  # what the ticket says
    return dispatcher


def bootstrap(settings: Settings, *, carrier: Carrier | None = None, engine: Engine | None = None,
              notifier: Notifier | None = None, **session_options) -> Service:
    if settings.clock_file:
        clock.set_clock(clock.FileClock(settings.clock_file))
    engine = engine or make_engine(settings.database_url, pool_size=settings.db_pool_size,
                                   pool_overflow=settings.db_pool_overflow,
                                   pool_recycle=settings.db_pool_recycle_seconds)
    notifier = notifier or make_notifier(email_url=settings.notify_email_url, sms_url=settings.notify_sms_url,
                                         support_url=settings.notify_support_url)
    tickets = ticket_config(settings)
    reference = ReferenceCache(settings.reference_cache_seconds)
    factory = make_session_factory(engine, info={DISPATCHER: build_dispatcher(settings, tickets), REFERENCE: reference},
                                   **session_options)
    writes.install(factory)  # rows nothing reads back at once are written together
    watch_reference(factory, reference)
    keyring = Keyring(settings.secret_key, factory)
    return Service(
        settings=settings,
        engine=engine,
        session_factory=factory,
        carrier=carrier or make_carrier(settings),
        notifier=notifier,
        keyring=keyring,
        kinds=all_kinds(settings, notifier=notifier, keyring=keyring, tickets=tickets),
    )
