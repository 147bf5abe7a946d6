"""Triage and refurbishment: a received unit is either refurbished back into ready stock (wiped,
re-imaged to its profile's current version, tested, charged) or retired."""

from enum import StrEnum

from sqlalchemy.orm import Session

from app import clock
from app.errors import Conflict
from app.inventory import grading, repository
from app.inventory.states import UnitState
from app.inventory.units import transition_unit
from app.models import SpareUnit


class TriageDecision(StrEnum):
    REFURBISH = "refurbish"
    RETIRE = "retire"


def triage(session: Session, unit_id: int, decision: TriageDecision, *, reason: str, actor: str,
           grade: str | None = None, battery_health: int | None = None) -> SpareUnit:
    """Decide a unit in triage, recording its condition: cosmetic grade and battery health. A unit below
    the bar for workers (see `grading`) may be retired, not refurbished."""
    unit = repository.get_unit_for_update(session, unit_id)
    if unit.state != UnitState.TRIAGE:
        raise Conflict(f"Unit {unit.asset_tag} is '{unit.state}'; triage decides only units in 'triage'.",
                       current_state=unit.state)
    if grade is not None:
        unit.cosmetic_grade = grade
    if battery_health is not None:
        unit.battery_health = battery_health
    if decision == TriageDecision.REFURBISH:
        grading.check_fit_for_workers(unit, refused="is not refurbished for workers")
    condition = ", ".join(p for p in (f"grade {grade}" if grade else "",
                                      f"battery {battery_health}%" if battery_health is not None else "") if p)
    target = UnitState.REFURBISHING if decision == TriageDecision.REFURBISH else UnitState.RETIRED
    return transition_unit(session, unit, target, actor=actor,
                           reason=f"triage: {reason}" + (f" ({condition})" if condition else ""))


def refurbished(session: Session, unit_id: int, *, notes: str | None, actor: str) -> SpareUnit:
    """Wiped, re-imaged to the current version, tested and charged: back to ready stock (and so to the
    head of the waitlist)."""
    unit = repository.get_unit_for_update(session, unit_id)
    if unit.state != UnitState.REFURBISHING:
        raise Conflict(f"Unit {unit.asset_tag} is '{unit.state}', not 'refurbishing'.", current_state=unit.state)
    now = clock.now()
    if unit.profile is not None:
        unit.profile_version, unit.configured_at = unit.profile.current_version, now
    unit.last_tested_at = unit.last_charged_at = now
    if notes:
        unit.condition_notes = notes
    version = f" to {unit.profile.name} {unit.profile_version}" if unit.profile else ""
    return transition_unit(session, unit, UnitState.READY, actor=actor,
                           reason=f"wiped, re-imaged{version}, tested and charged" + (f": {notes}" if notes else ""))
