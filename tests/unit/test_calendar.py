from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.inventory.calendar import (
    DepotCalendar,
    business_days_between,
    is_business_day,
    promised_delivery,
    ship_date,
)

LON = DepotCalendar("Europe/London", time(16, 0), "GB")
NYC = DepotCalendar("America/New_York", time(17, 0), "US")
BER = DepotCalendar("Europe/Berlin", time(15, 30), "DE")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    "cal,at,ships,arrives",
    [
        (LON, utc(2026, 11, 24, 15, 59), date(2026, 11, 24), date(2026, 11, 25)),  # Tue before cut-off
        (LON, utc(2026, 11, 24, 16, 0), date(2026, 11, 25), date(2026, 11, 26)),  # Tue at cut-off
        (LON, utc(2026, 11, 27, 18, 0), date(2026, 11, 30), date(2026, 12, 1)),  # Fri evening → Mon
        (LON, utc(2026, 11, 28, 10, 0), date(2026, 11, 30), date(2026, 12, 1)),  # Saturday
        # 20:00 UTC Tuesday is 15:00 in New York: still before its 17:00 cut-off.
        (NYC, utc(2026, 11, 24, 20, 0), date(2026, 11, 24), date(2026, 11, 25)),
        # Wednesday before Thanksgiving after cut-off: Thursday is a US holiday → ships Friday, arrives Monday.
        (NYC, utc(2026, 11, 25, 23, 0), date(2026, 11, 27), date(2026, 11, 30)),
        # 15:00 UTC Tuesday is 16:00 in Berlin: past its 15:30 cut-off.
        (BER, utc(2026, 11, 24, 15, 0), date(2026, 11, 25), date(2026, 11, 26)),
        # Christmas Eve afternoon in London: 25 and 26 Dec are holidays, 26th falls on Saturday → 28th observed.
        (LON, utc(2026, 12, 24, 17, 0), date(2026, 12, 29), date(2026, 12, 30)),
        # Late on 23 Dec in Berlin (after cut-off): 24 Dec is a working day in Germany by law.
        (BER, utc(2026, 12, 23, 16, 0), date(2026, 12, 24), date(2026, 12, 28)),
    ],
)
def test_ship_and_promised_dates(cal, at, ships, arrives):
    assert ship_date(cal, at) == ships
    assert promised_delivery(cal, at) == arrives


def test_same_instant_differs_across_depot_timezones():
    at = utc(2026, 11, 24, 16, 30)  # 16:30 London (after), 11:30 New York (before)
    assert promised_delivery(LON, at) == date(2026, 11, 26)
    assert promised_delivery(NYC, at) == date(2026, 11, 25)
    assert ship_date(LON, at) == date(2026, 11, 25) and ship_date(NYC, at) == date(2026, 11, 24)


@pytest.mark.parametrize("start,end,days", [
    (date(2026, 11, 24), date(2026, 11, 25), 1),   # Tue → Wed
    (date(2026, 11, 27), date(2026, 11, 30), 1),   # Fri → Mon: the weekend is not counted
    (date(2026, 11, 24), date(2026, 11, 24), 1),   # same day: a promise is never 0 days
    (date(2026, 12, 24), date(2026, 12, 29), 1),   # Christmas in London: the days off are not counted
    (date(2026, 11, 23), date(2026, 11, 27), 4),
])
def test_business_days_between(start, end, days):
    assert business_days_between(start, end, "GB") == days


@given(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)),
       st.sampled_from([LON, NYC, BER]))
def test_promised_day_is_always_a_later_business_day(at, cal):
    ships = ship_date(cal, at)
    arrives = promised_delivery(cal, at)
    assert is_business_day(ships, cal.country) and is_business_day(arrives, cal.country)
    assert ships >= at.date() - timedelta(days=1)  # never before the request (UTC vs local date)
    assert arrives > ships
    assert (arrives - at.date()).days <= 8  # no real calendar has a longer run of days off
