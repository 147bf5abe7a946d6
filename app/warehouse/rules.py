"""Reconciliation rules as plain functions: what a return's outcome is, whether a unit may be
packed, and whether a unit's ledger tells a continuous story."""

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

FRESH_FOR = timedelta(days=14)  # tested/charged within this long before packing


def return_outcomes(
    *, expected_code: str | None, expected_unit_id: int | None, received_code: str, received_unit_id: int | None,
    expected_items: list[str], items_present: list[str], damaged: bool,
) -> list[str]:
    """Everything wrong with a received return, or ['matched']."""
    outcomes = []
    if expected_unit_id is not None:
        if received_unit_id != expected_unit_id:
            outcomes.append("wrong_unit")
    elif expected_code is not None and received_code != expected_code:
        outcomes.append("wrong_unit")
    missing = set(expected_items) - set(items_present) - {"device"}
    if missing:
        outcomes.append("missing_items")
    if damaged:
        outcomes.append("damaged")
    return outcomes or ["matched"]


@dataclass(frozen=True)
class PackCheck:
    is_stale: bool
    current_version: str | None
    last_tested_at: datetime | None
    last_charged_at: datetime | None


def pack_problems(unit: PackCheck, now: datetime) -> list[str]:
    """Why a reserved unit must not go in the box yet (empty: pack it)."""
    problems = []
    if unit.is_stale:
        problems.append(f"re-image it to version {unit.current_version} first")
    if unit.last_tested_at is None or now - unit.last_tested_at > FRESH_FOR:
        problems.append("test it first (not tested in the last 14 days)")
    if unit.last_charged_at is None or now - unit.last_charged_at > FRESH_FOR:
        problems.append("charge it first (not charged in the last 14 days)")
    return problems


@dataclass(frozen=True)
class LedgerRow:
    id: int
    from_state: str | None
    to_state: str
    from_depot_id: int | None
    depot_id: int


def ledger_breaches(rows: list[LedgerRow], *, state: str, depot_id: int) -> list[str]:
    """A unit's ledger must start from nothing, each row must pick up where the last left off,
    and the last row must say where the unit is now."""
    if not rows:
        return ["no ledger rows"]
    breaches = []
    if rows[0].from_state is not None:
        breaches.append(f"first row {rows[0].id} starts from '{rows[0].from_state}', not from nothing")
    for prev, row in itertools.pairwise(rows):
        if row.from_state != prev.to_state:
            breaches.append(f"row {row.id} starts from '{row.from_state}' but row {prev.id} left it '{prev.to_state}'")
        if row.from_depot_id != prev.depot_id:
            breaches.append(f"row {row.id} moves from depot {row.from_depot_id} but row {prev.id} left it at "
                            f"depot {prev.depot_id}")
    if rows[-1].to_state != state:
        breaches.append(f"unit is '{state}' but its ledger ends at '{rows[-1].to_state}'")
    if rows[-1].depot_id != depot_id:
        breaches.append(f"unit is at depot {depot_id} but its ledger ends at depot {rows[-1].depot_id}")
    return breaches
