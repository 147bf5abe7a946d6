"""All tables, imported here so Alembic and tests see one metadata."""

from app.models.api_keys import ApiKey
from app.models.base import Base
from app.models.inventory import ConfigProfile, Depot, DeviceModel, ParLevel, model_substitutes
from app.models.returns import (
    CycleCount,
    Discrepancy,
    DiscrepancyStatus,
    ExpectedReturn,
    ReturnStatus,
    Scan,
)
from app.models.service import ServiceSecret
from app.models.shipments import (
    ExtraLabel,
    JobStatus,
    OutboxJob,
    PickupRequest,
    Shipment,
    TrackingEventRecord,
    WebhookReceipt,
)
from app.models.swaps import IdempotencyRecord, Reservation, SwapEvent, SwapRequest
from app.models.units import CustodyEntry, SpareUnit

__all__ = [
    "ApiKey",
    "Base",
    "ConfigProfile",
    "CustodyEntry",
    "CycleCount",
    "Depot",
    "DeviceModel",
    "Discrepancy",
    "DiscrepancyStatus",
    "ExpectedReturn",
    "ExtraLabel",
    "IdempotencyRecord",
    "JobStatus",
    "OutboxJob",
    "ParLevel",
    "PickupRequest",
    "Reservation",
    "ReturnStatus",
    "Scan",
    "ServiceSecret",
    "Shipment",
    "SpareUnit",
    "SwapEvent",
    "SwapRequest",
    "TrackingEventRecord",
    "WebhookReceipt",
    "model_substitutes",
]
