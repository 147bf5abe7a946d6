"""Shippo's webhooks, read in full and tolerantly (the SDK's strict models crash on some real payloads).

Every body is kept as received (`WebhookReceipt`) with what was made of it. One we cannot use is
answered 200 all the same: Shippo does not retry a 4xx, so refusing it would only lose it.

- `track_updated` (data is a Track): every entry of `tracking_history` and the current
  `tracking_status` is applied oldest first, as the poll does; `eta` and `location` are kept; the
  shipment is found by `transaction`, else by tracking number *and* carrier.
- `transaction_created` / `transaction_updated` (data is a Transaction): settles a queued label;
  adopts a label whose purchase answer was lost (found by rate and metadata); records a second label
  for a shipment as an extra one to refund; and carries refund outcomes (REFUNDED, REFUNDPENDING,
  REFUNDREJECTED) to the shipment.
- `test: true` events never move a shipment bought with a live key."""

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from app import clock
from app.models import Shipment, SwapRequest, WebhookReceipt
from app.shipping import repository
from app.shipping.carrier import Label
from app.shipping.labels import record_extra_label, record_label
from app.shipping.states import LabelState
from app.shipping.tracking import Event, apply_event, find_shipment
from app.swaps.timeline import add_event

MAX_KEPT_BODY = 64 * 1024
KEEP_RECEIPTS_FOR = timedelta(days=30)
REFUND_STATUS = {"REFUNDED": "SUCCESS", "REFUNDPENDING": "PENDING", "REFUNDREJECTED": "ERROR"}
# How the results of several events in one webhook add up: the most telling one wins.
OUTCOME_ORDER = ("applied", "recorded", "test_event", "duplicate", "unknown")


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Location(_Loose):
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None

    def text(self) -> str | None:
        return ", ".join(p for p in (self.city, self.state, self.country) if p) or None


class _Substatus(_Loose):
    code: str | None = Field(default=None, max_length=50)
    text: str | None = None
    action_required: bool | None = None


class _TrackingStatus(_Loose):
    status: str = Field(max_length=20)
    status_details: str | None = None
    status_date: datetime | None = None
    object_created: datetime | None = None
    substatus: _Substatus | None = None
    location: _Location | None = None


class _Track(_Loose):
    carrier: str | None = Field(default=None, max_length=50)
    tracking_number: str = Field(min_length=1, max_length=100)
    transaction: str | None = Field(default=None, max_length=100)
    eta: datetime | None = None
    tracking_status: _TrackingStatus | None = None
    tracking_history: list[_TrackingStatus] = []


class _RateRef(_Loose):
    object_id: str | None = None


class _Transaction(_Loose):
    object_id: str = Field(min_length=1, max_length=100)
    status: str | None = None
    rate: str | _RateRef | None = None
    metadata: str | None = None
    tracking_number: str | None = Field(default=None, max_length=100)
    tracking_url_provider: str | None = Field(default=None, max_length=500)
    label_url: str | None = Field(default=None, max_length=500)
    test: bool | None = None


class ShippoWebhook(_Loose):
    event: str = Field(max_length=50)
    test: bool | None = None
    data: Any = None


def receive(session: Session, raw: bytes, *, keep_test_events: bool) -> str:
    """Keep the webhook and apply what it says; returns the outcome (also what Shippo is answered). The
    receipt is written last, in the same transaction, with its outcome (one INSERT, not an INSERT and an
    UPDATE)."""
    receipt = WebhookReceipt(provider="shippo", body=_as_text(raw), outcome="unusable", received_at=clock.now())
    _apply(session, receipt, raw, keep_test_events=keep_test_events)
    session.add(receipt)
    return receipt.outcome


def _apply(session: Session, receipt: WebhookReceipt, raw: bytes, *, keep_test_events: bool) -> None:
    try:
        hook = ShippoWebhook.model_validate_json(raw)
    except ValidationError as exc:
        receipt.detail = _first_error(exc)
        return
    receipt.event, receipt.test = hook.event, hook.test
    test = bool(hook.test)
    try:
        if hook.event == "track_updated":
            receipt.outcome = _track(session, _Track.model_validate(hook.data), test=test,
                                     keep_test_events=keep_test_events)
        elif hook.event in ("transaction_created", "transaction_updated"):
            receipt.outcome = _transaction(session, _Transaction.model_validate(hook.data), test=test)
        else:
            receipt.outcome, receipt.detail = "ignored", f"event {hook.event!r} is not one we act on"
    except ValidationError as exc:
        receipt.outcome, receipt.detail = "unusable", _first_error(exc)


