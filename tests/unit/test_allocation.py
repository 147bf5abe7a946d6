"""Allocation rules as plain values (cosmicpython style): microseconds, no database."""

import itertools
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.swaps.allocation import (
    Candidate,
    Need,
    WaitingSwap,
    fits,
    next_in_line,
    rank_candidates,
    waitlist_order,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)
TOMORROW, LATER = date(2026, 11, 25), date(2026, 11, 26)
NEED = Need(model_id=1, substitute_ids=frozenset({2}))


def unit(uid, model=1, depot=10, stale=False, days_old=0, category="laptop", profile=None):
    return Candidate(unit_id=uid, model_id=model, category=category, depot_id=depot, profile_id=profile,
                     is_stale=stale, configured_at=T0 - timedelta(days=days_old))


PROMISED = {10: TOMORROW, 20: LATER}


def best(units, need=NEED, promised=PROMISED):
    ranked = rank_candidates(need, units, promised)
    return ranked[0].unit_id if ranked else None


def test_prefers_requested_model_over_substitute():
    assert best([unit(1, model=2), unit(2, model=1)]) == 2


def test_substitute_before_stale_requested_model():
    assert best([unit(1, model=1, stale=True), unit(2, model=2)]) == 2


def test_stale_only_when_nothing_else():
    assert best([unit(1, stale=True)]) == 1


def test_depot_that_delivers_next_day_wins_over_older_stock():
    assert best([unit(1, depot=20, days_old=30), unit(2, depot=10, days_old=1)]) == 2


def test_fifo_oldest_configured_within_a_depot():
    assert best([unit(1, days_old=1), unit(2, days_old=9), unit(3, days_old=5)]) == 2


def test_units_that_do_not_fit_are_never_offered():
    assert best([unit(1, model=3)]) is None
    assert best([unit(1, profile=7)], need=Need(model_id=1, profile_id=8)) is None
    assert fits(Need(category="phone", profile_id=5), unit(1, category="phone", profile=5))
    assert not fits(Need(category="phone", profile_id=5), unit(1, category="laptop", profile=5))


units_st = st.lists(
    st.builds(unit, uid=st.integers(1, 10_000), model=st.sampled_from([1, 2, 3]), depot=st.sampled_from([10, 20]),
              stale=st.booleans(), days_old=st.integers(0, 60)),
    max_size=30, unique_by=lambda u: u.unit_id,
)


@given(units_st, st.randoms())
def test_ranking_is_independent_of_input_order(units, rnd):
    shuffled = list(units)
    rnd.shuffle(shuffled)
    assert rank_candidates(NEED, units, PROMISED) == rank_candidates(NEED, shuffled, PROMISED)


@given(units_st)
def test_ranking_offers_every_fitting_unit_once_and_nothing_else(units):
    """The ranking is the candidates that fit, each once. (That a reserved unit is never offered again
    is the database's job: only `ready` units are candidates, locked with SKIP LOCKED; the concurrency
    tests prove it with real requests.)"""
    ranked = [u.unit_id for u in rank_candidates(NEED, units, PROMISED)]
    assert len(ranked) == len(set(ranked))
    assert set(ranked) == {u.unit_id for u in units if fits(NEED, u)}


@given(units_st)
def test_never_stale_while_a_current_unit_fits(units):
    ranked = rank_candidates(NEED, units, PROMISED)
    if any(not u.is_stale for u in ranked):
        assert not ranked[0].is_stale


# ---- waitlist ---------------------------------------------------------------------------------


def waiting(sid, minutes, needed_by=None, need=NEED):
    return WaitingSwap(swap_id=sid, need=need, waiting_since=T0 + timedelta(minutes=minutes), needed_by=needed_by)


def test_earliest_deadline_then_longest_wait():
    order = waitlist_order([waiting(1, 0), waiting(2, 5, needed_by=LATER), waiting(3, 10, needed_by=TOMORROW),
                            waiting(4, -5)])
    assert [w.swap_id for w in order] == [3, 2, 4, 1]


def test_unit_goes_to_first_waiting_swap_it_fits():
    phone_need = Need(category="phone")
    line = next_in_line([waiting(1, 0, need=phone_need), waiting(2, 5), waiting(3, 1)], unit(9))
    assert [w.swap_id for w in line] == [3, 2]


waiting_st = st.lists(
    st.builds(waiting, sid=st.integers(1, 10_000), minutes=st.integers(0, 5),
              needed_by=st.one_of(st.none(), st.sampled_from([TOMORROW, LATER]))),
    max_size=25, unique_by=lambda w: w.swap_id,
)


@given(waiting_st, st.randoms())
def test_waitlist_order_never_depends_on_insertion_order(items, rnd):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert waitlist_order(items) == waitlist_order(shuffled)


@given(waiting_st)
def test_waitlist_is_fair(items):
    order = waitlist_order(items)
    for a, b in itertools.pairwise(order):
        a_deadline, b_deadline = a.needed_by or date.max, b.needed_by or date.max
        assert a_deadline < b_deadline or (a_deadline == b_deadline and a.waiting_since <= b.waiting_since)


@given(waiting_st, st.randoms())
def test_nothing_but_deadline_and_wait_decides_the_order(items, rnd):
    """What a swap needs (or anything else about it) never moves it up the line: only its deadline,
    then how long it has waited (then its id)."""
    needs = [NEED, Need(category="phone"), Need(model_id=2), Need(model_id=9, substitute_ids=frozenset({1}))]
    disguised = [WaitingSwap(swap_id=w.swap_id, need=rnd.choice(needs), waiting_since=w.waiting_since,
                             needed_by=w.needed_by) for w in items]
    assert [w.swap_id for w in waitlist_order(disguised)] == [w.swap_id for w in waitlist_order(items)]
    expected = sorted(items, key=lambda w: (w.needed_by or date.max, w.waiting_since, w.swap_id))
    assert [w.swap_id for w in waitlist_order(items)] == [w.swap_id for w in expected]
