"""What the service posted (or is posting) on tickets."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CursorsDep, Reader, SessionDep
from app.api.problems import problem_responses
from app.api.schemas import Page
from app.integrations.tickets import repository
from app.integrations.tickets.schemas import TicketNoteRead
from app.inventory.schemas import Id
from app.models import TicketNote

router = APIRouter(prefix="/api/v1/ticket-notes", tags=["tickets"], responses=problem_responses(401, 403, 422))


@router.get("", response_model=Page[TicketNoteRead], responses=problem_responses(400))
def list_ticket_notes(
    session: SessionDep,
    _: Reader,
    cursors: CursorsDep,
    swap_id: Id | None = None,
    status: Annotated[str | None, Query(pattern="^(queued|posted|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
):
    """Oldest first: each note, internal or public, with what the tool answered."""
    stmt = repository.notes_query(swap_id=swap_id, status=status)
    rows, next_cursor = cursors.page(session, stmt, TicketNote.id, resource="ticket-notes", limit=limit, cursor=cursor)
    return Page[TicketNoteRead](items=[TicketNoteRead.model_validate(r) for r in rows], next_cursor=next_cursor)
