"""The periodic sweeps, as outbox kinds: each runs once per slot across all processes (see
`kinds.PERIODIC`) and claims the rows it works on, so an overlap does no work twice."""

from sqlalchemy.orm import Session, sessionmaker

from app import clock, outbox
from app.care import escalation, followup
from app.care.followup import FollowUpPolicy
from app.care.lingering import Thresholds
from app.db import unit_of_work
from app.inventory import claims, stock
from app.notify import daily
from app.notify.config import NotifyConfig
from app.outbox import Kind, RetryPolicy
from app.settings import Settings
from app.shipping import shippo_webhooks
from app.swaps import idempotency
from app.swaps.reserve import serve_waitlist
from app.warehouse import chasing
from app.warehouse.chasing import ChasePolicy
from app.warehouse.returns import overdue_and_lost

SWEEP_WAITLIST = "sweep_waitlist"
SWEEP_RETURNS = "sweep_returns"
SWEEP_ESCALATIONS = "sweep_escalations"
SWEEP_FOLLOW_UPS = "sweep_follow_ups"
WAITLIST_UPDATES = "waitlist_updates"
PURGE_EXPIRED = "purge_expired"
WATCH_PAR_LEVELS = "watch_par_levels"
SWEEP_WARRANTY_CLAIMS = "sweep_warranty_claims"
ONCE = RetryPolicy(max_attempts=1)  # the next slot's run is the retry
DEFAULT_THRESHOLDS, DEFAULT_CONFIG = Thresholds(), NotifyConfig()


def sweep_waitlist(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as session:
        return serve_waitlist(session)


def sweep_returns(factory: sessionmaker[Session], policy: ChasePolicy = chasing.DEFAULT) -> dict[str, int]:
    """Overdue returns get flagged and chased; returns delivered but never scanned become lost."""
    with unit_of_work(factory) as session:
        counts = overdue_and_lost(session, today=clock.now().date())
    with unit_of_work(factory) as session:
        return {**counts, **chasing.sweep(session, policy)}


def sweep_escalations(factory: sessionmaker[Session], thresholds: Thresholds = DEFAULT_THRESHOLDS) -> int:
    with unit_of_work(factory) as session:
        return escalation.sweep(session, thresholds)


def sweep_follow_ups(factory: sessionmaker[Session], policy: FollowUpPolicy = followup.DEFAULT) -> dict[str, int]:
    with unit_of_work(factory) as session:
        return followup.sweep(session, policy)


def waitlist_updates(factory: sessionmaker[Session], config: NotifyConfig = DEFAULT_CONFIG) -> int:
    with unit_of_work(factory) as session:
        return daily.waitlist_updates(session, config)


def watch_par_levels(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as session:
        return stock.watch_par_levels(session)


def sweep_warranty_claims(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as session:
        return claims.escalate_overdue(session, today=clock.now().date())


def purge_expired(factory: sessionmaker[Session]) -> int:
    """Stored idempotent answers past 48 h, webhook receipts past 30 days, done jobs past a week."""
    with unit_of_work(factory) as session:
        return (idempotency.purge_expired(session) + shippo_webhooks.purge_expired(session)
                + outbox.purge_done(session))


def policies(settings: Settings) -> tuple[ChasePolicy, Thresholds, FollowUpPolicy]:
    return (
        ChasePolicy(reminder_days=tuple(settings.return_reminder_days),
                    escalate_days=settings.return_escalate_business_days,
                    unreturned_days=settings.return_unreturned_business_days),
        Thresholds(backordered_business_days=settings.escalate_backordered_business_days,
                   silent_in_transit_hours=settings.escalate_silent_in_transit_hours,
                   exception_business_hours=settings.escalate_exception_business_hours),
        FollowUpPolicy(hour=settings.followup_hour, wait_business_days=settings.followup_wait_business_days),
    )


def kinds(settings: Settings, config: NotifyConfig) -> dict[str, Kind]:
    chase, thresholds, follow = policies(settings)
    return {
        SWEEP_WAITLIST: Kind(lambda ctx: sweep_waitlist(ctx.factory), "Serving the waitlist", ONCE),
        SWEEP_RETURNS: Kind(lambda ctx: sweep_returns(ctx.factory, chase), "Chasing overdue returns", ONCE),
        SWEEP_ESCALATIONS: Kind(lambda ctx: sweep_escalations(ctx.factory, thresholds), "Escalating lingering swaps",
                                ONCE),
        SWEEP_FOLLOW_UPS: Kind(lambda ctx: sweep_follow_ups(ctx.factory, follow), "Following up deliveries", ONCE),
        WAITLIST_UPDATES: Kind(lambda ctx: waitlist_updates(ctx.factory, config), "Updating the waitlist", ONCE),
        PURGE_EXPIRED: Kind(lambda ctx: purge_expired(ctx.factory), "Purging expired records", ONCE),
        WATCH_PAR_LEVELS: Kind(lambda ctx: watch_par_levels(ctx.factory), "Watching par levels", ONCE),
        SWEEP_WARRANTY_CLAIMS: Kind(lambda ctx: sweep_warranty_claims(ctx.factory), "Chasing overdue warranty claims",
                                    ONCE),
    }
