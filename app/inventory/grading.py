"""What triage finds of a returned unit's condition, and the bar a unit must clear to be sent to a worker
again: a cosmetic grade of A (as new) or B (light wear), and a battery holding at least 80% of its design
capacity. A unit below it is retired or claimed with its vendor, never put back in ready stock."""

from app.errors import Conflict
from app.models import SpareUnit

GRADES = ("A", "B", "C")
FIT_GRADES = frozenset({"A", "B"})
MIN_BATTERY_HEALTH = 80  # percent of design capacity


def shortfalls(grade: str | None, battery_health: int | None) -> list[str]:
    """Why a unit may not go to a worker (empty: it may). Not recorded is no objection."""
    found = []
    if grade is not None and grade not in FIT_GRADES:
        found.append(f"its cosmetic grade is {grade} (workers get A or B)")
    if battery_health is not None and battery_health < MIN_BATTERY_HEALTH:
        found.append(f"its battery holds {battery_health}% (workers get {MIN_BATTERY_HEALTH}% or more)")
    return found


def check_fit_for_workers(unit: SpareUnit, *, refused: str = "does not go back to stock") -> None:
    """409, saying why, for a unit below the bar (`refused`: what is refused, in the message)."""
    found = shortfalls(unit.cosmetic_grade, unit.battery_health)
    if found:
        raise Conflict(f"Unit {unit.asset_tag} {refused}: {'; '.join(found)}. Retire it, or claim it with its "
                       "vendor.", shortfalls=found)
