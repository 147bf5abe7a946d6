"""Warranty claims: open one for a unit in triage, ship it to the vendor, record what came of it."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CursorsDep, Reader, SessionDep, Warehouse
from app.api.problems import problem_responses
from app.api.schemas import Page
from app.inventory import claims, repository
from app.inventory.schemas import ClaimClose, ClaimCreate, ClaimRead, Id
from app.models import WarrantyClaim

router = APIRouter(prefix="/api/v1", tags=["warranty claims"], responses=problem_responses(401, 403, 422))


@router.post("/units/{unit_id}/warranty-claims", response_model=ClaimRead, status_code=201,
             responses=problem_responses(404, 409))
def open_claim(unit_id: Id, body: ClaimCreate, session: SessionDep, key: Warehouse):
    """Claim a broken unit (in triage) with its vendor: the RMA number and the vendor's due date."""
    return ClaimRead.model_validate(claims.open_claim(session, unit_id, body, actor=key.name))


@router.post("/warranty-claims/{claim_id}/shipped", response_model=ClaimRead, responses=problem_responses(404, 409))
def ship_claim(claim_id: Id, session: SessionDep, key: Warehouse):
    """The unit left for the vendor: it is `with_vendor` until the claim is closed (a unit on legal hold
    does not leave: 409)."""
    return ClaimRead.model_validate(claims.ship(session, claim_id, actor=key.name))


@router.post("/warranty-claims/{claim_id}/outcome", response_model=ClaimRead, responses=problem_responses(404, 409))
def close_claim(claim_id: Id, body: ClaimClose, session: SessionDep, key: Warehouse):
    """Repaired or refused: the unit is back in triage. Replaced: it is retired, and the vendor's replacement
    is taken in as a new unit (receiving), linked to it (`replacement_unit_id`)."""
    return ClaimRead.model_validate(claims.close(session, claim_id, body, actor=key.name))


@router.get("/warranty-claims", response_model=Page[ClaimRead], responses=problem_responses(400))
def list_claims(session: SessionDep, _: Reader, cursors: CursorsDep, unit_id: Id | None = None,
                open: Annotated[bool, Query(description="only claims not closed yet")] = False,
                limit: Annotated[int, Query(ge=1, le=200)] = 50,
                cursor: Annotated[str | None, Query(max_length=200)] = None):
    stmt = repository.claims_query(unit_id=unit_id, open_only=open)
    rows, next_cursor = cursors.page(session, stmt, WarrantyClaim.id, resource="warranty-claims", limit=limit,
                                     cursor=cursor)
    return Page[ClaimRead](items=[ClaimRead.model_validate(r) for r in rows], next_cursor=next_cursor)
