"""Shipping's kinds of outbox job: booking a swap's courier work, voiding the labels of a cancelled
swap, refunding a label bought twice, and polling the carrier for quiet shipments. A job that fails
for good escalates its swap."""

from sqlalchemy.orm import Session

from app.models import OutboxJob, SwapRequest
from app.outbox import Kind, RetryPolicy
from app.shipping import booking, refunds, tracking_poll
from app.swaps.states import TRANSITIONS, SwapStatus
from app.swaps.timeline import add_event, move

BOOK_SWAP = "book_swap"
VOID_LABELS = refunds.KIND
VOID_EXTRA_LABELS = "void_extra_labels"
POLL_TRACKING = "poll_tracking"


def escalate(session: Session, job: OutboxJob, message: str) -> None:
    swap = session.get(SwapRequest, job.payload["swap_id"])
    if SwapStatus.EXCEPTION in TRANSITIONS[SwapStatus(swap.status)]:
        move(session, swap, SwapStatus.EXCEPTION, message, job_id=job.id, escalated=True)
    else:  # e.g. a cancelled swap whose labels could not be voided: it stays cancelled
        add_event(session, swap, "escalated", message, job_id=job.id, escalated=True)


def kinds(*, retry: RetryPolicy, poll_quiet_for, return_depot: str = "sending") -> dict[str, Kind]:
    def swap_job(run, **options):
        return lambda ctx: run(ctx.factory, ctx.carrier, ctx.payload["swap_id"], fence=ctx.fence, **options)

    return {
        BOOK_SWAP: Kind(swap_job(booking.book_swap, return_depot=return_depot), "Booking the courier", retry,
                        escalate),
        VOID_LABELS: Kind(swap_job(refunds.void_labels), "Voiding the unused labels", retry, escalate),
        VOID_EXTRA_LABELS: Kind(swap_job(refunds.void_extra_labels), "Refunding a label bought twice", retry,
                                escalate),
        POLL_TRACKING: Kind(lambda ctx: tracking_poll.poll(ctx.factory, ctx.carrier, quiet_for=poll_quiet_for),
                            "Polling the carrier for tracking news", RetryPolicy(max_attempts=1)),
    }


