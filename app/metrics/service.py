"""Service metrics over a window of swaps: the queries behind `schemas.ServiceMetrics`, whose field
descriptions are the definitions (read them first).

Everything is counted, averaged and ranked in SQL, by the same queries on PostgreSQL and SQLite; two
expressions are spelled per dialect:

- Durations are differences of epoch seconds, each instant truncated to the second
  (`FLOOR(EXTRACT(EPOCH …))` / `strftime('%s', …)`), so both databases get the same whole numbers.
- median / p90 / p99 are nearest rank, picked with window functions: of n durations ranked 1..n ascending
  (ROW_NUMBER), the p-th percentile is the one whose rank r satisfies (r − 1)·100 < p·n ≤ r·100, i.e.
  r = ⌈p·n/100⌉. Both databases have ROW_NUMBER and COUNT(*) OVER (); neither interpolates.
- The delivery day is the worker's local date: `timezone(zone, instant)` on PostgreSQL; SQLite knows
  no timezones, so the same IANA rules (Python's zoneinfo) are given to it as the SQL function
  `local_date(instant, zone)` on the connection, before the statements that use it.

One figure is decided in Python over the rows of one query: `next_business_day`, because whether a
request beat its depot's cut-off on a business day, and which day is the next business day, are the
courier calendar's rules (`app.inventory.calendar`, holidays included), used here as allocation uses
them rather than written again in SQL."""

import math
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Date, Integer, and_, case, cast, exists, extract, func, select
from sqlalchemy.orm import Session

from app import clock
from app.errors import Unprocessable
from app.inventory import repository as inventory
from app.inventory.calendar import DepotCalendar, promised_delivery, ship_date
from app.metrics.schemas import (
    Backorders,
    Durations,
    FollowUpStats,
    ServiceMetrics,
    Share,
    SwapCounts,
    TimeToWorking,
)
from app.models import (
    Depot,
    Discrepancy,
    DiscrepancyStatus,
    Escalation,
    ExpectedReturn,
    FollowUp,
    ReturnStatus,
    Shipment,
    SwapEvent,
    SwapRequest,
    TrackingEventRecord,
)
from app.shipping.states import Direction
from app.swaps.reserve import transit_days
from app.swaps.states import SwapStatus

DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=366)
MEDIAN, P90, P99 = 50, 90, 99


# ---- the window ----------------------------------------------------------------------------------


def resolve_window(since: datetime | None, until: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """[since, until) in UTC; by default the 30 days up to `now`, or up to `until`, or from `since` to now."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise Unprocessable(f"'{name}' needs a timezone offset (e.g. 2026-11-24T00:00:00Z).", field=name)
    try:
        until = (until or now).astimezone(UTC)
        since = since.astimezone(UTC) if since is not None else until - DEFAULT_WINDOW
    except OverflowError:
        raise Unprocessable("'since' and 'until' must lie between the years 1 and 9999 (in UTC).",
                            field="since") from None
    if since >= until:
        raise Unprocessable(f"'since' ({since.isoformat()}) must be before 'until' ({until.isoformat()}).",
                            field="since")
    if until - since > MAX_WINDOW:
        raise Unprocessable(f"From 'since' to 'until' is longer than {MAX_WINDOW.days} days; ask for a shorter "
                            "window.", field="since")
    return since, until


# ---- portable SQL pieces ---------------------------------------------------------------------------


def _epoch(dialect: str, instant):
    """Whole seconds since 1970 of a UTC timestamp column (truncated, never rounded)."""
    if dialect == "postgresql":
        return cast(func.floor(extract("epoch", instant)), BigInteger)
    return cast(func.strftime("%s", instant), Integer)


def _local_date(dialect: str, instant, zone):
    """The calendar date of `instant` in the IANA timezone `zone` (a column)."""
    if dialect == "postgresql":
        return cast(func.timezone(zone, instant), Date)
    return func.local_date(instant, zone, type_=Date)


def _sqlite_local_date(stored: str | None, zone: str | None) -> str | None:
    if stored is None or zone is None:
        return None
    instant = datetime.fromisoformat(stored).replace(tzinfo=UTC)  # stored naive, in UTC (models.base)
    return instant.astimezone(ZoneInfo(zone)).date().isoformat()


def _prepare(session: Session) -> str:
    """The dialect's name; on SQLite, `local_date()` is made known to this transaction's connection."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.connection().connection.driver_connection.create_function(
            "local_date", 2, _sqlite_local_date, deterministic=True)
    return dialect


