"""Warranty claims: a broken unit sent back to its maker, and what came of it."""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class WarrantyClaim(Base):
    __tablename__ = "warranty_claims"
    __table_args__ = (Index("ix_warranty_claims_unit", "unit_id", "id"), Index("ix_warranty_claims_open", "closed_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("spare_units.id"))
    vendor: Mapped[str] = mapped_column(String(200))
    rma_number: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by: Mapped[str] = mapped_column(String(100))
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_date: Mapped[date] = mapped_column(Date)  # the vendor's promise
    outcome: Mapped[str | None] = mapped_column(String(10))  # repaired | replaced | refused
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replacement_unit_id: Mapped[int | None] = mapped_column(ForeignKey("spare_units.id"))
    notes: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # support told it is overdue
