"""Domain events: what happened, recorded by a service on its unit of work (the session).

The dispatcher that `bootstrap()` builds, and gives every session it makes, runs at once the handlers
that belong in the same transaction (a unit that became ready goes to the head of the waitlist) and
turns the others into outbox jobs written in that same transaction (a reserved swap gets its courier
booked). Parts of the business talk to each other only this way, never by importing upwards.

A session made anywhere else has no dispatcher: recording an event on it raises, so work can never be
silently dropped by a caller that forgot the wiring."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

DISPATCHER = "dispatcher"  # the key in Session.info


class NotBootstrapped(RuntimeError):
    pass


@dataclass(frozen=True)
class Event:
    pass


@dataclass(frozen=True)
class SwapReceived(Event):
    """Taken in: recorded once intake has reserved a unit or put the swap on the waitlist."""

    swap_id: int
    outcome: str  # allocated | backordered
    position: int | None = None  # backordered: the place in line it was given


@dataclass(frozen=True)
class SwapAllocated(Event):
    swap_id: int
    unit_id: int
    from_waitlist: bool = False  # served from the waitlist (not at intake)


@dataclass(frozen=True)
class SwapBackordered(Event):
    swap_id: int
    position: int


@dataclass(frozen=True)
class SwapStatusChanged(Event):
    swap_id: int
    old: str
    new: str


@dataclass(frozen=True)
class SwapCancelled(Event):
    swap_id: int


@dataclass(frozen=True)
class SwapBooked(Event):
    """The courier work is booked: labels bought, and how the broken unit comes back."""

    swap_id: int
    return_plan: str
    return_shipment_id: int | None


@dataclass(frozen=True)
class UnitReady(Event):
    unit_id: int


@dataclass(frozen=True)
class ShipmentStatusChanged(Event):
    shipment_id: int
    swap_id: int
    direction: str  # outbound | return
    status: str  # the carrier's tracking status


@dataclass(frozen=True)
class CourierNews(Event):
    """The courier said something the worker should hear (out for delivery, a missed delivery...)."""

    swap_id: int
    kind: str  # out_for_delivery | courier_attention
    message: str
    escalate: bool


@dataclass(frozen=True)
class SupportAlert(Event):
    """Something on a swap needs a person in support (written on the timeline as escalated)."""

    swap_id: int
    kind: str
    message: str
    swap_event_id: int


@dataclass(frozen=True)
class SwapEscalated(Event):
    """A lingering swap's priority was raised by a rule."""

    swap_id: int
    rule: str
    level: int
    reason: str


@dataclass(frozen=True)
class FollowUpScheduled(Event):
    swap_id: int
    due_at_iso: str  # when "Working now?" is asked


@dataclass(frozen=True)
class FollowUpAnswered(Event):
    swap_id: int
    answer: str  # yes | no
    score: int | None
    working: bool


@dataclass(frozen=True)
class FollowUpReminderDue(Event):
    swap_id: int


@dataclass(frozen=True)
class ReturnChased(Event):
    """A step of chasing a return that has not come back: a reminder, the escalation, or unreturned."""

    expected_return_id: int
    swap_id: int
    step: int
    action: str  # remind | escalate | unreturned
    due_date_iso: str


@dataclass(frozen=True)
class ReturnReceived(Event):
    expected_return_id: int
    swap_id: int


@dataclass(frozen=True)
class DiscrepancyFound(Event):
    discrepancy_id: int
    kind: str


@dataclass(frozen=True)
class WarrantyClaimOverdue(Event):
    """A unit with its vendor under a warranty claim is past the vendor's due date (once a claim)."""

    claim_id: int
    unit_id: int
    vendor: str
    rma_number: str
    due_date: str


@dataclass(frozen=True)
class StockBelowPar(Event):
    """Ready stock of a model at a depot fell under its par level (once a dip)."""

    depot_id: int
    model_id: int
    ready: int
    par_level: int


def record(session: Session, event: Event) -> None:
    dispatcher = session.info.get(DISPATCHER)
    if dispatcher is None:
        raise NotBootstrapped(f"{type(event).__name__} recorded on a session that bootstrap() did not make: "
                              "nothing would handle it")
    dispatcher.dispatch(session, event)
