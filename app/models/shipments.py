"""Shipments (labels bought for a swap), the tracking events received for them, and the outbox of
carrier work waiting to be done."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class Shipment(Base):
    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("swap_id", "direction", name="uq_shipments_swap_direction"),
        Index("ix_shipments_tracking", "tracking_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    swap_id: Mapped[int] = mapped_column(ForeignKey("swap_requests.id"), index=True)
    direction: Mapped[str] = mapped_column(String(10))  # outbound | return
    provider: Mapped[str] = mapped_column(String(20))  # shippo | simulated
    reference: Mapped[str] = mapped_column(String(100))  # stored with the label at the carrier
    # The chosen rate is recorded (and committed) before buying, so a retry looks up that rate's label.
    rate_id: Mapped[str | None] = mapped_column(String(100))
    # When the last purchase request was sent: until the carrier can no longer be working on it, a
    # retry does not look for its label (it may not be there yet) nor buy another.
    purchase_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    carrier: Mapped[str | None] = mapped_column(String(50))
    service_level: Mapped[str | None] = mapped_column(String(100))
    service_name: Mapped[str | None] = mapped_column(String(200))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    estimated_days: Mapped[int | None] = mapped_column(Integer)
    customs: Mapped[dict | None] = mapped_column(JSON)  # the declaration sent with it, if it crosses a border
    label_id: Mapped[str | None] = mapped_column(String(100), index=True)
    label_status: Mapped[str] = mapped_column(String(20))  # pending | QUEUED | SUCCESS | ERROR
    label_url: Mapped[str | None] = mapped_column(String(500))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    tracking_url: Mapped[str | None] = mapped_column(String(500))
    tracking_status: Mapped[str | None] = mapped_column(String(20))
    tracking_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    eta: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the carrier's latest estimate
    # Bought with a live carrier key. A carrier's test event never moves a live shipment.
    live: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set once a cancelled swap's label was sent for a refund: QUEUED | PENDING | SUCCESS | ERROR | in_use.
    refund_status: Mapped[str | None] = mapped_column(String(20))
    pickup_id: Mapped[str | None] = mapped_column(String(100))
    pickup_confirmation: Mapped[str | None] = mapped_column(String(100))
    pickup_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PickupRequest(Base):
    """A courier collection asked for: recorded (committed) before the carrier is called and settled
    after, so a call whose answer was lost is looked up, never blindly booked again.

    requesting: asked, answer not (yet) known · confirmed · failed: refused before it was made, safe
    to ask again · unconfirmed: the answer was lost and the carrier cannot be asked about pickups, so
    support confirms it by phone · refused: the carrier does not collect here · orphaned: a courier
    visit nobody needs any more (its swap was cancelled), for support to cancel with the carrier."""

    __tablename__ = "pickup_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    carrier_pickup_id: Mapped[str | None] = mapped_column(String(100))
    confirmation_code: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TrackingEventRecord(Base):
    """Each distinct carrier event once: replays (by webhook or poll) hit the unique key and change
    nothing. The key is status, substatus and the carrier's date for the event (null for some)."""

    __tablename__ = "tracking_events"
    __table_args__ = (UniqueConstraint("shipment_id", "event_key", name="uq_tracking_events_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    event_key: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20))
    substatus: Mapped[str | None] = mapped_column(String(50))
    details: Mapped[str | None] = mapped_column(String(500))
    location: Mapped[str | None] = mapped_column(String(200))
    status_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    applied: Mapped[bool] = mapped_column()
    test: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # a carrier test event
    source: Mapped[str] = mapped_column(String(20))  # webhook | poll | simulated
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookReceipt(Base):
    """Every inbound carrier webhook as it arrived (bounded), with what was made of it: an event we
    could not use is kept here and answered 200, since the carrier would not send it again anyway."""

    __tablename__ = "webhook_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event: Mapped[str | None] = mapped_column(String(50))
    test: Mapped[bool | None] = mapped_column(Boolean)
    body: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20))  # applied | recorded | duplicate | unknown | test_event | ignored | unusable
    detail: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ExtraLabel(Base):
    """A label bought for a shipment that already had one (found by the adopt-before-buy look-up or
    a carrier event): money spent twice, so it is kept on record and sent for a refund."""

    __tablename__ = "extra_labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    label_id: Mapped[str] = mapped_column(String(100), unique=True)
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    found_by: Mapped[str] = mapped_column(String(20))  # lookup | webhook
    refund_status: Mapped[str | None] = mapped_column(String(20))  # QUEUED | PENDING | SUCCESS | ERROR | in_use
    found_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    IN_FLIGHT = "in_flight"  # claimed under a lease
    DONE = "done"
    FAILED = "failed"  # out of attempts (or a final error): escalated


class OutboxJob(Base):
    """A job for the worker: work on an outside system, or for later, written in the same transaction
    as the change that needs it (see `app.outbox`)."""

    __tablename__ = "outbox_jobs"
    __table_args__ = (Index("ix_outbox_jobs_due", "status", "next_attempt_at"), Index("ix_outbox_jobs_lane", "lane", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    # The same logical job is queued once: a second enqueue under the same key does nothing.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # JobStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when it is due
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set at each claim; the worker holding it is the only one whose writes about the job count.
    lease_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    # Jobs of one lane (e.g. one webhook endpoint) run one at a time, in the order queued; other lanes
    # of the same kind run beside them, so one slow receiver holds up only its own lane.
    lane: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
