"""Swap requests: intake (idempotent), status and timeline, cancel."""

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request

from app.api import idempotent
from app.api.deps import CursorsDep, Reader, SessionDep, Support
from app.api.problems import problem_responses
from app.api.schemas import Page
from app.inventory.schemas import Id
from app.models import SwapRequest
from app.shipping import address_check
from app.shipping.carrier import Address
from app.swaps import idempotency, intake, repository, tracking_link
from app.swaps.schemas import CancelRequest, SwapCreate, SwapRead
from app.swaps.states import SwapStatus

router = APIRouter(prefix="/api/v1/swap-requests", tags=["swaps"], responses=problem_responses(401, 403, 422))

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key",
           description="Retry-safe key: the same key and body replay the first response; another body is a 422. "
                       "1 to 255 visible ASCII characters (no spaces or control characters); anything else is a 400.",
           json_schema_extra={"pattern": idempotency.KEY_PATTERN}),
]


@router.post("", response_model=SwapRead, status_code=201, responses=problem_responses(400, 404, 409))
def create_swap_request(body: SwapCreate, request: Request, key: Support, idempotency_key: IdempotencyKey = None):
    """Take in a ticket's need for a replacement: a ready unit is reserved at once (or the swap joins
    the fair waitlist as `backordered`). A second live swap for the same ticket is a 409."""

    base = request.app.state.settings.public_base_url.rstrip("/")
    given = body.worker.address  # asked before the transaction: a carrier call holds no connection
    verdict = address_check.check(request.app.state.carrier, Address(
        name=body.worker.name, street1=given.street1, street2=given.street2, city=given.city, state=given.region,
        postal_code=given.postal_code, country=given.country))

    def action(session):
        swap, token = intake.create_swap(session, body, actor=key.name, address_verdict=verdict)
        read = intake.swap_read(session, swap, tracking_url=f"{base}/t/{token}", new=True)
        replay = read.model_copy(update={"tracking_url": None, "tracking_url_note": (
            "The tracking link is shown once, in the first answer to this request, and is not kept. "
            f"POST /api/v1/swap-requests/{swap.id}/tracking-link issues a new one (the old one then stops "
            "working).")})
        return idempotent.Answer(201, read, {"Location": f"/api/v1/swap-requests/{swap.id}"}, replay_body=replay)

    return idempotent.run(request, api_key=key, key=idempotency_key, payload=body.model_dump(mode="json"),
                          action=action)


@router.get("", response_model=Page[SwapRead], responses=problem_responses(400))
def list_swap_requests(
    session: SessionDep,
    _: Reader,
    cursors: CursorsDep,
    status: SwapStatus | None = None,
    ticket_system: Annotated[str | None, Query(max_length=40)] = None,
    ticket_id: Annotated[str | None, Query(max_length=100)] = None,
    escalated: Annotated[bool | None, Query(description="Only swaps whose priority was (or was not) raised")] = None,
    order: Annotated[Literal["id", "priority"], Query(description="`priority`: highest first, then oldest")] = "id",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
):
    """Swaps, oldest first; `order=priority` puts the most escalated first (`?escalated=true&order=priority`
    is support's queue of what lingered)."""
    stmt = repository.swaps_query(status=status, ticket_system=ticket_system, ticket_id=ticket_id,
                                  escalated=escalated)
    if order == "priority":
        rows, next_cursor = cursors.page_by_priority(session, stmt, SwapRequest.priority, SwapRequest.id,
                                                     resource="swap-requests", limit=limit, cursor=cursor)
    else:
        rows, next_cursor = cursors.page(session, stmt, SwapRequest.id, resource="swap-requests", limit=limit,
                                         cursor=cursor)
    return Page[SwapRead](items=[intake.swap_read(session, s) for s in rows], next_cursor=next_cursor)


@router.get("/{swap_id}", response_model=SwapRead, responses=problem_responses(404))
def get_swap_request(swap_id: Id, session: SessionDep, _: Reader):
    """Status, unit, depot, promised delivery date and the timeline of every touchpoint."""
    return intake.swap_read(session, repository.get_swap(session, swap_id))


@router.post("/{swap_id}/cancel", response_model=SwapRead, responses=problem_responses(400, 404, 409))
def cancel_swap_request(swap_id: Id, body: CancelRequest, request: Request, key: Support,
                        idempotency_key: IdempotencyKey = None):
    """Cancel; a reserved unit goes back to ready stock (and to the head of the waitlist)."""

    def action(session):
        swap = intake.cancel_swap(session, swap_id, body, actor=key.name)
        return idempotent.Answer(200, intake.swap_read(session, swap), {})

    return idempotent.run(request, api_key=key, key=idempotency_key,
                          payload={"swap_id": swap_id, **body.model_dump(mode="json")}, action=action)


@router.post("/{swap_id}/tracking-link", response_model=SwapRead, responses=problem_responses(404))
def reissue_tracking_link(swap_id: Id, request: Request, session: SessionDep, _: Support):
    """Issue a new tracking link for the worker (the old one stops working). Links are stored hashed,
    so this is the way to get one again."""
    swap = repository.get_swap_for_update(session, swap_id)
    token = tracking_link.issue(session, swap)
    base = request.app.state.settings.public_base_url.rstrip("/")
    return intake.swap_read(session, swap, tracking_url=f"{base}/t/{token}")
