"""Swap requests, their reservations, timeline events, and stored idempotent responses."""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime
from app.models.inventory import Depot, DeviceModel
from app.models.units import SpareUnit


class SwapRequest(Base):
    __tablename__ = "swap_requests"
    __table_args__ = (
        # One live swap per ticket; a cancelled one may be followed by a new one.
        Index(
            "uq_swap_requests_live_ticket", "ticket_system", "ticket_id", unique=True,
            postgresql_where=text("status <> 'cancelled'"), sqlite_where=text("status <> 'cancelled'"),
        ),
        Index("ix_swap_requests_waitlist", "status", "needed_by", "created_at"),
        Index("ix_swap_requests_created_at", "created_at"),  # service metrics pick swaps by when requested
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_system: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[str] = mapped_column(String(100))
    # ServiceNow addresses a record by its sys_id (the ticket id people read is INC…).
    ticket_sys_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(30))
    # the worker
    worker_name: Mapped[str] = mapped_column(String(200))
    # How the worker is greeted; never guessed from the full name ("Lima, Ana", "Dr. Ana Lima").
    given_name: Mapped[str | None] = mapped_column(String(100))
    # The language messages and the tracking page speak (a Babel locale; English is shipped).
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    # Told when a return is overdue past the escalation step, if given at intake.
    manager_email: Mapped[str | None] = mapped_column(String(200))
    worker_email: Mapped[str] = mapped_column(String(200))
    worker_phone: Mapped[str | None] = mapped_column(String(40))
    worker_timezone: Mapped[str] = mapped_column(String(64))
    street1: Mapped[str] = mapped_column(String(200))
    street2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    # The carrier's check of the address: valid | corrected | unchecked (it could not be asked yet).
    address_status: Mapped[str] = mapped_column(String(12), default="unchecked", server_default="unchecked")
    address_check: Mapped[dict | None] = mapped_column(JSON)  # its corrections (with what was given) and words
    # what is needed
    model_id: Mapped[int | None] = mapped_column(ForeignKey("device_models.id"))
    category: Mapped[str | None] = mapped_column(String(20))
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("config_profiles.id"))
    broken_code: Mapped[str | None] = mapped_column(String(100))
    return_mode: Mapped[str] = mapped_column(String(20))
    needed_by: Mapped[date | None] = mapped_column(Date)
    # May a depot that does not serve the worker's country send the unit (with a customs declaration)?
    allow_cross_border: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    impact_note: Mapped[str | None] = mapped_column(Text)
    # the outcome
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("spare_units.id"))
    depot_id: Mapped[int | None] = mapped_column(ForeignKey("depots.id"))
    # Where the broken kit goes back to, when not the depot that sent the unit (RETURN_DEPOT=region).
    return_depot_id: Mapped[int | None] = mapped_column(ForeignKey("depots.id"))
    is_substitute: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_reimage: Mapped[bool] = mapped_column(Boolean, default=False)
    promised_date: Mapped[date | None] = mapped_column(Date)
    ship_date: Mapped[date | None] = mapped_column(Date)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Raised by escalation (0 normal, 1–3): served first only among swaps with the same need-by date.
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # What the worker does with the broken unit, once booking settled it (a same-visit pickup
    # that cannot be booked falls back to a return label in the box).
    return_plan: Mapped[str | None] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    unit: Mapped[SpareUnit | None] = relationship(lazy="joined")
    depot: Mapped[Depot | None] = relationship(lazy="joined", foreign_keys=[depot_id])
    return_depot: Mapped[Depot | None] = relationship(foreign_keys=[return_depot_id])
    model: Mapped[DeviceModel | None] = relationship(lazy="joined")


class TrackingLink(Base):
    """One of a swap's tracking links (capability URLs): only the token's SHA-256 is stored. The API
    hands out one (re-issuing it revokes the last); each message to the worker carries its own."""

    __tablename__ = "tracking_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    swap_id: Mapped[int] = mapped_column(ForeignKey("swap_requests.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))  # api | message
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FollowUp(Base):
    """"Working now?" asked after delivery: the answer, a score and a comment, or no answer."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    swap_id: Mapped[int] = mapped_column(ForeignKey("swap_requests.id"), unique=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the question is asked
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(String(10))  # yes | no
    score: Mapped[int | None] = mapped_column(Integer)  # 1–5
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))  # working | not_working | no_answer
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Escalation(Base):
    """A rule that fired for a swap (once each): it raised the swap's priority and told support."""

    __tablename__ = "escalations"
    __table_args__ = (Index("uq_escalations_swap_rule", "swap_id", "rule", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    swap_id: Mapped[int] = mapped_column(ForeignKey("swap_requests.id"))
    rule: Mapped[str] = mapped_column(String(40))
    level: Mapped[int] = mapped_column(Integer)  # the priority it raised the swap to
    reason: Mapped[str] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Reservation(Base):
    """A hold of one unit for one swap. At most one active reservation per unit, enforced by a
    partial unique index: the last line of defence behind the row locks."""

    __tablename__ = "reservations"
    __table_args__ = (
        Index("uq_reservations_active_unit", "unit_id", unique=True,
              postgresql_where=text("active"), sqlite_where=text("active")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("spare_units.id"))
    swap_id: Mapped[int] = mapped_column(ForeignKey("swap_requests.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    release_reason: Mapped[str | None] = mapped_column(String(200))


class SwapEvent(Base):
    """The swap's timeline: every touchpoint the worker and support can see."""

    __tablename__ = "swap_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    swap_id: Mapped[int] = mapped_column(ForeignKey("swap_requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(String(500))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class IdempotencyRecord(Base):
    """The first response to a POST with an Idempotency-Key, replayed byte for byte on retries."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("uq_idempotency_keys_caller_key", "api_key_id", "key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    response_headers: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
