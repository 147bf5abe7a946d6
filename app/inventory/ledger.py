"""Writing the custody ledger. Every change of a unit's state or depot goes through `record`."""

from sqlalchemy.orm import Session

from app import clock, writes
from app.models import CustodyEntry, SpareUnit

_LEDGER = CustodyEntry.__table__


def record(
    session: Session,
    unit: SpareUnit,
    *,
    from_state: str | None,
    from_depot_id: int | None,
    actor: str,
    reason: str,
    reference: str | None = None,
) -> None:
    writes.add(session, _LEDGER, {"unit_id": unit.id, "from_state": from_state, "to_state": unit.state,
                                  "from_depot_id": from_depot_id, "depot_id": unit.depot_id, "actor": actor,
                                  "reason": reason, "reference": reference, "at": clock.now()})
