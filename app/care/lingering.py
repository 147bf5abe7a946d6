"""When a swap has lingered long enough to be escalated: one rule each, over plain facts.

Escalation raises a swap's priority; it never hands the swap to someone else and never lets it jump
a swap with an earlier need-by date on the waitlist (see `swaps.allocation.waitlist_key`)."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.inventory.calendar import add_business_days, at_local, business_hours_between

EVENING = time(18)


@dataclass(frozen=True)
class Thresholds:
    backordered_business_days: int = 1
    silent_in_transit_hours: int = 48
    exception_business_hours: int = 4


@dataclass(frozen=True)
class SwapFacts:
    status: str
    timezone: str  # the worker's
    country: str  # the worker's
    waiting_since: datetime | None = None
    depot_timezone: str | None = None
    ship_date: date | None = None
    cutoff_at: datetime | None = None  # the depot's cut-off on the ship date
    unit_packed: bool = False
    scanned_by_carrier: bool = False
    last_tracking_at: datetime | None = None
    exception_since: datetime | None = None


RULES = ("backordered_too_long", "not_packed_by_cutoff", "no_carrier_scan", "silent_in_transit", "exception_open")


def lingering(f: SwapFacts, now: datetime, t: Thresholds) -> list[tuple[str, str]]:
    """(rule, reason) for each rule the swap has now crossed."""
    fired = []
    if f.status == "backordered" and f.waiting_since is not None:
        local = f.waiting_since.astimezone(ZoneInfo(f.timezone))
        deadline = at_local(add_business_days(local.date(), t.backordered_business_days, f.country), local.time(),
                            f.timezone)
        if now >= deadline:
            fired.append(("backordered_too_long", (f"on the waitlist for more than {t.backordered_business_days} "
                                                  "business day(s)")))
    if f.status in ("allocated", "label_booked") and not f.unit_packed and f.cutoff_at and now > f.cutoff_at:
        fired.append(("not_packed_by_cutoff", "the unit was not packed by the depot's cut-off on its ship day"))
    if (f.status == "label_booked" and not f.scanned_by_carrier and f.ship_date and f.depot_timezone
            and now > at_local(f.ship_date + timedelta(days=1), EVENING, f.depot_timezone)):
        fired.append(("no_carrier_scan", ("the label was booked but the courier has not scanned the parcel by the "
                                         "evening after its ship day")))
    if (f.status == "shipped" and f.last_tracking_at
            and now - f.last_tracking_at > timedelta(hours=t.silent_in_transit_hours)):
        fired.append(("silent_in_transit", (f"no tracking news for more than {t.silent_in_transit_hours} hours in "
                                           "transit")))
    if (f.status == "exception" and f.exception_since
            and business_hours_between(f.exception_since, now, f.timezone, f.country) > t.exception_business_hours):
        fired.append(("exception_open", (f"an exception open for more than {t.exception_business_hours} business "
                                        "hours")))
    return fired