def purge_expired(session: Session) -> int:
    return repository.purge_receipts(session, clock.now() - KEEP_RECEIPTS_FOR)


def combine(outcomes: list[str]) -> str:
    return min(outcomes, key=OUTCOME_ORDER.index) if outcomes else "recorded"


def _track(session: Session, track: _Track, *, test: bool, keep_test_events: bool) -> str:
    entries = list(track.tracking_history)
    if track.tracking_status is not None and not any(_same(track.tracking_status, e) for e in entries):
        entries.append(track.tracking_status)
    events = sorted((_event(track, e, test=test) for e in entries),
                    key=lambda e: e.status_date or datetime.max.replace(tzinfo=UTC))
    result = combine([apply_event(session, e, source="webhook", keep_test_events=keep_test_events)
                      for e in events])
    if track.eta is not None and result not in ("test_event", "unknown"):
        row = find_shipment(session, carrier=track.carrier, tracking_number=track.tracking_number,
                            transaction=track.transaction)
        if row is not None:
            row.eta = _utc(track.eta)
    return result


def _same(a: _TrackingStatus, b: _TrackingStatus) -> bool:
    return (a.status, a.status_date, a.substatus and a.substatus.code) == (b.status, b.status_date,
                                                                            b.substatus and b.substatus.code)


def _event(track: _Track, s: _TrackingStatus, *, test: bool) -> Event:
    when = s.status_date or s.object_created  # the carrier's own date for it, never our receive time
    return Event(carrier=track.carrier, tracking_number=track.tracking_number, status=s.status.upper(),
                 status_date=_utc(when) if when else None, details=s.status_details,
                 substatus=s.substatus.code if s.substatus else None,
                 action_required=bool(s.substatus and s.substatus.action_required),
                 location=s.location.text() if s.location else None, transaction=track.transaction, test=test)


def _transaction(session: Session, tx: _Transaction, *, test: bool) -> str:
    rate_id = tx.rate if isinstance(tx.rate, str) else (tx.rate.object_id if tx.rate else None)
    row = repository.shipment_by_label_for_update(session, tx.object_id)
    if row is None and rate_id and tx.metadata:
        # A purchase whose answer never reached us: the event names the rate and our reference.
        row = repository.shipment_by_rate_for_update(session, rate_id, tx.metadata)
    if row is None:
        extra = repository.extra_label(session, tx.object_id)
        if extra is not None and (tx.status or "").upper() in REFUND_STATUS:
            extra.refund_status, extra.updated_at = REFUND_STATUS[tx.status.upper()], clock.now()
            return "applied"
        return "unknown"
    if test and row.live:
        return "test_event"
    status = (tx.status or "").upper()
    if status in REFUND_STATUS:
        return _refund(session, row, tx, REFUND_STATUS[status])
    if status not in ("SUCCESS", "ERROR"):
        return "recorded"  # still queued: the answer that settles it comes later
    if row.label_id not in (None, tx.object_id):
        if status == "SUCCESS" and record_extra_label(session, row, tx.object_id, tx.tracking_number,
                                                      found_by="webhook"):
            return "applied"
        return "recorded"
    if row.label_status == LabelState.SUCCESS or (row.label_id is None and status == "ERROR"):
        return "recorded"  # already settled; or a failed purchase we never knew of: nothing was bought
    record_label(row, Label(label_id=tx.object_id, tracking_number=tx.tracking_number or None,
                            tracking_url=tx.tracking_url_provider or None, label_url=tx.label_url or None,
                            carrier=row.carrier or "", rate_id=rate_id or row.rate_id or "",
                            status="SUCCESS" if status == "SUCCESS" else "ERROR", live=tx.test is False))
    return "applied"


def _refund(session: Session, row: Shipment, tx: _Transaction, refund_status: str) -> str:
    if row.label_id != tx.object_id:
        return "recorded"
    row.refund_status, row.updated_at = refund_status, clock.now()
    if refund_status == "ERROR":
        add_event(session, session.get(SwapRequest, row.swap_id), "refund_refused",
                  f"The carrier refused to refund the {row.direction} label ({row.tracking_number}). "
                  "Escalated to support to claim it by hand.", escalated=True)
    return "applied"


def _utc(value: datetime) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def _as_text(raw: bytes) -> str:
    # PostgreSQL text cannot hold NUL; the body is kept for people to read, not to be replayed.
    return raw[:MAX_KEPT_BODY].decode("utf-8", "replace").replace("\x00", "\ufffd")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err.get('loc', ())) or 'body'}: {err.get('msg', 'invalid')}"[:500]
