"""Legal holds: a unit, or every unit a worker has had, kept exactly as it is (never wiped,
refurbished or retired) until the hold is lifted or runs out."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class LegalHold(Base):
    __tablename__ = "legal_holds"
    __table_args__ = (
        CheckConstraint("(unit_id IS NULL) <> (worker_email IS NULL)", name="ck_legal_holds_one_subject"),
        Index("ix_legal_holds_unit", "unit_id"),
        Index("ix_legal_holds_worker", "worker_email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("spare_units.id"))
    worker_email: Mapped[str | None] = mapped_column(String(320))  # lower case
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(100))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[date | None] = mapped_column(Date)  # held through this day; none: until lifted
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(100))
    lift_reason: Mapped[str | None] = mapped_column(Text)
