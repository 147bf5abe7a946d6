"""Reconciliation: the period report (JSON and CSV), the invariant check, and cycle counts."""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.orm import Session

from app.api.deps import Reader, SessionDep, Warehouse
from app.api.problems import problem_responses
from app.inventory.schemas import Id, Input, Output
from app.models import CycleCount
from app.warehouse import cycle_count, reconciliation

router = APIRouter(prefix="/api/v1", tags=["reconciliation"], responses=problem_responses(401, 403, 422))


class DiscrepancyLine(Output):
    id: int
    kind: str
    expected_return_id: int | None
    unit_id: int | None
    status: str
    details: str
    created_at: datetime


class ReturnLine(Output):
    expected_return_id: int
    swap_id: int
    ticket: str
    depot_id: int
    due_date: date
    status: str
    outcome: str | None
    received_at: datetime | None
    overdue: bool = Field(description="still open and past its due date")
    closed: bool = Field(description="checked in and matched: the swap's loop is closed")
    discrepancies: list[DiscrepancyLine]


class ReconciliationRead(Output):
    depot_id: int | None
    since: date
    until: date
    shipped_out: int = Field(description="outbound labels bought in the period")
    expected: int = Field(description="returns expected (created) in the period; the counts below are of these")
    received: int
    matched: int
    overdue: int
    lost: int
    by_outcome: dict[str, int] = Field(description="'pending' counts returns with no outcome yet")
    open_discrepancies: list[DiscrepancyLine]
    returns: list[ReturnLine]


class BreachRead(Output):
    unit_id: int | None = None
    swap_id: int | None = None
    kind: str
    detail: str


class InvariantReport(BaseModel):
    ok: bool
    breaches: list[BreachRead]


class CountStart(Input):
    depot_id: Id


class CountScanRequest(Input):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class CountScanRead(BaseModel):
    scan_id: int
    code: str
    unit_id: int | None
    asset_tag: str | None
    ok: bool = Field(description="the unit is where our records place it")
    instruction: str
    duplicate: bool = Field(description="already counted: nothing new was recorded")


class CountLine(BaseModel):
    code: str
    unit_id: int | None
    asset_tag: str | None
    state: str | None
    depot_id: int | None
    depot_code: str | None
    reason: str


class CountReport(BaseModel):
    closed_by: str
    scanned: int
    expected: int
    matched: int
    expected_not_scanned: list[CountLine]
    scanned_not_expected: list[CountLine]


class CountedCode(Output):
    code: str
    unit_id: int | None
    ok: bool
    at: datetime


class CycleCountRead(BaseModel):
    id: int
    depot_id: int
    status: str = Field(description="open | closed")
    started_by: str
    started_at: datetime
    closed_at: datetime | None
    scans: list[CountedCode]
    report: CountReport | None


@router.get("/reconciliation", response_model=ReconciliationRead, responses=problem_responses(404))
def get_reconciliation(session: SessionDep, _: Reader, depot_id: Id | None = None, since: date | None = None,
                       until: date | None = None):
    """What went out and came back over a period (both ends inclusive; default the last 30 days)."""
    return reconciliation.period_report(session, depot_id=depot_id, since=since, until=until)


@router.get("/reconciliation.csv", response_class=Response, responses={
    **problem_responses(404),
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "One row per expected return"}})
def export_reconciliation(session: SessionDep, _: Reader, depot_id: Id | None = None, since: date | None = None,
                          until: date | None = None):
    report = reconciliation.period_report(session, depot_id=depot_id, since=since, until=until)
    return Response(reconciliation.report_csv(report), media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="reconciliation-{report.since}-{report.until}.csv"'})


@router.get("/reconciliation/invariants", response_model=InvariantReport, response_model_exclude_none=True)
def get_invariants(session: SessionDep, _: Reader):
    """Every unit in one state and place with a continuous ledger; every hold backed by one reservation."""
    breaches = reconciliation.check_invariants(session)
    return InvariantReport(ok=not breaches, breaches=breaches)


def _count_read(session: Session, count: CycleCount) -> CycleCountRead:
    return CycleCountRead(id=count.id, depot_id=count.depot_id, status="closed" if count.closed_at else "open",
                          started_by=count.started_by, started_at=count.started_at, closed_at=count.closed_at,
                          scans=cycle_count.scans(session, count.id), report=count.report)


@router.post("/cycle-counts", response_model=CycleCountRead, status_code=201, responses=problem_responses(404))
def start_cycle_count(body: CountStart, session: SessionDep, key: Warehouse):
    """Start counting one depot's shelves."""
    return _count_read(session, cycle_count.start(session, depot_id=body.depot_id, actor=key.name))


@router.get("/cycle-counts/{count_id}", response_model=CycleCountRead, responses=problem_responses(404))
def get_cycle_count(count_id: Id, session: SessionDep, _: Reader):
    return _count_read(session, cycle_count.get(session, count_id))


@router.post("/cycle-counts/{count_id}/scans", response_model=CountScanRead, responses=problem_responses(404, 409))
def scan_for_count(count_id: Id, body: CountScanRequest, session: SessionDep, key: Warehouse):
    """A code seen on the shelf (counted once however often it is scanned; unknown codes too)."""
    result = cycle_count.record_scan(session, count_id, code=body.code, actor=key.name)
    return CountScanRead(scan_id=result.scan.id, code=result.scan.code, unit_id=result.scan.unit_id,
                         asset_tag=result.unit.asset_tag if result.unit else None, ok=result.scan.ok,
                         instruction=result.scan.instruction, duplicate=result.duplicate)


@router.post("/cycle-counts/{count_id}/close", response_model=CycleCountRead, responses=problem_responses(404, 409))
def close_cycle_count(count_id: Id, session: SessionDep, key: Warehouse):
    """Compare the scans with the records: units expected but not scanned, codes scanned but not expected.
    No unit changes; resolving what the report lists is a human decision."""
    return _count_read(session, cycle_count.close(session, count_id, actor=key.name))
