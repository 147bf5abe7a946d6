"""Legal holds: placed and lifted by admins (legal asks, IT does it), listed for anyone."""

from typing import Annotated

from fastapi import APIRouter, Query

from app import clock
from app.api.deps import Admin, CursorsDep, Reader, SessionDep
from app.api.problems import problem_responses
from app.api.schemas import Page
from app.inventory import holds, repository
from app.inventory.schemas import Id, LegalHoldCreate, LegalHoldLift, LegalHoldRead
from app.models import LegalHold

router = APIRouter(prefix="/api/v1/legal-holds", tags=["legal holds"], responses=problem_responses(401, 403, 422))


@router.post("", response_model=LegalHoldRead, status_code=201, responses=problem_responses(404))
def place_hold(body: LegalHoldCreate, session: SessionDep, key: Admin):
    """Keep a unit — or every unit a worker has had — exactly as it is: it is never wiped, refurbished
    or retired until the hold is lifted (or its `until` day has passed). Placing it is on the unit's record."""
    hold = holds.place(session, unit_id=body.unit_id, worker_email=str(body.worker_email) if body.worker_email else None,
                       reason=body.reason, until=body.until, actor=key.name)
    return LegalHoldRead.model_validate(hold)


@router.post("/{hold_id}/lift", response_model=LegalHoldRead, responses=problem_responses(404, 409))
def lift_hold(hold_id: Id, body: LegalHoldLift, session: SessionDep, key: Admin):
    """End the hold (recorded: who, when, why)."""
    return LegalHoldRead.model_validate(holds.lift(session, hold_id, reason=body.reason, actor=key.name))


@router.get("", response_model=Page[LegalHoldRead], responses=problem_responses(400))
def list_holds(session: SessionDep, _: Reader, cursors: CursorsDep, active: bool = False,
               limit: Annotated[int, Query(ge=1, le=200)] = 50,
               cursor: Annotated[str | None, Query(max_length=200)] = None):
    """Every hold, oldest first (`active=true`: those in force today)."""
    stmt = repository.holds_query(active_on=clock.now().date() if active else None)
    rows, next_cursor = cursors.page(session, stmt, LegalHold.id, resource="legal-holds", limit=limit, cursor=cursor)
    return Page[LegalHoldRead](items=[LegalHoldRead.model_validate(r) for r in rows], next_cursor=next_cursor)
