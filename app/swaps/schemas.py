"""Swap request input and output shapes."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import EmailStr, Field, StringConstraints, model_validator

from app.inventory.schemas import Category, Code, Id, Input, Output, Timezone
from app.swaps.states import SwapStatus

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OptLine = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None


class ReturnMode(StrEnum):
    SWAP_AT_DOOR = "swap_at_door"
    RETURN_BOX = "return_box"
    NO_RETURN = "no_return"


class Ticket(Input):
    system: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True,
                                             pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")]
    id: Short
    sys_id: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[0-9a-f]{32}$")] | None = \
        Field(default=None, description="ServiceNow: the record's sys_id, which notes are posted to (`id` is the "
                                        "number people read, INC…)")


class DeliveryAddress(Input):
    street1: Line
    street2: OptLine = None
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    region: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = Field(
        default=None, description="State, province or county")
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=20,
                                                  pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]*$")]
    country: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2}$")]


Language = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z]{2,3}([_-][A-Za-z]{2,4})?$")]


class Worker(Input):
    name: Line
    given_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = Field(
        default=None, description="How messages and the tracking page greet the worker (never guessed from `name`)")
    email: EmailStr
    language: Language = Field(default="en", description="Language of messages and the tracking page (a locale "
                                                           "such as en or en-GB; English is shipped)")
    manager_email: EmailStr | None = Field(default=None, description="Told when a return is long overdue")
    phone: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ()-]{5,24}$")] | None = None
    timezone: Timezone
    address: DeliveryAddress


class Needed(Input):
    """A device model (substitutes allowed), or a category with a config profile."""

    model_id: Id | None = None
    category: Category | None = None
    profile_id: Id | None = None

    @model_validator(mode="after")
    def _model_or_category(self):
        if self.model_id is None and (self.category is None or self.profile_id is None):
            raise ValueError("give a model_id, or a category together with a profile_id")
        if self.model_id is not None and self.category is not None:
            raise ValueError("give either model_id or category, not both")
        return self


class SwapCreate(Input):
    ticket: Ticket
    worker: Worker
    needed: Needed
    broken_unit: Code | None = Field(default=None, description="Serial or asset tag of the broken unit, if known")
    return_mode: ReturnMode
    needed_by: date | None = None
    allow_cross_border: bool = Field(default=False, description=(
        "Let a depot that does not serve the worker's country send the unit, with a customs declaration "
        "(slower and dearer). Default: the swap waits for stock in the worker's region"))
    impact_note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class SwapEventRead(Output):
    kind: str
    message: str
    at: datetime
    data: dict
    since_previous_seconds: float | None = Field(default=None, description="Time since the touchpoint before "
                                                 "this one (null for the first): the journey's pace")


class ShipmentRead(Output):
    direction: str
    carrier: str | None
    service_name: str | None
    amount: Decimal | None
    currency: str | None
    label_status: str
    label_url: str | None
    tracking_number: str | None
    tracking_url: str | None
    tracking_status: str | None
    refund_status: str | None = Field(description="Set when the label of a cancelled swap was sent for a "
                                      "refund: QUEUED, PENDING, SUCCESS, ERROR (refused) or in_use")
    pickup_confirmation: str | None
    pickup_date: date | None
    customs: dict | None = Field(default=None, description="The customs declaration the label was bought with, "
                                 "when the shipment crosses a customs border")


class FollowUpRead(Output):
    due_at: datetime = Field(description="When “is it working?” is (or was) asked")
    reminded_at: datetime | None
    answer: str | None = Field(description="yes | no")
    score: int | None = Field(description="1–5")
    comment: str | None
    answered_at: datetime | None
    outcome: str | None = Field(description="working | not_working | no_answer")


class EscalationRead(Output):
    rule: str
    level: int
    reason: str
    at: datetime


class SwapRead(Output):
    id: int
    ticket_system: str
    ticket_id: str
    ticket_sys_id: str | None = None
    status: SwapStatus
    return_mode: ReturnMode
    worker_name: str
    given_name: str | None
    worker_email: str
    city: str
    country: str
    model_id: int | None
    category: str | None
    profile_id: int | None
    broken_unit: str | None
    needed_by: date | None
    allow_cross_border: bool
    street1: str
    region: str | None
    postal_code: str
    address_status: str = Field(description="The carrier's check of the address: valid, corrected (its spelling "
                                "is stored; `address_check` keeps what was given) or unchecked (checked before booking)")
    address_check: dict | None
    unit_id: int | None
    unit_asset_tag: str | None
    unit_model_id: int | None
    is_substitute: bool
    needs_reimage: bool
    depot_id: int | None
    depot_code: str | None
    ship_date: date | None
    promised_date: date | None
    waitlist_position: int | None
    priority: int = Field(description="0 normal; raised to 1–3 by escalation of a swap that lingers")
    return_plan: ReturnMode | None = Field(description="How the broken unit actually comes back, once booked")
    tracking_url: str | None = Field(description="The worker's tracking page; shown only when issued")
    tracking_url_note: str | None = Field(default=None, description="Why `tracking_url` is empty in a replayed "
                                          "answer, and how to get a new link")
    shipments: list[ShipmentRead]
    follow_up: FollowUpRead | None = None
    escalations: list[EscalationRead] = Field(default_factory=list)
    created_at: datetime
    timeline: list[SwapEventRead]


class CancelRequest(Input):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
