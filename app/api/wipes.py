"""Wipe evidence: record a unit's sanitization, list it, download its certificate (PDF or JSON)."""

import re

from fastapi import APIRouter
from fastapi.responses import Response

from app.api.deps import Reader, SessionDep, Warehouse
from app.api.problems import problem_responses
from app.inventory import repository, wipes
from app.inventory.certificates import certificate, certificate_pdf
from app.inventory.schemas import Id, WipeCreate, WipeRead
from app.models import WipeRecord

router = APIRouter(prefix="/api/v1", tags=["wipe evidence"], responses=problem_responses(401, 403, 422))


def wipe_read(record: WipeRecord) -> WipeRead:
    return WipeRead.model_validate({
        **{c: getattr(record, c) for c in WipeRead.model_fields
           if c not in ("certificate_number", "certificate_pdf", "certificate_json")},
        "certificate_number": wipes.certificate_number(record),
        "certificate_pdf": f"/api/v1/wipes/{record.id}/certificate.pdf",
        "certificate_json": f"/api/v1/wipes/{record.id}/certificate.json"})


@router.post("/units/{unit_id}/wipes", response_model=WipeRead, status_code=201,
             responses=problem_responses(404, 409))
def record_wipe(unit_id: Id, body: WipeCreate, session: SessionDep, key: Warehouse):
    """Record how a refurbishing unit's storage was wiped (NIST SP 800-88: clear, purge or destroy). A unit
    goes back to ready stock only after a successful one; a unit on legal hold is never wiped (409)."""
    return wipe_read(wipes.record_wipe(session, unit_id, body, actor=key.name))


@router.get("/units/{unit_id}/wipes", response_model=list[WipeRead], responses=problem_responses(404))
def list_wipes(unit_id: Id, session: SessionDep, _: Reader):
    repository.get_unit(session, unit_id)
    return [wipe_read(r) for r in repository.wipes_of(session, unit_id)]


@router.get("/wipes/{wipe_id}/certificate.json", responses=problem_responses(404))
def certificate_json(wipe_id: Id, session: SessionDep, _: Reader) -> dict:
    """The certificate of sanitization, as data."""
    record = wipes.get_wipe(session, wipe_id)
    return certificate(record, repository.get_unit(session, record.unit_id))


@router.get("/wipes/{wipe_id}/certificate.pdf", response_class=Response, responses={
    200: {"content": {"application/pdf": {}}, "description": "The certificate of sanitization"},
    **problem_responses(404)})
def certificate_pdf_file(wipe_id: Id, session: SessionDep, _: Reader) -> Response:
    record = wipes.get_wipe(session, wipe_id)
    pdf = certificate_pdf(record, repository.get_unit(session, record.unit_id))
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"{wipes.certificate_number(record)}-{record.serial}.pdf")
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})
