"""All tables, imported here so Alembic and tests see one metadata."""

from app.models.api_keys import ApiKey
from app.models.base import Base
from app.models.claims import WarrantyClaim
from app.models.holds import LegalHold
from app.models.integrations import (
    DeliveryStatus,
    TicketNote,
    TicketNoteStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.models.inventory import ConfigProfile, Depot, DeviceModel, ParLevel, model_substitutes
from app.models.notifications import Notification, NotificationStatus
from app.models.planning import Simulation, SimulationStatus
from app.models.returns import (
    ChargeBack,
    ChargeBackStatus,
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
from app.models.swaps import (
    Escalation,
    FollowUp,
    IdempotencyRecord,
    Reservation,
    SwapEvent,
    SwapRequest,
    TrackingLink,
)
from app.models.units import CustodyEntry, SpareUnit
from app.models.wipes import WipeRecord

__all__ = [
    "ApiKey",
    "Base",
    "ChargeBack",
    "ChargeBackStatus",
    "ConfigProfile",
    "CustodyEntry",
    "CycleCount",
    "DeliveryStatus",
    "Depot",
    "DeviceModel",
    "Discrepancy",
    "DiscrepancyStatus",
    "Escalation",
    "ExpectedReturn",
    "ExtraLabel",
    "FollowUp",
    "IdempotencyRecord",
    "JobStatus",
    "LegalHold",
    "Notification",
    "NotificationStatus",
    "OutboxJob",
    "ParLevel",
    "PickupRequest",
    "Reservation",
    "ReturnStatus",
    "Scan",
    "ServiceSecret",
    "Shipment",
    "Simulation",
    "SimulationStatus",
    "SpareUnit",
    "SwapEvent",
    "SwapRequest",
    "TicketNote",
    "TicketNoteStatus",
    "TrackingEventRecord",
    "TrackingLink",
    "WarrantyClaim",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookReceipt",
    "WipeRecord",
    "model_substitutes",
]
