"""The rules behind keeping people in the loop, as plain values: quiet hours, when a lingering swap
is escalated, how a return is chased, the waitlist with priorities, and what "working" means."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.care.followup import is_working
from app.care.lingering import SwapFacts, Thresholds, lingering
from app.notify.messages import MESSAGES, release_time
from app.swaps.allocation import Need, WaitingSwap, waitlist_order
from app.warehouse.chasing import ChasePolicy, chase_plan, due_actions

OPENS, CLOSES = time(8), time(20)
LONDON, NEW_YORK = "Europe/London", "America/New_York"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("at", "zone", "expected"), [
    (utc(2026, 11, 24, 9, 0), LONDON, utc(2026, 11, 24, 9, 0)),  # within working hours: at once
    (utc(2026, 11, 24, 6, 30), LONDON, utc(2026, 11, 24, 8, 0)),  # early: held to 08:00 the same day
    (utc(2026, 11, 24, 20, 0), LONDON, utc(2026, 11, 25, 8, 0)),  # closing time: the next morning
    (utc(2026, 11, 24, 23, 59), LONDON, utc(2026, 11, 25, 8, 0)),
    (utc(2026, 11, 24, 12, 0), NEW_YORK, utc(2026, 11, 24, 13, 0)),  # 07:00 in New York → 08:00 EST = 13:00 UTC
    (utc(2026, 3, 29, 0, 30), LONDON, utc(2026, 3, 29, 7, 0)),  # the night clocks go forward: 08:00 BST
])
def test_quiet_hours_hold_a_message_to_the_next_local_opening(at, zone, expected):
    assert release_time(at, zone, OPENS, CLOSES) == expected


def test_only_delivery_day_news_ignores_working_hours():
    assert {k for k, m in MESSAGES.items() if m.delivery_day} == {"out_for_delivery", "delivered",
                                                                  "delivery_exception"}


T = Thresholds(backordered_business_days=1, silent_in_transit_hours=48, exception_business_hours=4)
MONDAY_10_LONDON = utc(2026, 11, 23, 10, 0)


def facts(**over) -> SwapFacts:
    base = {"status": "backordered", "timezone": LONDON, "country": "GB"}
    return SwapFacts(**{**base, **over})


def rules(f: SwapFacts, now: datetime) -> list[str]:
    return [rule for rule, _ in lingering(f, now, T)]


def test_a_backorder_is_escalated_after_one_business_day_not_before():
    f = facts(waiting_since=MONDAY_10_LONDON)
    assert rules(f, MONDAY_10_LONDON + timedelta(hours=23, minutes=59)) == []
    assert rules(f, MONDAY_10_LONDON + timedelta(days=1)) == ["backordered_too_long"]
    friday = facts(waiting_since=utc(2026, 11, 27, 10, 0))  # Friday: the next business day is Monday
    assert rules(friday, utc(2026, 11, 29, 23, 0)) == []
    assert rules(friday, utc(2026, 11, 30, 10, 0)) == ["backordered_too_long"]


def test_a_unit_not_packed_by_the_cutoff_is_escalated():
    cutoff = utc(2026, 11, 24, 16, 0)
    f = facts(status="allocated", cutoff_at=cutoff, unit_packed=False)
    assert rules(f, cutoff) == [] and rules(f, cutoff + timedelta(seconds=1)) == ["not_packed_by_cutoff"]
    assert rules(facts(status="allocated", cutoff_at=cutoff, unit_packed=True), cutoff + timedelta(hours=1)) == []


def test_a_label_the_courier_never_scanned_is_escalated_the_evening_after_the_ship_day():
    f = facts(status="label_booked", ship_date=date(2026, 11, 24), depot_timezone=LONDON, unit_packed=True)
    assert rules(f, utc(2026, 11, 25, 17, 59)) == []
    assert rules(f, utc(2026, 11, 25, 18, 1)) == ["no_carrier_scan"]
    scanned = facts(status="label_booked", ship_date=date(2026, 11, 24), depot_timezone=LONDON, unit_packed=True,
                    scanned_by_carrier=True)
    assert rules(scanned, utc(2026, 11, 26, 12, 0)) == []


def test_silence_in_transit_is_escalated_after_48_hours():
    last = utc(2026, 11, 24, 12, 0)
    f = facts(status="shipped", last_tracking_at=last)
    assert rules(f, last + timedelta(hours=48)) == []
    assert rules(f, last + timedelta(hours=48, minutes=1)) == ["silent_in_transit"]


def test_an_exception_is_escalated_after_four_business_hours():
    since = utc(2026, 11, 27, 15, 0)  # Friday 15:00 London: two business hours left that day
    f = facts(status="exception", exception_since=since)
    assert rules(f, utc(2026, 11, 30, 10, 59)) == []  # Monday 09:00–10:59: 3h59 in all
    assert rules(f, utc(2026, 11, 30, 11, 1)) == ["exception_open"]


def test_the_chase_plan_counts_business_days_from_the_due_date():
    plan = chase_plan(date(2026, 12, 9), "GB", ChasePolicy(reminder_days=(0, 3, 6), escalate_days=9,
                                                           unreturned_days=15))
    assert plan == [(1, date(2026, 12, 9), "remind"), (2, date(2026, 12, 14), "remind"),
                    (3, date(2026, 12, 17), "remind"), (4, date(2026, 12, 22), "escalate"),
                    (5, date(2027, 1, 4), "unreturned")]  # Christmas, Boxing Day and New Year skipped
    assert due_actions(plan, 0, date(2026, 12, 8)) == []
    assert due_actions(plan, 0, date(2026, 12, 9)) == [(1, "remind")]
    assert due_actions(plan, 1, date(2026, 12, 10)) == []
    # After an outage: one reminder (the latest), not three, and the escalation.
    assert due_actions(plan, 0, date(2026, 12, 23)) == [(3, "remind"), (4, "escalate")]
    assert due_actions(plan, 4, date(2027, 1, 4)) == [(5, "unreturned")]


NEED = Need(model_id=1)
T0 = utc(2026, 11, 20, 9, 0)


def waiting(swap_id, hours_waiting, needed_by=None, priority=0):
    return WaitingSwap(swap_id=swap_id, need=NEED, waiting_since=T0 - timedelta(hours=hours_waiting),
                       needed_by=needed_by, priority=priority)


def test_priority_orders_the_waitlist_only_among_the_same_need_by_date():
    line = [
        waiting(1, hours_waiting=50),  # no deadline, longest wait
        waiting(2, hours_waiting=1, priority=3),  # no deadline, escalated
        waiting(3, hours_waiting=2, needed_by=date(2026, 11, 26)),
        waiting(4, hours_waiting=1, needed_by=date(2026, 11, 26), priority=1),
        waiting(5, hours_waiting=5, needed_by=date(2026, 11, 25)),  # earliest deadline: first, priority or not
    ]
    assert [w.swap_id for w in waitlist_order(line)] == [5, 4, 3, 2, 1]


@pytest.mark.parametrize(("answer", "score", "working"), [
    ("yes", None, True), ("yes", 5, True), ("yes", 3, True), ("yes", 2, False), ("yes", 1, False),
    ("no", None, False), ("no", 5, False),
])
def test_a_no_or_a_low_score_means_not_working(answer, score, working):
    assert is_working(answer, score) is working
