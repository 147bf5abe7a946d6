"""Media sanitization records (NIST SP 800-88 Rev. 1): how a unit's storage was wiped, by whom, with
what, when, and how the result was verified. Rows are kept for good: a certificate is issued from each."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class WipeRecord(Base):
    __tablename__ = "wipe_records"
    __table_args__ = (Index("ix_wipe_records_unit", "unit_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("spare_units.id"))
    serial: Mapped[str] = mapped_column(String(100))  # as it was when wiped
    method: Mapped[str] = mapped_column(String(10))  # clear | purge | destroy
    technique: Mapped[str] = mapped_column(String(200))  # e.g. cryptographic erase, overwrite (1 pass)
    tool: Mapped[str] = mapped_column(String(200))
    tool_version: Mapped[str] = mapped_column(String(100))
    technician: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    result: Mapped[str] = mapped_column(String(10))  # success | failure
    verification: Mapped[str] = mapped_column(Text)  # how the result was checked
    verified_by: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
