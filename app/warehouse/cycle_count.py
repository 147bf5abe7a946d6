"""Cycle counts: walk the shelves of one depot scanning every code, then compare with what the
database places there. The count changes no unit: its report is for a human to resolve."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app import clock
from app.errors import Conflict
from app.inventory import repository as inventory
from app.inventory.states import AT_THE_DEPOT
from app.models import CycleCount, Scan, SpareUnit
from app.warehouse import repository

COUNTED = "counted"  # Scan.action of a cycle-count scan


@dataclass
class CountScan:
    scan: Scan
    unit: SpareUnit | None
    duplicate: bool  # the code was already counted: nothing new recorded


def start(session: Session, *, depot_id: int, actor: str) -> CycleCount:
    inventory.get_depot(session, depot_id)
    count = CycleCount(depot_id=depot_id, started_by=actor, started_at=clock.now())
    session.add(count)
    session.flush()
    return count


get = repository.get_cycle_count
scans = repository.count_scans


def _get_open_for_update(session: Session, count_id: int) -> CycleCount:
    """Locked, so scans and the close of one count never interleave."""
    count = repository.get_cycle_count_for_update(session, count_id)
    if count.closed_at is not None:
        raise Conflict(f"Cycle count {count_id} was closed at {count.closed_at:%Y-%m-%d %H:%M} UTC; start a new one.")
    return count


def record_scan(session: Session, count_id: int, *, code: str, actor: str) -> CountScan:
    """Record a code seen on the shelf, once per code; unknown codes are recorded too."""
    count = _get_open_for_update(session, count_id)
    code = code.strip().upper()
    unit = inventory.find_unit_by_code(session, code)
    seen = repository.first_count_scan(session, count.id, codes={code}, unit_id=unit.id if unit else None)
    if seen is not None:
        return CountScan(seen, unit, duplicate=True)
    expected = unit is not None and unit.depot_id == count.depot_id and unit.state in AT_THE_DEPOT
    if unit is None:
        text = f"Unknown code '{code}': counted; it will be listed on the report. Put the item aside."
    elif expected:
        text = f"Counted {unit.asset_tag}."
    else:
        text = (f"Counted {unit.asset_tag}, but our records place it at depot {unit.depot.code} in state "
                f"'{unit.state}'; it will be listed on the report.")
    scan = Scan(code=code, depot_id=count.depot_id, actor=actor, action=COUNTED, ok=expected, instruction=text,
                unit_id=unit.id if unit else None, cycle_count_id=count.id, at=clock.now())
    session.add(scan)
    session.flush()
    return CountScan(scan, unit, duplicate=False)


def close(session: Session, count_id: int, *, actor: str) -> CycleCount:
    """Compare the scans with the records and store the report; a count closes once."""
    count = _get_open_for_update(session, count_id)
    counted = scans(session, count.id)
    scanned_ids = {s.unit_id for s in counted if s.unit_id is not None}
    expected = inventory.units_in_states(session, depot_id=count.depot_id, states=AT_THE_DEPOT)
    expected_ids = {u.id for u in expected}
    surprises = []
    for s in counted:
        if s.unit_id is None:
            surprises.append({"code": s.code, "unit_id": None, "asset_tag": None, "state": None, "depot_id": None,
                              "depot_code": None, "reason": "unknown code"})
        elif s.unit_id not in expected_ids:
            unit = inventory.get_unit(session, s.unit_id)
            where = "another depot" if unit.depot_id != count.depot_id else f"an off-shelf state ('{unit.state}')"
            surprises.append({"code": s.code, **_line(unit), "reason": f"our records place it in {where}"})
    count.report = {
        "closed_by": actor,
        "scanned": len(counted),
        "expected": len(expected),
        "matched": len(expected_ids & scanned_ids),
        "expected_not_scanned": [{"code": u.asset_tag, **_line(u), "reason": "not scanned"}
                                 for u in expected if u.id not in scanned_ids],
        "scanned_not_expected": surprises,
    }
    count.closed_at = clock.now()
    session.flush()
    return count


def _line(unit: SpareUnit) -> dict:
    return {"unit_id": unit.id, "asset_tag": unit.asset_tag, "state": unit.state, "depot_id": unit.depot_id,
            "depot_code": unit.depot.code}
