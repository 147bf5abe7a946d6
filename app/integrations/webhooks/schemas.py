"""Input and output shapes of webhook endpoints and deliveries."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from app.integrations.webhooks.catalog import TYPES
from app.inventory.schemas import Input, Output

EventType = Literal[TYPES]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=2000,
                                       pattern=r"^https?://[^\s]+$")]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class EndpointCreate(Input):
    url: Url = Field(description="https URL resolving to public addresses (hosts in WEBHOOK_ALLOWED_HOSTS excepted)")
    description: Description | None = None
    event_types: list[EventType] = Field(default_factory=list, max_length=len(TYPES),
                                         description="Types wanted; empty: every type")
    enabled: bool = True


class EndpointUpdate(Input):
    url: Url | None = None
    description: Description | None = None
    event_types: list[EventType] | None = Field(default=None, max_length=len(TYPES))
    enabled: bool | None = Field(default=None, description="Enabling again clears the failure record")


class SecretRotation(Input):
    grace_hours: int = Field(default=24, ge=0, le=168,
                             description="How long the old secret still signs beside the new one")


class EndpointRead(Output):
    id: int
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None = Field(description="First failed delivery since the last success")
    previous_secret_until: datetime | None = Field(description="During a rotation: until when the old secret "
                                                   "also signs (the signature header carries both)")
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(EndpointRead):
    secret: str = Field(description="The signing secret (whsec_…). Shown only now: keep it")


class DeliveryRead(Output):
    id: int
    endpoint_id: int
    message_id: str = Field(description="The event's id, sent as webhook-id (the same on every attempt and replay)")
    event_type: str
    swap_id: int | None
    status: str = Field(description="pending | succeeded | failed")
    attempts: int
    occurred_at: datetime
    body: str = Field(description="The request body, as signed and sent")
    last_attempt_at: datetime | None
    response_status: int | None
    response_body: str | None = Field(description="The first 2 KB of the last answer")
    latency_ms: int | None
    error: str | None
    next_attempt_at: datetime | None


class ReplayRange(Input):
    since: AwareDatetime
    until: AwareDatetime
    endpoint_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    status: Literal["failed", "succeeded", "any"] = Field(default="failed", description="Which deliveries to send again")

    @model_validator(mode="after")
    def _ordered(self):
        if self.until <= self.since:
            raise ValueError("until must be after since")
        return self


class Replayed(Output):
    replayed: int
    delivery_ids: list[int]
