"""Inbound carrier webhooks. Shippo authenticates by a secret in the URL (compared in constant
time; two secrets accepted during a rotation); an unknown secret is a plain 404."""

import hmac
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from app import clock
from app.api.deps import SessionDep
from app.api.problems import problem_responses
from app.errors import Unprocessable
from app.models import Shipment
from app.shipping.tracking import Event, apply_event

router = APIRouter(tags=["webhooks"])


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Substatus(_Loose):
    code: str | None = None


class _TrackingStatus(_Loose):
    status: str
    status_details: str | None = None
    status_date: datetime | None = None
    substatus: _Substatus | None = None


class _Track(_Loose):
    carrier: str | None = None
    tracking_number: str = Field(min_length=1, max_length=100)
    tracking_status: _TrackingStatus | None = None


class _Transaction(_Loose):
    object_id: str = Field(min_length=1, max_length=100)
    status: str | None = None
    tracking_number: str | None = None
    tracking_url_provider: str | None = None
    label_url: str | None = None


class ShippoWebhook(_Loose):
    event: str = Field(max_length=50)
    test: bool | None = None
    data: dict[str, Any]


def _authorised(secret: str, request: Request) -> None:
    """A dependency, so a wrong secret is a plain 404 before the body is even validated."""
    secrets = request.app.state.settings.webhook_secrets
    if not any(hmac.compare_digest(secret.encode(), s.encode()) for s in secrets):
        raise HTTPException(404, "Not found")


@router.post("/webhooks/shippo/{secret}", responses={**problem_responses(404, 422)},
             dependencies=[Depends(_authorised)])
def shippo_webhook(body: ShippoWebhook, session: SessionDep) -> dict:
    """`track_updated` moves shipments (idempotent, never backwards); `transaction_updated` settles a
    label that was still queued. Answers fast; unknown tracking numbers are acknowledged and ignored."""
    try:
        if body.event == "track_updated":
            track = _Track.model_validate(body.data)
            if track.tracking_status is None:
                return {"result": "ignored"}
            ts = track.tracking_status
            result = apply_event(session, Event(
                carrier=track.carrier, tracking_number=track.tracking_number, status=ts.status.upper(),
                status_date=(ts.status_date or clock.now()).astimezone(UTC), details=ts.status_details,
                substatus=ts.substatus.code if ts.substatus else None), source="webhook")
            return {"result": result}
        if body.event in ("transaction_updated", "transaction_created"):
            return {"result": _settle_label(session, _Transaction.model_validate(body.data))}
    except ValidationError as exc:
        raise Unprocessable(f"The webhook data is not a Shippo {body.event} payload: "
                            f"{exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None
    return {"result": "ignored"}


def _settle_label(session, tx: _Transaction) -> str:
    row = session.scalars(select(Shipment).where(Shipment.label_id == tx.object_id).with_for_update()).one_or_none()
    if row is None:
        return "unknown"
    if row.label_status == "SUCCESS" or tx.status not in ("SUCCESS", "ERROR"):
        return "recorded"
    row.label_status = tx.status
    if tx.status == "SUCCESS":
        row.tracking_number = tx.tracking_number or row.tracking_number
        row.tracking_url = tx.tracking_url_provider or row.tracking_url
        row.label_url = tx.label_url or row.label_url
    row.updated_at = clock.now()
    return "applied"
