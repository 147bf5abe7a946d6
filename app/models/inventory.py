"""Depots, device models, config profiles, par levels."""

from datetime import datetime, time
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime

model_substitutes = Table(
    "model_substitutes",
    Base.metadata,
    Column("model_id", ForeignKey("device_models.id", ondelete="CASCADE"), primary_key=True),
    Column("substitute_id", ForeignKey("device_models.id", ondelete="CASCADE"), primary_key=True),
)


class Depot(Base):
    __tablename__ = "depots"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Ship-from address, in the fields a carrier needs.
    contact_name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    street1: Mapped[str] = mapped_column(String(200))
    street2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    cutoff_local: Mapped[time] = mapped_column(Time)
    # Countries or regions (e.g. "EU") served besides its own country (see inventory.regions).
    serves: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeviceModel(Base):
    __tablename__ = "device_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(20))
    maker: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    length_cm: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    width_cm: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    height_cm: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    weight_kg: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    # What a device that never comes back costs (the charge-back of an unreturned swap).
    replacement_value: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=0, server_default="0")
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    # For a customs declaration when a unit crosses a border: the tariff number and where it was made.
    # The kit a unit of this model ships with, each item with its replacement cost: asked for at packing,
    # checked at return inspection. [{"item": "charger", "cost": "35.00"}, …]
    accessories: Mapped[list[dict]] = mapped_column(JSON, default=list, server_default="[]")
    hs_code: Mapped[str | None] = mapped_column(String(12))
    origin_country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    substitutes: Mapped[list["DeviceModel"]] = relationship(
        secondary=model_substitutes,
        primaryjoin=lambda: DeviceModel.id == model_substitutes.c.model_id,
        secondaryjoin=lambda: DeviceModel.id == model_substitutes.c.substitute_id,
        order_by=lambda: DeviceModel.id,
    )


class ConfigProfile(Base):
    __tablename__ = "config_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    current_version: Mapped[str] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ParLevel(Base):
    __tablename__ = "par_levels"
    __table_args__ = (UniqueConstraint("depot_id", "model_id", name="uq_par_levels_depot_model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    depot_id: Mapped[int] = mapped_column(ForeignKey("depots.id", ondelete="CASCADE"))
    model_id: Mapped[int] = mapped_column(ForeignKey("device_models.id", ondelete="CASCADE"))
    min_ready: Mapped[int] = mapped_column(Integer)
    # Set when ready stock is first seen under the par level, cleared when it is back: one alert a dip.
    below_par_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
