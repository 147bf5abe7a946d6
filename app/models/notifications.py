"""Messages to people: the worker, their manager, support. Each is kept here whatever carried it, so
`GET /api/v1/notifications` shows what was (or would be) sent."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class NotificationStatus(StrEnum):
    QUEUED = "queued"  # due at due_at (held there by quiet hours, or scheduled for later)
    SENT = "sent"
    SKIPPED = "skipped"  # no longer true when its time came (e.g. a reminder for a return received)
    FAILED = "failed"  # the channel kept refusing it


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_swap_id", "swap_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The same message is queued once: swap + kind + step (+ channel).
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    swap_id: Mapped[int | None] = mapped_column(ForeignKey("swap_requests.id"))
    kind: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(60))
    audience: Mapped[str] = mapped_column(String(20))  # worker | manager | support
    channel: Mapped[str] = mapped_column(String(20))  # email | sms | support
    recipient: Mapped[str | None] = mapped_column(String(200))
    # What the message says at the moment it was queued (positions, dates): rendered with it.
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10))  # NotificationStatus
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # pushed out of quiet hours to this
    # As sent, with tracking links masked (a link is a credential: the recipient has it, we do not).
    subject: Mapped[str | None] = mapped_column(String(300))
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    delivered_by: Mapped[str | None] = mapped_column(String(40))  # apprise | local outbox
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
