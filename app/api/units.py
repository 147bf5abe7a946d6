"""Spare units: CRUD, lookup by barcode, state transitions, custody history, CSV in and out."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from app.api.deps import CursorsDep, Reader, SessionDep, Warehouse
from app.api.problems import problem_responses
from app.api.schemas import ImportResult, Page
from app.errors import BadRequest, NotFound, UnsupportedMediaType
from app.inventory import csv_io, repository, units
from app.inventory.labels import MEDIA_TYPES, LabelFormat, render_label
from app.inventory.schemas import (
    Id,
    LedgerEntryRead,
    TransitionRequest,
    UnitCreate,
    UnitMove,
    UnitRead,
    UnitUpdate,
)
from app.inventory.states import UnitState
from app.models import SpareUnit

router = APIRouter(prefix="/api/v1/units", tags=["units"], responses=problem_responses(401, 403, 422))
MAX_CSV_BYTES = 5 * 1024 * 1024  # the request guard's limit for this route (JSON bodies get less)


@router.get("", response_model=Page[UnitRead], responses=problem_responses(400))
def list_units(
    session: SessionDep,
    _: Reader,
    cursors: CursorsDep,
    depot_id: Id | None = None,
    model_id: Id | None = None,
    state: UnitState | None = None,
    stale: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
):
    stmt = repository.units_query(depot_id=depot_id, model_id=model_id, state=state, stale=stale)
    rows, next_cursor = cursors.page(session, stmt, SpareUnit.id, resource="units", limit=limit, cursor=cursor)
    return Page[UnitRead](items=[units.unit_read(u) for u in rows], next_cursor=next_cursor)


@router.post("", response_model=UnitRead, status_code=201, responses=problem_responses(404, 409))
def create_unit(body: UnitCreate, session: SessionDep, key: Warehouse):
    return units.unit_read(units.create_unit(session, body, actor=key.name))


@router.get("/lookup", response_model=UnitRead, responses=problem_responses(404))
def lookup_unit(session: SessionDep, _: Reader, code: Annotated[str, Query(min_length=1, max_length=100)]):
    """Find a unit by asset tag or serial (what the barcode scanner reads)."""
    unit = repository.find_unit_by_code(session, code)
    if unit is None:
        raise NotFound(f"No unit has serial or asset tag '{code.strip()}'.")
    return units.unit_read(unit)


@router.get(
    "/export.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "Units as CSV"}},
)
def export_units(
    session: SessionDep,
    _: Reader,
    depot_id: Id | None = None,
    model_id: Id | None = None,
    state: UnitState | None = None,
    stale: bool | None = None,
):
    stmt = repository.units_query(depot_id=depot_id, model_id=model_id, state=state, stale=stale)
    text = csv_io.export_units_csv(repository.units_for_export(session, stmt))
    return Response(text, media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="units.csv"'})


@router.post(
    "/import",
    response_model=ImportResult,
    status_code=201,
    responses=problem_responses(400, 413, 415),
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_units(request: Request, session: SessionDep, key: Warehouse):
    """All or nothing: every row is checked first; problems are listed by line number in `errors`."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("text/csv"):
        raise UnsupportedMediaType("Send the file as the request body with Content-Type: text/csv.")
    raw = await request.body()  # at most MAX_CSV_BYTES: the request guard stops a bigger one
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("The CSV must be UTF-8 text.") from None
    created = await run_in_threadpool(csv_io.import_units, session, text, actor=key.name)
    return ImportResult(imported=len(created), unit_ids=[u.id for u in created])


@router.get("/{unit_id}", response_model=UnitRead, responses=problem_responses(404))
def get_unit(unit_id: Id, session: SessionDep, _: Reader):
    return units.unit_read(repository.get_unit(session, unit_id))


@router.patch("/{unit_id}", response_model=UnitRead, responses=problem_responses(404))
def update_unit(unit_id: Id, body: UnitUpdate, session: SessionDep, _: Warehouse):
    return units.unit_read(units.update_unit(session, unit_id, body))


@router.post("/{unit_id}/transitions", response_model=UnitRead, responses=problem_responses(404, 409))
def transition_unit(unit_id: Id, body: TransitionRequest, session: SessionDep, key: Warehouse):
    """Move the unit to `target_state` by hand. A move the state machine forbids is a 409 naming the
    allowed ones; so is a move into the swap journey (reserved, packed, in transit, deployed, awaiting
    return, returning), which names the flow that makes it, and a move of a unit a swap holds."""
    unit = units.move_by_hand(
        session, unit_id, body.target_state, actor=key.name, reason=body.reason, reference=body.reference
    )
    return units.unit_read(unit)


@router.post("/{unit_id}/move", response_model=UnitRead, responses=problem_responses(404, 409))
def move_unit(unit_id: Id, body: UnitMove, session: SessionDep, key: Warehouse):
    return units.unit_read(units.move_unit(session, unit_id, body, actor=key.name))


@router.get("/{unit_id}/history", response_model=list[LedgerEntryRead], responses=problem_responses(404))
def unit_history(unit_id: Id, session: SessionDep, _: Reader):
    repository.get_unit(session, unit_id)
    return repository.unit_history(session, unit_id)


# Kept beside the one route that uses it (this block was added on its own, below the others).


@router.get(
    "/{unit_id}/label",
    response_class=Response,
    responses={
        200: {
            "description": "A printable asset-tag label: a Code 128 barcode and a QR code of the "
                           "asset tag, with the asset tag, model SKU and serial as text",
            "content": {
                "image/svg+xml": {"schema": {"type": "string"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **problem_responses(404),
    },
)
def unit_label(
    unit_id: Id,
    session: SessionDep,
    _: Reader,
    fmt: Annotated[
        LabelFormat, Query(alias="format", description="svg (vector) or png (300 dpi)")
    ] = LabelFormat.SVG,
):
    """The unit's asset-tag label; a tag with characters Code 128 cannot print is a 422."""
    unit = repository.get_unit(session, unit_id)
    body = render_label(unit.asset_tag, unit.serial, unit.model.sku, fmt)
    disposition = f'inline; filename="unit-{unit_id}-label.{fmt}"'
    return Response(body, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition})
