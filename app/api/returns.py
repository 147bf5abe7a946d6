"""The warehouse bench: scans, return inspections, discrepancies, triage and refurbishment."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, StringConstraints

from app.api.deps import Reader, SessionDep, Support, Warehouse
from app.api.problems import problem_responses
from app.inventory import refurbish, units
from app.inventory.schemas import Id, Input, Output, UnitRead
from app.warehouse import chasing, repository, returns, scanning
from app.warehouse.schemas import DiscrepancyRead, ExpectedReturnRead

router = APIRouter(prefix="/api/v1", tags=["warehouse"], responses=problem_responses(401, 403, 422))
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ScanRequest(Input):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    depot_id: Id
    return_id: Id | None = Field(default=None, description="The return box just opened (from a box-label scan): "
                                  "the device scanned next is received against it")


class ScanResult(BaseModel):
    ok: bool
    action: str = Field(description="packed | received | info | problem | unknown")
    instruction: str
    unit_id: int | None
    asset_tag: str | None
    swap_id: int | None
    expected_return_id: int | None
    checklist: list[str]


class Inspection(Input):
    items_present: list[Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1,
                                                         max_length=50)]] = Field(max_length=20)
    damaged: bool = False
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None


class DueDateChange(Input):
    due_date: date
    reason: Reason


class ChargeBackRead(Output):
    id: int
    expected_return_id: int
    swap_id: int
    amount: Decimal
    currency: str
    status: str = Field(description="pending | confirmed | waived")
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    note: str | None


class ChargeBackDecision(Input):
    note: Reason


class Resolve(Input):
    resolution: Reason


class TriageRequest(Input):
    decision: refurbish.TriageDecision
    reason: Reason
    grade: Literal["A", "B", "C"] | None = Field(default=None, description="Cosmetic grade: A as new, B light wear, "
                                                  "C visible damage (C is not sent to workers)")
    battery_health: Annotated[int, Field(ge=0, le=100)] | None = Field(
        default=None, description="Battery capacity left, % of design (under 80 is not sent to workers)")


class RefurbishedRequest(Input):
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None


@router.post("/scans", response_model=ScanResult, responses=problem_responses(404))
def post_scan(body: ScanRequest, session: SessionDep, key: Warehouse):
    """What the scanner read, at which depot. The answer is one instruction for the tech; a change
    (packed, received) happens only when the answer says so."""
    answer = scanning.scan(session, code=body.code, depot_id=body.depot_id, actor=key.name, return_id=body.return_id)
    return ScanResult(**answer.__dict__)


@router.get("/returns", response_model=list[ExpectedReturnRead])
def list_returns(session: SessionDep, _: Reader, status: Annotated[str | None, Query(max_length=20)] = None,
                 depot_id: Id | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 200):
    return repository.list_returns(session, status=status, depot_id=depot_id, limit=limit)


@router.patch("/returns/{return_id}", response_model=ExpectedReturnRead, responses=problem_responses(404, 409))
def move_return_due_date(return_id: Id, body: DueDateChange, session: SessionDep, key: Support):
    """Give the worker more time: the reminders start again from the new date."""
    return chasing.extend_due(session, return_id, due_date=body.due_date, reason=body.reason, actor=key.name)


@router.get("/charge-backs", response_model=list[ChargeBackRead])
def list_charge_backs(session: SessionDep, _: Reader,
                      status: Annotated[str | None, Query(max_length=10)] = None):
    """Devices never returned, priced at their model's replacement value."""
    return repository.list_charge_backs(session, status=status)


@router.post("/charge-backs/{charge_id}/confirm", response_model=ChargeBackRead,
             responses=problem_responses(404, 409))
def confirm_charge_back(charge_id: Id, body: ChargeBackDecision, session: SessionDep, key: Support):
    return chasing.decide_charge_back(session, charge_id, confirm=True, note=body.note, actor=key.name)


@router.post("/charge-backs/{charge_id}/waive", response_model=ChargeBackRead, responses=problem_responses(404, 409))
def waive_charge_back(charge_id: Id, body: ChargeBackDecision, session: SessionDep, key: Support):
    return chasing.decide_charge_back(session, charge_id, confirm=False, note=body.note, actor=key.name)


@router.post("/returns/{return_id}/inspection", response_model=ExpectedReturnRead,
             responses=problem_responses(404, 409))
def inspect_return(return_id: Id, body: Inspection, session: SessionDep, key: Warehouse):
    """The contents checklist and condition of a received return; the unit moves on to triage."""
    return returns.inspect(session, return_id, items_present=body.items_present, damaged=body.damaged,
                           notes=body.notes, actor=key.name)


@router.get("/discrepancies", response_model=list[DiscrepancyRead])
def list_discrepancies(session: SessionDep, _: Reader, status: Annotated[str | None, Query(max_length=10)] = "open",
                       kind: Annotated[str | None, Query(max_length=20)] = None, depot_id: Id | None = None):
    return repository.list_discrepancies(session, status=status, kind=kind, depot_id=depot_id)


@router.post("/discrepancies/{discrepancy_id}/resolve", response_model=DiscrepancyRead,
             responses=problem_responses(404))
def resolve_discrepancy(discrepancy_id: Id, body: Resolve, session: SessionDep, key: Warehouse):
    return returns.resolve(session, discrepancy_id, resolution=f"{body.resolution} (by {key.name})")


@router.post("/units/{unit_id}/triage", response_model=UnitRead, tags=["units"], responses=problem_responses(404, 409))
def triage_unit(unit_id: Id, body: TriageRequest, session: SessionDep, key: Warehouse):
    """Decide a unit in triage: refurbish it, or retire it (with the reason)."""
    return units.unit_read(refurbish.triage(session, unit_id, body.decision, reason=body.reason, actor=key.name,
                                            grade=body.grade, battery_health=body.battery_health))


@router.post("/units/{unit_id}/refurbished", response_model=UnitRead, tags=["units"],
             responses=problem_responses(404, 409))
def unit_refurbished(unit_id: Id, body: RefurbishedRequest, session: SessionDep, key: Warehouse):
    """Wiped, re-imaged to the profile's current version, tested, charged: back to ready (and to the waitlist)."""
    return units.unit_read(refurbish.refurbished(session, unit_id, notes=body.notes, actor=key.name))
