"""Warranty claims: a broken unit is claimed with its vendor (RMA number, the vendor's due date),
shipped to them (`with_vendor`), and comes back repaired or refused (to triage), or is replaced — the
old unit retired, the vendor's replacement taken in as a new unit linked to it. A claim past its due
date is escalated to support once."""

from datetime import date

from sqlalchemy.orm import Session

from app import clock, events
from app.errors import Conflict, NotFound, Unprocessable
from app.inventory import repository
from app.inventory.schemas import ClaimClose, ClaimCreate, ClaimOutcome, UnitCreate
from app.inventory.states import UnitState
from app.inventory.units import create_unit, transition_unit
from app.models import WarrantyClaim


def open_claim(session: Session, unit_id: int, data: ClaimCreate, *, actor: str) -> WarrantyClaim:
    unit = repository.get_unit_for_update(session, unit_id)
    if unit.state != UnitState.TRIAGE:
        raise Conflict(f"Unit {unit.asset_tag} is '{unit.state}': a warranty claim is opened for a unit in triage.",
                       current_state=unit.state)
    if repository.open_claim_of(session, unit.id) is not None:
        raise Conflict(f"Unit {unit.asset_tag} has an open warranty claim already.")
    if data.due_date < clock.now().date():
        raise Unprocessable("due_date is in the past.", field="due_date")
    claim = WarrantyClaim(unit_id=unit.id, vendor=data.vendor, rma_number=data.rma_number, due_date=data.due_date,
                          notes=data.notes, opened_at=clock.now(), opened_by=actor)
    session.add(claim)
    session.flush()
    return claim


def ship(session: Session, claim_id: int, *, actor: str) -> WarrantyClaim:
    claim = _open(session, claim_id)
    if claim.shipped_at is not None:
        raise Conflict(f"Warranty claim {claim_id} was shipped already.")
    transition_unit(session, claim.unit_id, UnitState.WITH_VENDOR, actor=actor,
                    reason=f"sent to {claim.vendor} under RMA {claim.rma_number}", reference=f"claim:{claim.id}")
    claim.shipped_at = clock.now()
    return claim


def close(session: Session, claim_id: int, data: ClaimClose, *, actor: str) -> WarrantyClaim:
    claim = _open(session, claim_id)
    if claim.shipped_at is None:
        raise Conflict(f"Warranty claim {claim_id} was not shipped to the vendor yet: ship it first.")
    old = repository.get_unit_for_update(session, claim.unit_id)
    ref, rma = f"claim:{claim.id}", f"RMA {claim.rma_number}"
    if data.outcome == ClaimOutcome.REPLACED:
        if data.replacement is None:
            raise Unprocessable("A replaced unit needs its replacement: serial and asset_tag.", field="replacement")
        new = create_unit(session, UnitCreate(serial=data.replacement.serial, asset_tag=data.replacement.asset_tag,
                                              model_id=old.model_id, depot_id=old.depot_id, state=UnitState.RECEIVING,
                                              profile_id=old.profile_id),
                          actor=actor, reason=f"replacement from {claim.vendor} for {old.asset_tag} ({rma})")
        transition_unit(session, old, UnitState.RETIRED, actor=actor,
                        reason=f"replaced by {claim.vendor} with {new.asset_tag} ({rma})", reference=ref)
        claim.replacement_unit_id = new.id
    else:
        back = "repaired by" if data.outcome == ClaimOutcome.REPAIRED else "claim refused by"
        transition_unit(session, old, UnitState.TRIAGE, actor=actor, reason=f"{back} {claim.vendor} ({rma})",
                        reference=ref)
    claim.outcome, claim.closed_at = data.outcome.value, clock.now()
    if data.notes:
        claim.notes = "\n".join(n for n in (claim.notes, data.notes) if n)
    session.flush()
    return claim


def escalate_overdue(session: Session, *, today: date) -> int:
    """Sweep: each open claim past the vendor's due date is escalated to support, once."""
    overdue = repository.overdue_claims(session, today)
    for claim in overdue:
        claim.escalated_at = clock.now()
        events.record(session, events.WarrantyClaimOverdue(claim_id=claim.id, unit_id=claim.unit_id,
                                                           vendor=claim.vendor, rma_number=claim.rma_number,
                                                           due_date=claim.due_date.isoformat()))
    return len(overdue)


def _open(session: Session, claim_id: int) -> WarrantyClaim:
    claim = repository.claim_for_update(session, claim_id)
    if claim is None:
        raise NotFound(f"No warranty claim with id {claim_id}.")
    if claim.closed_at is not None:
        raise Conflict(f"Warranty claim {claim_id} is closed ({claim.outcome}).")
    return claim
