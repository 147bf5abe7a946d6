"""Legal holds: a unit under one — or any unit a held worker has had — stays exactly as it is. It is
never wiped, refurbished or retired while the hold lasts; placing and lifting are on the record."""

from datetime import date

from sqlalchemy.orm import Session

from app import clock
from app.errors import Conflict, NotFound, Unprocessable
from app.inventory import ledger, repository
from app.inventory.states import UnitState
from app.models import LegalHold, SpareUnit

# Targets a hold forbids: starting a wipe/refurbish, back to stock, disposal, out to the vendor.
HELD_FROM = frozenset({UnitState.REFURBISHING, UnitState.READY, UnitState.RETIRED, UnitState.WITH_VENDOR})


def place(session: Session, *, unit_id: int | None, worker_email: str | None, reason: str, until: date | None,
          actor: str) -> LegalHold:
    if (unit_id is None) == (worker_email is None):
        raise Unprocessable("Hold one unit (unit_id) or one worker (worker_email), not both or neither.",
                            field="unit_id")
    if until is not None and until < clock.now().date():
        raise Unprocessable("until is in the past.", field="until")
    unit = repository.get_unit_for_update(session, unit_id) if unit_id is not None else None
    hold = LegalHold(unit_id=unit_id, worker_email=worker_email.lower() if worker_email else None, reason=reason,
                     placed_by=actor, placed_at=clock.now(), until=until)
    session.add(hold)
    session.flush()
    if unit is not None:
        _note(session, unit, actor, f"legal hold {hold.id} placed: {reason}" + (f" (until {until})" if until else ""))
    return hold


def lift(session: Session, hold_id: int, *, reason: str, actor: str) -> LegalHold:
    hold = repository.hold_for_update(session, hold_id)
    if hold is None:
        raise NotFound(f"No legal hold with id {hold_id}.")
    if hold.lifted_at is not None:
        raise Conflict(f"Legal hold {hold_id} was lifted already.")
    hold.lifted_at, hold.lifted_by, hold.lift_reason = clock.now(), actor, reason
    if hold.unit_id is not None:
        _note(session, repository.get_unit_for_update(session, hold.unit_id), actor,
              f"legal hold {hold.id} lifted: {reason}")
    session.flush()
    return hold


def check_not_held(session: Session, unit: SpareUnit, target: UnitState) -> None:
    """Refuse, naming the hold, to refurbish, restock or retire a unit under a legal hold."""
    if target in HELD_FROM and unit.state in (UnitState.TRIAGE, UnitState.REFURBISHING):
        refuse_if_held(session, unit)


def refuse_if_held(session: Session, unit: SpareUnit) -> None:
    """A unit under a legal hold is kept as it is: wiping it, or anything that follows, is refused."""
    hold = repository.active_hold_on(session, unit, clock.now().date())
    if hold is not None:
        subject = "this unit" if hold.unit_id is not None else f"worker {hold.worker_email}"
        until = f" until {hold.until}" if hold.until else " until lifted"
        raise Conflict(f"Unit {unit.asset_tag} is on legal hold {hold.id} ({subject}: {hold.reason}; placed by "
                       f"{hold.placed_by}{until}): it may not be wiped, refurbished or retired, and stays "
                       f"'{unit.state}'.", hold_id=hold.id)


def _note(session: Session, unit: SpareUnit, actor: str, reason: str) -> None:
    """On the unit's record, as a ledger row that keeps its state and place."""
    ledger.record(session, unit, from_state=unit.state, from_depot_id=unit.depot_id, actor=actor, reason=reason)
