"""Output shapes of the warehouse: expected returns and discrepancies (the API and webhooks show them
alike)."""

from datetime import date, datetime
from decimal import Decimal

from pydantic import Field

from app.inventory.schemas import Output


class ExpectedReturnRead(Output):
    id: int
    swap_id: int
    depot_id: int
    code: str | None
    unit_id: int | None
    expected_items: list[str]
    due_date: date
    status: str
    received_code: str | None
    received_unit_id: int | None
    received_at: datetime | None
    items_present: list[str] | None
    condition: str | None
    outcome: str | None
    chase_step: int = Field(description="How far chasing has gone for the current due date: reminders, then "
                                        "support and the manager told, then unreturned")


class DiscrepancyRead(Output):
    id: int
    kind: str
    expected_return_id: int | None
    unit_id: int | None
    depot_id: int
    details: str
    amount: Decimal | None = Field(default=None, description="What replacing what is missing costs")
    currency: str | None = None
    status: str
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None
