"""Output shape of a note on the ticket."""

from datetime import datetime

from pydantic import Field

from app.inventory.schemas import Output


class TicketNoteRead(Output):
    id: int
    swap_id: int
    system: str
    ticket_id: str
    moment: str = Field(description="allocated | backordered | shipped | delivered | exception | escalated | "
                                    "followup | closed")
    public: bool = Field(description="A comment the worker sees on their ticket; else an internal note")
    body: str
    status: str = Field(description="queued | posted | failed (the tool kept refusing it; the swap is unaffected)")
    attempts: int
    response_status: int | None
    external_id: str | None = Field(description="The tool's id of the comment (Jira) or audit (Zendesk)")
    error: str | None
    created_at: datetime
    posted_at: datetime | None
