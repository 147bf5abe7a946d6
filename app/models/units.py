"""Spare units and their append-only custody ledger."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, FetchedValue, ForeignKey, Index, String, Text, false, text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime
from app.models.inventory import ConfigProfile, Depot, DeviceModel


class SpareUnit(Base):
    __tablename__ = "spare_units"
    __table_args__ = (
        Index("ix_spare_units_pick", "model_id", "state", "depot_id"),
        # Allocation probes the head of each (model, depot, current or stale image) group of ready units,
        # in the ranking's order: a small index however large the fleet of other states, one probe
        # however deep the stock, and never a walk over the stale units ahead of a current one.
        Index("ix_spare_units_ready_pick", "model_id", "depot_id", "image_stale", "configured_at", "id",
              postgresql_where=text("state = 'ready'"), sqlite_where=text("state = 'ready'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(100), unique=True)
    asset_tag: Mapped[str] = mapped_column(String(100), unique=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("device_models.id"))
    depot_id: Mapped[int] = mapped_column(ForeignKey("depots.id"))
    state: Mapped[str] = mapped_column(String(20))
    condition_notes: Mapped[str | None] = mapped_column(Text)
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("config_profiles.id"))
    profile_version: Mapped[str | None] = mapped_column(String(50))
    # `is_stale` as the database keeps it (migration 0020's triggers: when a unit is written with a profile
    # or an image, and when a profile's current version changes), for SQL to filter and index on.
    image_stale: Mapped[bool] = mapped_column(Boolean, server_default=false(), server_onupdate=FetchedValue(),
                                              deferred=True)
    configured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_tested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_charged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    box_contents: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Recorded at triage: cosmetic grade A (as new) / B (light wear) / C (visible damage), battery health %.
    cosmetic_grade: Mapped[str | None] = mapped_column(String(1))
    battery_health: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    model: Mapped[DeviceModel] = relationship(lazy="joined")
    depot: Mapped[Depot] = relationship(lazy="joined")
    profile: Mapped[ConfigProfile | None] = relationship(lazy="joined")

    @hybrid_property
    def is_stale(self) -> bool:
        """Imaged with an older version of its profile than the current one (or with no recorded
        version). In SQL it is the `image_stale` column, which the database keeps by the same rule
        (migration 0020; `tests/integration/test_image_stale.py` holds the two together)."""
        return self.profile is not None and self.profile_version != self.profile.current_version

    @is_stale.inplace.expression
    @classmethod
    def _is_stale_sql(cls):
        return cls.image_stale


class CustodyEntry(Base):
    """One move or state change of a unit. Rows are only ever inserted (database triggers refuse
    UPDATE and DELETE)."""

    __tablename__ = "custody_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("spare_units.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    from_depot_id: Mapped[int | None] = mapped_column(ForeignKey("depots.id"))
    depot_id: Mapped[int] = mapped_column(ForeignKey("depots.id"))
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
