"""What the service told people (or would have): the local outbox of the embedded default, and the
record of every message wherever it went."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CursorsDep, Reader, SessionDep
from app.api.problems import problem_responses
from app.api.schemas import Page
from app.inventory.schemas import Id
from app.models import Notification
from app.notify import repository
from app.notify.schemas import NotificationRead

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"], responses=problem_responses(401, 403, 422))


@router.get("", response_model=Page[NotificationRead], responses=problem_responses(400))
def list_notifications(
    session: SessionDep,
    _: Reader,
    cursors: CursorsDep,
    swap_id: Id | None = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=10)] = None,
    audience: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
):
    """Oldest first. A message to a person outside their working hours is `queued` with `held_until`."""
    stmt = repository.notifications_query(swap_id=swap_id, kind=kind, status=status, audience=audience)
    rows, next_cursor = cursors.page(session, stmt, Notification.id, resource="notifications", limit=limit,
                                     cursor=cursor)
    return Page[NotificationRead](items=[NotificationRead.model_validate(r) for r in rows], next_cursor=next_cursor)
