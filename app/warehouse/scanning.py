"""The scan station: a code comes in (asset tag, serial, return tracking number or swap reference),
the service works out what it is and answers with one clear instruction. A change happens only
when the instruction says so; anything else is an answer, never a silent change."""

import re
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app import clock, writes
from app.inventory import repository as inventory
from app.inventory.states import UnitState
from app.inventory.units import transition_unit
from app.models import Scan, SpareUnit
from app.swaps import repository as swaps
from app.warehouse import repository, returns
from app.warehouse.rules import PackCheck, pack_problems

SWAP_REF = re.compile(r"^(?:SWAP|SW)-?(\d+)$")


@dataclass
class ScanAnswer:
    ok: bool
    action: str  # packed | received | info | problem | unknown
    instruction: str
    unit_id: int | None = None
    asset_tag: str | None = None
    swap_id: int | None = None
    expected_return_id: int | None = None
    checklist: list[str] = field(default_factory=list)


def scan(session: Session, *, code: str, depot_id: int, actor: str, return_id: int | None = None) -> ScanAnswer:
    """`return_id`: the return box the tech just opened (scanned its label); the device scanned next is
    received against it, so a different device is caught as the wrong unit."""
    depot_code = inventory.depot_code(session, depot_id)
    code = code.strip().upper()
    if return_id is not None:
        answer = _in_box(session, code, depot_id, actor, return_id)
    else:
        answer = _answer(session, code, depot_id, depot_code, actor)
    writes.add(session, Scan.__table__, {  # the scan log, written with what the scan changed
        "code": code, "depot_id": depot_id, "actor": actor, "action": answer.action, "ok": answer.ok,
        "instruction": answer.instruction, "unit_id": answer.unit_id, "expected_return_id": answer.expected_return_id,
        "cycle_count_id": None, "at": clock.now()})
    return answer


def _answer(session: Session, code: str, depot_id: int, depot_code: str, actor: str) -> ScanAnswer:
    unit = inventory.find_unit_by_code(session, code, for_update=True)
    if unit is not None:
        return _unit(session, unit, depot_id, depot_code, actor)
    expected = repository.open_return_for_code(session, code)
    if expected is not None:  # the broken device is not one of our spares: receive the return all the same
        outcomes = returns.receive(session, expected, code=code, unit=None, depot_id=depot_id, actor=actor)
        return _received(expected, outcomes, code, None)
    expected = repository.return_for_tracking(session, code)
    if expected is not None:
        what = f"'{expected.code}'" if expected.code else "the worker's old device"
        return ScanAnswer(True, "info", f"Return box for swap {expected.swap_id}: it should hold {what} with "
                          f"{', '.join(expected.expected_items)}. Open it and scan the device.",
                          swap_id=expected.swap_id, expected_return_id=expected.id)
    match = SWAP_REF.match(code)
    if match:
        swap = swaps.find_swap(session, int(match.group(1)))
        if swap is not None:
            unit_text = f"unit {swap.unit.asset_tag}" if swap.unit else "no unit yet"
            return ScanAnswer(True, "info", f"Swap {swap.id} ({swap.ticket_system}/{swap.ticket_id}) is "
                              f"'{swap.status}', {unit_text}.", swap_id=swap.id,
                              unit_id=swap.unit_id, asset_tag=swap.unit.asset_tag if swap.unit else None)
    return ScanAnswer(False, "unknown", f"Unknown code '{code}': not a unit, a return or a swap we know. "
                      "Check the label, or put the item aside for the IT lead.")


def _in_box(session: Session, code: str, depot_id: int, actor: str, return_id: int) -> ScanAnswer:
    expected = repository.find_return(session, return_id)
    if expected is None or expected.status not in repository.AWAITED:
        return ScanAnswer(False, "problem", f"Return {return_id} is not open any more; scan the device on its own.")
    unit = inventory.find_unit_by_code(session, code, for_update=True)
    if unit is not None and unit.state not in returns.RECEIVABLE:
        return _problem(unit, f"{unit.asset_tag} is '{unit.state}' in our records: it cannot have come back in "
                              f"this box. Put it aside for the IT lead.")
    outcomes = returns.receive(session, expected, code=unit.asset_tag if unit else code, unit=unit,
                               depot_id=depot_id, actor=actor)
    return _received(expected, outcomes, unit.asset_tag if unit else code, unit)


