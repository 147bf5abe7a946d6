"""Every kind of outbox job, with its handler and retry policy, and the periodic ones with how often
they come due."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from app import clock, outbox
from app.db import unit_of_work
from app.integrations.tickets import posting
from app.integrations.tickets.notes import POST as POST_NOTE
from app.integrations.tickets.notes import TicketConfig
from app.integrations.webhooks import delivery
from app.integrations.webhooks.delivery import WebhookConfig
from app.integrations.webhooks.fanout import DELIVER
from app.jobs import planning, sweeps
from app.keyring import Keyring
from app.notify import sending
from app.notify.config import NotifyConfig
from app.notify.notifier import LocalOutbox, Notifier
from app.notify.queue import SEND
from app.notify.render import Templates
from app.outbox import Kind, RetryPolicy
from app.settings import Settings
from app.shipping import jobs as shipping_jobs

# Periodic jobs: one is queued per slot of this length (the dedupe key is the slot), so several
# processes scheduling the same tick make one job between them.
PERIODIC = {
    shipping_jobs.POLL_TRACKING: timedelta(seconds=30),
    sweeps.SWEEP_WAITLIST: timedelta(seconds=60),
    sweeps.SWEEP_RETURNS: timedelta(minutes=15),
    sweeps.SWEEP_ESCALATIONS: timedelta(minutes=5),
    sweeps.SWEEP_FOLLOW_UPS: timedelta(minutes=15),
    sweeps.WAITLIST_UPDATES: timedelta(minutes=30),
    sweeps.PURGE_EXPIRED: timedelta(hours=1),
    sweeps.WATCH_PAR_LEVELS: timedelta(minutes=5),
    sweeps.SWEEP_WARRANTY_CLAIMS: timedelta(hours=1),
}


def all_kinds(settings: Settings | None = None, *, notifier: Notifier | None = None,
              keyring: Keyring | None = None, tickets: TicketConfig | None = None) -> dict[str, Kind]:
    settings = settings or Settings()
    retry = RetryPolicy(base=timedelta(seconds=settings.outbox_retry_seconds))
    config = NotifyConfig.from_settings(settings)
    return {
        **shipping_jobs.kinds(retry=retry, poll_quiet_for=timedelta(seconds=settings.tracking_poll_quiet_seconds),
                              return_depot=settings.return_depot),
        **sweeps.kinds(settings, config),
        SEND: sending.kind(config=config, templates=Templates(settings.notify_templates_dir),
                           notifier=notifier or LocalOutbox()),
        **({} if keyring is None else {DELIVER: delivery.kind(config=WebhookConfig(
            allowed_hosts=settings.webhook_hosts, timeout=settings.webhook_timeout_seconds), keyring=keyring)}),
        POST_NOTE: posting.kind(tickets or TicketConfig()),
        **planning.kinds(),
    }


def slot_of(kind: str, at: datetime) -> tuple[datetime, str]:
    """(the slot's start, its dedupe key) for a periodic job due at `at`."""
    every = PERIODIC[kind].total_seconds()
    start = datetime.fromtimestamp(at.timestamp() // every * every, UTC)
    return start, f"{kind}@{start.isoformat()}"


def schedule_slot(factory: sessionmaker[Session], kind: str) -> None:
    """Queue this slot's `kind` job (a no-op when another process already did)."""
    start, key = slot_of(kind, clock.now())
    with unit_of_work(factory) as session:
        outbox.enqueue(session, kind, {}, due=start, dedupe_key=key)
