"""What goes back to the systems that asked: signed webhooks to registered endpoints, and notes on
the ticket in the team's ticketing tool."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    event_types: Mapped[list] = mapped_column(JSON, default=list)  # empty: every type
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The signing secret (whsec_…), encrypted with a key derived from the service's secret; during a
    # rotation the previous one also signs, until `previous_secret_until`.
    secret_encrypted: Mapped[str] = mapped_column(Text)
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set at the first failed delivery after a success; an endpoint failing for 3 days is disabled.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # queued, or failed and due again
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # out of attempts, refused for good (4xx, 410), or its endpoint was disabled


class WebhookDelivery(Base):
    """One event for one endpoint. The body is kept as the exact bytes signed, so a retry or a replay
    sends the same message (same `webhook-id`) and a receiver can tell it has seen it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "message_id", name="uq_webhook_deliveries_endpoint_message"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(40))  # msg_…: the event's stable id
    event_type: Mapped[str] = mapped_column(String(40))
    swap_id: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12))  # DeliveryStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The last attempt: when, what came back, how long it took.
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)  # the first 2 KB
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TicketNoteStatus(StrEnum):
    QUEUED = "queued"
    POSTED = "posted"
    FAILED = "failed"  # the tool kept refusing it (the swap is not affected)


class TicketNote(Base):
    """A note posted (or to be posted) on the swap's ticket: internal for support, or public."""

    __tablename__ = "ticket_notes"
    __table_args__ = (Index("ix_ticket_notes_swap", "swap_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)  # swap + moment + step + visibility
    swap_id: Mapped[int] = mapped_column(ForeignKey("swap_requests.id"))
    system: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[str] = mapped_column(String(100))
    moment: Mapped[str] = mapped_column(String(40))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # TicketNoteStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