def _hours(seconds) -> float | None:
    return None if seconds is None else round(int(seconds) / 3600, 2)


def _ratio(met: int, counted: int, places: int = 4) -> float | None:
    return round(met / counted, places) if counted else None


class Measured(NamedTuple):
    count: int
    median: float | None
    p90: float | None
    p99: float | None
    longest: float | None


def _durations(session: Session, seconds) -> Measured:
    """Count, median, p90, p99 and the longest, in hours, of the one-column select `seconds`, nearest
    rank, in SQL."""
    values = seconds.subquery("durations")
    value = values.c[0]
    ranked = select(value.label("seconds"), func.row_number().over(order_by=value).label("rank"),
                    func.count().over().label("n")).subquery("ranked")

    def percentile(p: int):
        at_rank = and_(ranked.c.rank * 100 >= ranked.c.n * p, (ranked.c.rank - 1) * 100 < ranked.c.n * p)
        return func.max(case((at_rank, ranked.c.seconds)))

    count, median, p90, p99, longest = session.execute(
        select(func.count(), percentile(MEDIAN), percentile(P90), percentile(P99), func.max(ranked.c.seconds))
        .select_from(ranked)).one()
    return Measured(count, _hours(median), _hours(p90), _hours(p99), _hours(longest))


def _as_durations(measured: Measured) -> Durations:
    return Durations(count=measured.count, median_hours=measured.median, p90_hours=measured.p90,
                     p99_hours=measured.p99)


# ---- the figure decided in Python ------------------------------------------------------------------


def next_business_day_share(rows, now: datetime) -> Share:
    """`rows`: the cohort's swaps with `created_at`, `country` and `worker_timezone`, their serving depot's
    `depot_timezone`, `cutoff_local` and `depot_country` (None when never served), and `delivered_on` (the
    delivery day in the worker's timezone, None when not delivered). See `ServiceMetrics.next_business_day`."""
    counted = met = 0
    for row in rows:
        if row.depot_timezone is None:
            continue
        calendar = DepotCalendar(timezone=row.depot_timezone, cutoff_local=row.cutoff_local,
                                 country=row.depot_country)
        if transit_days(calendar, row) != 1:  # a border crossing: promised two business days, not next-day
            continue
        requested_on = row.created_at.astimezone(ZoneInfo(calendar.timezone)).date()
        if ship_date(calendar, row.created_at) != requested_on:  # after the cut-off, or not a business day
            continue
        due: date = promised_delivery(calendar, row.created_at, transit_days=1)
        if row.delivered_on is None and now.astimezone(ZoneInfo(row.worker_timezone)).date() <= due:
            continue  # not delivered, and the day is not over where the worker is: not decided yet
        counted += 1
        met += row.delivered_on is not None and row.delivered_on <= due
    return Share(counted=counted, met=met, share=_ratio(met, counted))


# ---- the report ------------------------------------------------------------------------------------


