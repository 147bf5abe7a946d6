"""The courier calendar: depot cut-offs, weekends and public holidays. Pure functions over values.

A request before the depot's cut-off on a business day ships that day; otherwise it ships on the
next business day. Next-day service delivers one business day after it ships."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays


@dataclass(frozen=True)
class DepotCalendar:
    timezone: str
    cutoff_local: time
    country: str
    serves: frozenset[str] = frozenset()  # the countries it ships to (its own among them), see `regions`

    def ships_to(self, country: str) -> bool:
        return country == self.country or country in self.serves


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> frozenset[date]:
    try:
        return frozenset(holidays.country_holidays(country, years=year).keys())
    except NotImplementedError:  # a country the holidays package does not know: weekends only
        return frozenset()


def is_business_day(day: date, country: str) -> bool:
    return day.weekday() < 5 and day not in _holidays(country, day.year)


def next_business_day(day: date, country: str) -> date:
    day += timedelta(days=1)
    while not is_business_day(day, country):
        day += timedelta(days=1)
    return day


def add_business_days(day: date, n: int, country: str) -> date:
    for _ in range(n):
        day = next_business_day(day, country)
    return day


def ship_date(cal: DepotCalendar, at: datetime) -> date:
    """The day a parcel handed over at `at` leaves the depot."""
    local = at.astimezone(ZoneInfo(cal.timezone))
    today = local.date()
    if is_business_day(today, cal.country) and local.time() < cal.cutoff_local:
        return today
    return next_business_day(today, cal.country)


def promised_delivery(cal: DepotCalendar, at: datetime, transit_days: int = 1) -> date:
    """The delivery date promised for a request made at `at` with `transit_days` business days in transit."""
    return add_business_days(ship_date(cal, at), transit_days, cal.country)


def business_days_between(start: date, end: date, country: str) -> int:
    """Business days from `start` to `end` (at least 1): a next-day promise is 1."""
    n, day = 0, start
    while day < end:
        day = add_business_days(day, 1, country)
        n += 1
    return max(n, 1)


def business_hours_between(start: datetime, end: datetime, timezone: str, country: str,
                           opens: time = time(9), closes: time = time(17)) -> float:
    """Hours of business time (opens–closes local, on business days) from `start` to `end`."""
    zone = ZoneInfo(timezone)
    if end <= start:
        return 0.0
    total, day = 0.0, start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        if is_business_day(day, country):
            open_at = datetime.combine(day, opens, zone)
            close_at = datetime.combine(day, closes, zone)
            lo, hi = max(open_at, start), min(close_at, end)
            if hi > lo:
                total += (hi - lo).total_seconds() / 3600
        day += timedelta(days=1)
    return total


def at_local(day: date, clock_time: time, timezone: str) -> datetime:
    """`clock_time` on `day` in `timezone`, as an aware datetime."""
    return datetime.combine(day, clock_time, ZoneInfo(timezone))
