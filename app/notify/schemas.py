"""Notification output shape."""

from datetime import datetime

from pydantic import Field

from app.inventory.schemas import Output


class NotificationRead(Output):
    id: int
    swap_id: int | None
    kind: str
    step: str
    audience: str = Field(description="worker | manager | support")
    channel: str = Field(description="email | sms | support")
    recipient: str | None
    status: str = Field(description="queued (waiting for its time, or for working hours) | sent | skipped | failed")
    due_at: datetime
    held_until: datetime | None = Field(description="Held back to the start of the recipient's working hours")
    sent_at: datetime | None
    delivered_by: str | None = Field(description="apprise, or `local outbox` where no channel URL is set")
    subject: str | None
    body_text: str | None = Field(description="As sent; tracking links are shown as <link>")
    body_html: str | None
    error: str | None
