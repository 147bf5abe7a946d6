"""Expected returns, discrepancies, scans at the bench, and cycle counts."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class ReturnStatus(StrEnum):
    OPEN = "open"  # on its way back, or not sent yet
    RECEIVED = "received"  # on the bench, not yet inspected
    CLOSED = "closed"  # inspected (or given up as lost)
    UNRETURNED = "unreturned"  # chased to the end: a charge-back is raised (it may still come back)


class DiscrepancyStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class ExpectedReturn(Base):
    """What should come back from a swap, by when, with what in the box."""

    __tablename__ = "expected_returns"
    __table_args__ = (Index("ix_expected_returns_open_due", "status", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    swap_id: Mapped[int] = mapped_column(ForeignKey("swap_requests.id"), unique=True)
    depot_id: Mapped[int] = mapped_column(ForeignKey("depots.id"))
    code: Mapped[str | None] = mapped_column(String(100))  # serial or asset tag given at intake
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("spare_units.id"))  # when it is one of ours
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"))
    expected_items: Mapped[list[str]] = mapped_column(JSON)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # ReturnStatus
    received_unit_id: Mapped[int | None] = mapped_column(ForeignKey("spare_units.id"))
    received_code: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_by: Mapped[str | None] = mapped_column(String(100))
    items_present: Mapped[list[str] | None] = mapped_column(JSON)
    condition: Mapped[str | None] = mapped_column(String(20))  # ok | damaged
    outcome: Mapped[str | None] = mapped_column(String(20))  # matched | wrong_unit | missing_items | damaged | lost
    last_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How far the chasing has gone for the current due date: 0 none, then each reminder, escalation,
    # unreturned (see warehouse.chasing). Moving the due date starts it again.
    chase_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Discrepancy(Base):
    __tablename__ = "discrepancies"
    __table_args__ = (
        # One open flag of a kind per return (sweeps run often and in several processes).
        UniqueConstraint("kind", "expected_return_id", "unit_id", name="uq_discrepancies_kind_return_unit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # wrong_unit | missing_items | damaged | overdue | lost | unexpected
    expected_return_id: Mapped[int | None] = mapped_column(ForeignKey("expected_returns.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("spare_units.id"), index=True)
    depot_id: Mapped[int] = mapped_column(ForeignKey("depots.id"))
    details: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))  # what it costs to replace (missing items)
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10))  # DiscrepancyStatus
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)


class ChargeBackStatus(StrEnum):
    PENDING = "pending"  # for support to confirm or waive
    CONFIRMED = "confirmed"
    WAIVED = "waived"


class ChargeBack(Base):
    """A device that was never returned, priced at its model's replacement value."""

    __tablename__ = "charge_backs"

    id: Mapped[int] = mapped_column(primary_key=True)
    expected_return_id: Mapped[int] = mapped_column(ForeignKey("expected_returns.id"), unique=True)
    swap_id: Mapped[int] = mapped_column(ForeignKey("swap_requests.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10))  # ChargeBackStatus
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)


class Scan(Base):
    """Every code scanned at the bench, with the answer given."""

    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(100))
    depot_id: Mapped[int] = mapped_column(ForeignKey("depots.id"))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(30))
    ok: Mapped[bool] = mapped_column()
    instruction: Mapped[str] = mapped_column(Text)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("spare_units.id"))
    expected_return_id: Mapped[int | None] = mapped_column(ForeignKey("expected_returns.id"))
    cycle_count_id: Mapped[int | None] = mapped_column(ForeignKey("cycle_counts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class CycleCount(Base):
    __tablename__ = "cycle_counts"

    id: Mapped[int] = mapped_column(primary_key=True)
    depot_id: Mapped[int] = mapped_column(ForeignKey("depots.id"))
    started_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report: Mapped[dict | None] = mapped_column(JSON)