def _unit(session: Session, unit: SpareUnit, depot_id: int, depot_code: str, actor: str) -> ScanAnswer:
    tag = unit.asset_tag
    state = UnitState(unit.state)
    if state == UnitState.RESERVED:
        if unit.depot_id != depot_id:
            return _problem(unit, f"{tag} belongs to depot {unit.depot.code}, not {depot_code}. Do not pack it here.")
        swap = swaps.swap_holding_unit(session, unit.id)
        problems = pack_problems(PackCheck(is_stale=unit.is_stale, current_version=unit.profile.current_version
                                           if unit.profile else None, last_tested_at=unit.last_tested_at,
                                           last_charged_at=unit.last_charged_at), clock.now())
        if problems:
            return _problem(unit, f"Do not pack {tag} yet: {'; '.join(problems)}. Then scan it again.", swap)
        transition_unit(session, unit, UnitState.PACKED, actor=actor, reason="packed at the scan station",
                        reference=f"swap:{swap.id}" if swap else None)
        label = swaps.outbound_label(session, swap.id) if swap else None
        return_note = {"return_box": " Put the prepaid return label in the box.",
                       "swap_at_door": " The courier collects the old device at the door: no return label in the box."
                       }.get((swap.return_plan or swap.return_mode) if swap else "", "")
        label_note = (f" Stick the outbound label (tracking {label.tracking_number}) on the box."
                      if label and label.tracking_number else " The courier label is not booked yet: hold the box.")
        kit = [a["item"] for a in unit.model.accessories or []]
        kit_note = f" Put in the box: {', '.join(kit)}." if kit else ""
        return ScanAnswer(True, "packed", f"PACKED {tag} for swap {swap.id if swap else '?'}.{kit_note}{label_note}"
                          f"{return_note}", unit_id=unit.id, asset_tag=tag, swap_id=swap.id if swap else None,
                          checklist=kit)
    if state in returns.RECEIVABLE:
        expected = repository.open_return_for_unit(session, unit.id)
        if expected is not None:
            outcomes = returns.receive(session, expected, code=tag, unit=unit, depot_id=depot_id, actor=actor)
            return _received(expected, outcomes, tag, unit)
        if state == UnitState.IN_TRANSIT:
            return _problem(unit, f"{tag} is on its way to a worker; if it came back undelivered, give it to the IT "
                                  "lead (carrier return).")
        returns.receive_unexpected(session, unit, depot_id=depot_id, actor=actor)
        return ScanAnswer(False, "received", f"RECEIVED {tag}, but no return was expected for it: flagged as "
                          "unexpected. Put it in triage.", unit_id=unit.id, asset_tag=tag)
    if state == UnitState.PACKED:
        return ScanAnswer(True, "info", f"{tag} is already packed ({_last_move(session, unit)}); it waits for the "
                          "courier.", unit_id=unit.id, asset_tag=tag)
    if state in (UnitState.RECEIVED, UnitState.TRIAGE, UnitState.REFURBISHING):
        hold = inventory.active_hold_on(session, unit, clock.now().date())
        if hold is not None:  # the bench must know before it touches the unit
            return ScanAnswer(False, "problem", f"ON LEGAL HOLD: {tag} (hold {hold.id}: {hold.reason}). Do not wipe, "
                              "refurbish or retire it; keep it as it is.", unit_id=unit.id, asset_tag=tag)
    if state == UnitState.WITH_VENDOR:
        claim = inventory.open_claim_of(session, unit.id)
        about = f" under RMA {claim.rma_number}, due back {claim.due_date:%d %b}" if claim else ""
        return ScanAnswer(True, "info", f"{tag} is with its vendor{about}: record the claim's outcome when it comes "
                          "back.", unit_id=unit.id, asset_tag=tag)
    if state in (UnitState.RECEIVED, UnitState.TRIAGE):
        return ScanAnswer(True, "info", f"{tag} was already received ({_last_move(session, unit)}). It is in "
                          f"'{state.value}'.", unit_id=unit.id, asset_tag=tag)
    where = "" if unit.depot_id == depot_id else f" It belongs to depot {unit.depot.code}."
    return ScanAnswer(True, "info", f"{tag} ({unit.model.sku}) is '{state.value}'.{where} Nothing to do.",
                      unit_id=unit.id, asset_tag=tag)


def _received(expected, outcomes: list[str], code: str, unit: SpareUnit | None) -> ScanAnswer:
    checklist = [i for i in expected.expected_items if i != "device"]
    if "wrong_unit" in outcomes:
        text = (f"WRONG UNIT: swap {expected.swap_id} should return '{expected.code}', this is '{code}'. "
                "Received and flagged; both records are marked. Now check the contents: ")
    else:
        text = f"RECEIVED {code}: matches the return of swap {expected.swap_id}. Check the contents: "
    if "wrong_depot" in outcomes:
        text = ("WRONG DEPOT: this return was expected at another depot; received here and flagged, and it "
                "is reconciled here. " + text)
    return ScanAnswer("wrong_unit" not in outcomes, "received", text + (", ".join(checklist) or "device only")
                      + ", and the condition.", unit_id=unit.id if unit else None,
                      asset_tag=unit.asset_tag if unit else None, swap_id=expected.swap_id,
                      expected_return_id=expected.id, checklist=checklist)


def _problem(unit: SpareUnit, text: str, swap=None) -> ScanAnswer:
    return ScanAnswer(False, "problem", text, unit_id=unit.id, asset_tag=unit.asset_tag,
                      swap_id=swap.id if swap else None)


def _last_move(session: Session, unit: SpareUnit) -> str:
    history = inventory.unit_history(session, unit.id)
    return f"on {history[-1].at:%d %b %Y %H:%M} UTC by {history[-1].actor}" if history else "earlier"
