"""The words shipping records in: a shipment's direction, its label's state, a pickup request's state,
and the carrier statuses after which nothing more happens."""

from enum import StrEnum


class Direction(StrEnum):
    OUTBOUND = "outbound"
    RETURN = "return"


class LabelState(StrEnum):
    PENDING = "pending"  # no label bought yet (or its purchase answer was lost)
    QUEUED = "QUEUED"  # bought, the carrier still making it
    SUCCESS = "SUCCESS"
    ERROR = "ERROR"


class PickupState(StrEnum):
    REQUESTING = "requesting"  # asked, answer not (yet) known
    CONFIRMED = "confirmed"
    FAILED = "failed"  # refused before it was made: safe to ask again
    UNCONFIRMED = "unconfirmed"  # answer lost, carrier cannot be asked: support confirms it
    REFUSED = "refused"  # the carrier does not collect here
    ORPHANED = "orphaned"  # its swap was cancelled: for support to cancel with the carrier


# Carrier tracking statuses after which a shipment moves no more.
FINAL_TRACKING = frozenset({"DELIVERED", "RETURNED"})
