"""Money back for labels nobody will use: a cancelled swap's, and a second label bought for one
shipment.

Cancelling a swap that had its unit writes a `void_labels` job in the same transaction; so does a
booking that finishes (or retries) after the cancel. The worker asks the carrier to refund each of
the swap's labels that has not started moving, including one whose purchase answer was lost, and
records a courier collection booked for it as orphaned (for support to cancel). A label is asked
about once: its refund status is recorded, and the carrier's own answer for a label already refunded
is taken as it is. Each refund request is fenced (the job must still be this worker's)."""

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from app import clock, outbox
from app.db import unit_of_work
from app.events import SwapCancelled
from app.models import ExtraLabel, Shipment, SwapRequest
from app.shipping import pickups, repository
from app.shipping.carrier import Carrier, Label, PermanentCarrierError, TemporaryCarrierError
from app.shipping.labels import record_label
from app.shipping.states import LabelState
from app.swaps import repository as swaps
from app.swaps.timeline import add_event

KIND = "void_labels"
UNUSED = frozenset({None, "UNKNOWN", "PRE_TRANSIT"})  # tracking statuses of a label not yet moving
IN_USE = "in_use"  # our refund status for a label the courier already has
Fence = Callable[[Session], None]


def void_if_booked(session: Session, swap_id: int) -> None:
    """A cancelled swap whose booking ever started (its shipment rows are written before any purchase)
    gets its labels voided and its courier collection orphaned, by a job."""
    if repository.has_shipments(session, swap_id):
        outbox.enqueue(session, KIND, {"swap_id": swap_id})


def on_swap_cancelled(session: Session, event: SwapCancelled) -> None:
    void_if_booked(session, event.swap_id)


def void_labels(factory: sessionmaker[Session], carrier: Carrier, swap_id: int, *, fence: Fence) -> None:
    with unit_of_work(factory) as session:
        pickups.orphan_pickups(session, session.get(SwapRequest, swap_id))
        todo = [r.id for r in swaps.shipments(session, swap_id) if r.refund_status is None]
    for shipment_id in todo:
        _void(factory, carrier, shipment_id, fence)


def _void(factory: sessionmaker[Session], carrier: Carrier, shipment_id: int, fence: Fence) -> None:
    with unit_of_work(factory) as session:
        row = session.get(Shipment, shipment_id)
        label_id, label_status, rate_id, reference = row.label_id, row.label_status, row.rate_id, row.reference
    learned = None  # what the carrier tells us of a label we do not have as bought
    if label_id is None or label_status != LabelState.SUCCESS:
        learned = _bought_label(carrier, label_id, rate_id, reference)
        if learned is None:
            return  # nothing was bought: nothing to give back
        label_id = learned.label_id
    with unit_of_work(factory) as session:
        row = session.get(Shipment, shipment_id, with_for_update=True)
        if learned is not None:
            record_label(row, learned)  # what the carrier told us of a label we did not know was bought
        if row.tracking_status not in UNUSED:
            row.refund_status = IN_USE
            add_event(session, _swap(session, row), "label_in_use",
                      f"The {row.direction} label ({row.tracking_number}) is already with the courier "
                      f"({row.tracking_status}); it cannot be voided.", escalated=True)
            return
        fence(session)
    refund = carrier.refund_label(label_id=label_id)
    with unit_of_work(factory) as session:
        row = session.get(Shipment, shipment_id, with_for_update=True)
        row.refund_status, row.updated_at = refund.status, clock.now()
        swap = _swap(session, row)
        if refund.status == "ERROR":
            add_event(session, swap, "refund_refused",
                      f"The carrier refused to refund the {row.direction} label ({row.tracking_number}). "
                      "Escalated to support to claim it by hand.", escalated=True)
        else:
            add_event(session, swap, "label_voided",
                      f"The unused {row.direction} label ({row.tracking_number}) was voided; "
                      f"refund {refund.status.lower()}.", label_id=label_id)


def void_extra_labels(factory: sessionmaker[Session], carrier: Carrier, swap_id: int, *, fence: Fence) -> None:
    """Refund each label recorded as bought a second time for one of the swap's shipments."""
    with unit_of_work(factory) as session:
        todo = repository.extra_labels_to_refund(session, swap_id)
    for extra_id in todo:
        with unit_of_work(factory) as session:
            extra = session.get(ExtraLabel, extra_id, with_for_update=True)
            if extra.refund_status is not None:
                continue
            label_id = extra.label_id
            fence(session)
        refund = carrier.refund_label(label_id=label_id)
        with unit_of_work(factory) as session:
            extra = session.get(ExtraLabel, extra_id, with_for_update=True)
            extra.refund_status, extra.updated_at = refund.status, clock.now()
            shipment = session.get(Shipment, extra.shipment_id)
            add_event(session, _swap(session, shipment), "extra_label_refund",
                      f"The {shipment.direction} label bought twice ({extra.tracking_number}): refund "
                      f"{refund.status.lower()}.", label_id=label_id, escalated=refund.status == "ERROR")


def _bought_label(carrier: Carrier, label_id: str | None, rate_id: str | None, reference: str) -> Label | None:
    """A label we do not have as bought, as the carrier has it now: a purchase whose answer was lost
    is found by its rate and reference; one still queued is asked about again (and retried later if
    still queued)."""
    if label_id is None:
        found = carrier.find_labels(rate_id=rate_id, reference=reference) if rate_id else []
        label = found[0] if found else None
    else:
        try:
            label = carrier.get_label(label_id)
        except PermanentCarrierError:
            return None  # the purchase failed at the carrier: nothing was charged
    if label is not None and label.status != LabelState.SUCCESS:
        raise TemporaryCarrierError(f"label {label.label_id} is still {label.status}; voiding it later")
    return label


def _swap(session: Session, row: Shipment) -> SwapRequest:
    return session.get(SwapRequest, row.swap_id)