def service_metrics(session: Session, *, since: datetime | None = None, until: datetime | None = None,
                    depot_id: int | None = None, model_id: int | None = None) -> ServiceMetrics:
    now = clock.now()
    since, until = resolve_window(since, until, now)
    if depot_id is not None:
        inventory.get_depot(session, depot_id)
    if model_id is not None:
        inventory.check_model(session, model_id)
    dialect = _prepare(session)
    epoch = partial(_epoch, dialect)

    requested = [SwapRequest.created_at >= since, SwapRequest.created_at < until]
    if depot_id is not None:
        requested.append(SwapRequest.depot_id == depot_id)
    if model_id is not None:
        requested.append(SwapRequest.model_id == model_id)
    cohort = [*requested, SwapRequest.status != SwapStatus.CANCELLED]
    cohort_ids = select(SwapRequest.id).where(*cohort)

    # The first applied DELIVERED event of each outbound shipment (DELIVERED is final: one applies).
    event_at = func.coalesce(TrackingEventRecord.status_date, TrackingEventRecord.received_at)
    delivered = (select(Shipment.swap_id.label("swap_id"), func.min(event_at).label("at"))
                 .join(TrackingEventRecord, TrackingEventRecord.shipment_id == Shipment.id)
                 .where(Shipment.direction == Direction.OUTBOUND, TrackingEventRecord.status == "DELIVERED",
                        TrackingEventRecord.applied.is_(True), Shipment.swap_id.in_(cohort_ids))
                 .group_by(Shipment.swap_id).subquery("delivered"))
    # The cohort's delivered swaps (`delivered` holds only the cohort's), to add columns to.
    delivered_swaps = select().select_from(SwapRequest).join(delivered, delivered.c.swap_id == SwapRequest.id)
    delivery_day = _local_date(dialect, delivered.c.at, SwapRequest.worker_timezone)

    by_status = dict.fromkeys((s.value for s in SwapStatus), 0)
    by_status.update(session.execute(select(SwapRequest.status, func.count()).where(*requested)
                                     .group_by(SwapRequest.status)).tuples().all())

    on_time = func.coalesce(func.sum(case((delivery_day <= SwapRequest.promised_date, 1), else_=0)), 0)
    counted, met = session.execute(delivered_swaps.add_columns(func.count(), on_time)).one()

    rows = session.execute(
        select(SwapRequest.created_at, SwapRequest.country, SwapRequest.worker_timezone,
               Depot.timezone.label("depot_timezone"), Depot.cutoff_local, Depot.country.label("depot_country"),
               delivery_day.label("delivered_on"))
        .outerjoin(Depot, Depot.id == SwapRequest.depot_id)
        .outerjoin(delivered, delivered.c.swap_id == SwapRequest.id)
        .where(*cohort)).all()

    requested_at, delivered_at = epoch(SwapRequest.created_at), epoch(delivered.c.at)
    to_delivered = _durations(session, delivered_swaps.add_columns(delivered_at - requested_at))
    to_working = _durations(session, select(epoch(FollowUp.answered_at) - requested_at).select_from(FollowUp)
                            .join(SwapRequest, SwapRequest.id == FollowUp.swap_id)
                            .where(*cohort, FollowUp.outcome == "working", FollowUp.answered_at.is_not(None)))
    return_lag = _durations(session, delivered_swaps.add_columns(epoch(ExpectedReturn.received_at) - delivered_at)
                            .join(ExpectedReturn, ExpectedReturn.swap_id == SwapRequest.id)
                            .where(ExpectedReturn.received_at.is_not(None)))

    was_backordered = exists().where(SwapEvent.swap_id == SwapRequest.id, SwapEvent.kind == SwapStatus.BACKORDERED)
    ever_backordered = session.scalar(select(func.count()).select_from(SwapRequest).where(*cohort, was_backordered))
    waiting = _durations(session, select(math.floor(now.timestamp()) - epoch(SwapRequest.waiting_since))
                         .where(*cohort, SwapRequest.status == SwapStatus.BACKORDERED,
                                SwapRequest.waiting_since.is_not(None)))

    open_discrepancies = session.scalar(
        select(func.count()).select_from(Discrepancy)
        .join(ExpectedReturn, ExpectedReturn.id == Discrepancy.expected_return_id)
        .where(Discrepancy.status == DiscrepancyStatus.OPEN, ExpectedReturn.swap_id.in_(cohort_ids)))
    unreturned = session.scalar(select(func.count()).select_from(ExpectedReturn).where(
        ExpectedReturn.status == ReturnStatus.UNRETURNED, ExpectedReturn.swap_id.in_(cohort_ids)))

    asked, answered, average = session.execute(
        select(func.count(), func.count(FollowUp.answer), func.avg(FollowUp.score))
        .where(FollowUp.swap_id.in_(cohort_ids), (FollowUp.due_at <= now) | FollowUp.answer.is_not(None))).one()

    escalations = session.execute(
        select(Escalation.rule, func.count()).where(Escalation.swap_id.in_(cohort_ids))
        .group_by(Escalation.rule).order_by(Escalation.rule)).tuples().all()

    return ServiceMetrics(
        since=since, until=until, depot_id=depot_id, model_id=model_id, as_of=now,
        swaps=SwapCounts(requested=sum(by_status.values()), by_status=by_status),
        delivered_by_promised_day=Share(counted=counted, met=met, share=_ratio(met, counted)),
        next_business_day=next_business_day_share(rows, now),
        time_to_working=TimeToWorking(delivered=_as_durations(to_delivered), working=_as_durations(to_working)),
        backorders=Backorders(ever=ever_backordered, waiting=waiting.count, waiting_median_hours=waiting.median,
                              waiting_max_hours=waiting.longest),
        return_lag=_as_durations(return_lag),
        open_discrepancies=open_discrepancies,
        unreturned=unreturned,
        follow_up=FollowUpStats(asked=asked, answered=answered, answer_rate=_ratio(answered, asked),
                                average_score=None if average is None else round(float(average), 2)),
        escalations_by_rule=dict(escalations),
    )
