"""Wipe evidence: a refurbished unit goes back to ready stock only after a successful wipe of its
storage is on record (NIST SP 800-88 Rev. 1: method clear, purge or destroy; tool and version;
technician; start and end; result; verification). Each record is a certificate, per serial."""

from sqlalchemy.orm import Session

from app import clock
from app.errors import Conflict, NotFound, Unprocessable
from app.inventory import holds, ledger, repository
from app.inventory.schemas import WipeCreate
from app.inventory.states import UnitState
from app.models import SpareUnit, WipeRecord


def certificate_number(record: WipeRecord) -> str:
    return f"WC-{record.id:06d}"


def record_wipe(session: Session, unit_id: int, data: WipeCreate, *, actor: str) -> WipeRecord:
    unit = repository.get_unit_for_update(session, unit_id)
    if unit.state != UnitState.REFURBISHING:
        raise Conflict(f"Unit {unit.asset_tag} is '{unit.state}': a wipe is recorded while it is 'refurbishing' "
                       "(triage it to refurbish first).", current_state=unit.state)
    holds.refuse_if_held(session, unit)
    now = clock.now()
    ended = data.ended_at or now
    started = data.started_at or ended
    if ended > now:
        raise Unprocessable("ended_at is in the future.", field="ended_at")
    if started > ended:
        raise Unprocessable("started_at is after ended_at.", field="started_at")
    record = WipeRecord(unit_id=unit.id, serial=unit.serial, method=data.method.value, technique=data.technique,
                        tool=data.tool, tool_version=data.tool_version, technician=data.technician,
                        started_at=started, ended_at=ended, result=data.result.value, verification=data.verification,
                        verified_by=data.verified_by, notes=data.notes, recorded_by=actor, recorded_at=now)
    session.add(record)
    session.flush()
    ledger.record(session, unit, from_state=unit.state, from_depot_id=unit.depot_id, actor=actor,
                  reason=f"wipe {certificate_number(record)}: {record.method} ({record.technique}) with {record.tool} "
                         f"{record.tool_version} by {record.technician}, {record.result}; certificate "
                         f"/api/v1/wipes/{record.id}/certificate.pdf", reference=f"wipe:{record.id}")
    return record


def check_wiped(session: Session, unit: SpareUnit) -> None:
    """No unit returns to ready stock from refurbishing without a successful wipe since it went in."""
    if repository.successful_wipe_since_refurbishing(session, unit.id) is None:
        raise Conflict(f"Unit {unit.asset_tag} has no successful wipe on record since it went to refurbishing: "
                       f"record one (POST /api/v1/units/{unit.id}/wipes) before it goes back to stock.")


def get_wipe(session: Session, wipe_id: int) -> WipeRecord:
    record = session.get(WipeRecord, wipe_id)
    if record is None:
        raise NotFound(f"No wipe record with id {wipe_id}.")
    return record
