"""The ledger-continuity rule on its own: a continuous chain passes; each kind of break is named."""

from datetime import date

import pytest

from app.errors import Unprocessable
from app.warehouse.reconciliation import resolve_period
from app.warehouse.rules import LedgerRow, ledger_breaches

LON, NYC = 1, 2


def chain(*steps: tuple[str, int]) -> list[LedgerRow]:
    """Rows walking through (state, depot) steps, each starting where the last one left off."""
    rows, prev_state, prev_depot = [], None, None
    for i, (state, depot) in enumerate(steps, start=1):
        rows.append(LedgerRow(id=i, from_state=prev_state, to_state=state, from_depot_id=prev_depot, depot_id=depot))
        prev_state, prev_depot = state, depot
    return rows


LIFE = chain(("receiving", LON), ("triage", LON), ("refurbishing", LON), ("ready", LON), ("ready", NYC),
             ("reserved", NYC))


def test_a_continuous_chain_ending_where_the_unit_is_passes():
    assert ledger_breaches(LIFE, state="reserved", depot_id=NYC) == []
    assert ledger_breaches(chain(("ready", LON)), state="ready", depot_id=LON) == []


def test_no_rows_at_all_is_a_breach():
    assert ledger_breaches([], state="ready", depot_id=LON) == ["no ledger rows"]


def test_a_chain_not_starting_from_nothing_is_caught():
    rows = [LedgerRow(1, "triage", "ready", LON, LON)]
    assert ledger_breaches(rows, state="ready", depot_id=LON) == [
        "first row 1 starts from 'triage', not from nothing"]


def test_a_gap_in_the_states_is_caught():
    rows = [*LIFE[:3], LedgerRow(4, "triage", "ready", LON, LON)]  # row 3 left it refurbishing
    assert ledger_breaches(rows, state="ready", depot_id=LON) == [
        "row 4 starts from 'triage' but row 3 left it 'refurbishing'"]


def test_a_jump_between_depots_is_caught():
    rows = [*LIFE[:4], LedgerRow(5, "ready", "reserved", NYC, NYC)]  # row 4 left it at LON
    assert ledger_breaches(rows, state="reserved", depot_id=NYC) == [
        f"row 5 moves from depot {NYC} but row 4 left it at depot {LON}"]


def test_a_unit_whose_state_changed_without_a_row_is_caught():
    assert ledger_breaches(LIFE, state="ready", depot_id=NYC) == ["unit is 'ready' but its ledger ends at 'reserved'"]


def test_a_unit_moved_without_a_row_is_caught():
    assert ledger_breaches(LIFE, state="reserved", depot_id=LON) == [
        f"unit is at depot {LON} but its ledger ends at depot {NYC}"]


def test_several_breaks_are_all_reported():
    rows = [LedgerRow(1, "ready", "reserved", None, LON), LedgerRow(2, "packed", "in_transit", NYC, LON)]
    breaches = ledger_breaches(rows, state="deployed", depot_id=NYC)
    assert len(breaches) == 5


def test_the_report_period_defaults_to_the_last_30_days_and_refuses_nonsense():
    today = date(2026, 11, 24)
    assert resolve_period(None, None, today) == (date(2026, 10, 25), today)
    assert resolve_period(date(2026, 11, 1), None, today) == (date(2026, 11, 1), today)
    with pytest.raises(Unprocessable, match="after"):
        resolve_period(date(2026, 11, 2), date(2026, 11, 1), today)
    with pytest.raises(Unprocessable, match="shorter"):
        resolve_period(date(2024, 1, 1), None, today)
