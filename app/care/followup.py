"""Asking the worker whether the replacement works. One business day after delivery, at a set local
hour, the question goes out; the answer (yes/no, a 1–5 score, a comment) comes through the tracking
page. A "no" or a score of 2 or less reopens the swap as an exception, escalates it and tells
support. No answer brings one reminder; still none, and the follow-up is closed as "no answer"
(recorded), closing the swap when nothing else is pending."""

from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app import clock, events
from app.care import repository
from app.care.escalation import raise_priority
from app.errors import Conflict
from app.events import ShipmentStatusChanged
from app.inventory.calendar import add_business_days, at_local, next_business_day
from app.models import FollowUp, ReturnStatus, SwapRequest
from app.shipping.states import Direction
from app.swaps import repository as swaps
from app.swaps.states import TRANSITIONS, SwapStatus
from app.swaps.timeline import add_event, move
from app.warehouse import repository as warehouse

ANSWERABLE = frozenset({SwapStatus.DELIVERED, SwapStatus.RETURN_IN_TRANSIT, SwapStatus.RETURNED, SwapStatus.CLOSED,
                        SwapStatus.EXCEPTION})


@dataclass(frozen=True)
class FollowUpPolicy:
    hour: int = 10  # local time of the question
    wait_business_days: int = 2  # before the reminder, and again before "no answer"


DEFAULT = FollowUpPolicy()


def is_working(answer: str, score: int | None) -> bool:
    """The rule: a "no", or a score of 2 or less, means it is not working."""
    return answer == "yes" and (score is None or score > 2)


def on_shipment_status_changed(session: Session, event: ShipmentStatusChanged, *, policy: FollowUpPolicy) -> None:
    if event.direction != Direction.OUTBOUND or event.status != "DELIVERED":
        return
    if repository.follow_up_of(session, event.swap_id) is not None:
        return
    swap = swaps.get_swap(session, event.swap_id)
    delivered_on = clock.now().astimezone(ZoneInfo(swap.worker_timezone)).date()
    due = at_local(next_business_day(delivered_on, swap.country), time(policy.hour), swap.worker_timezone)
    session.add(FollowUp(swap_id=swap.id, due_at=due))
    session.flush()
    events.record(session, events.FollowUpScheduled(swap_id=swap.id, due_at_iso=due.isoformat()))


def answer(session: Session, swap: SwapRequest, *, answer: str, score: int | None, comment: str | None) -> FollowUp:
    if SwapStatus(swap.status) not in ANSWERABLE:
        raise Conflict("There is nothing to answer yet: the replacement has not been delivered.")
    row = repository.follow_up_of_for_update(session, swap.id)
    now = clock.now()
    if row is None:  # answered on the page before the question went out
        row = FollowUp(swap_id=swap.id, due_at=now)
        session.add(row)
    was_working = row.outcome == "working" if row.answer else None
    working = is_working(answer, score)
    row.answer, row.score, row.comment, row.answered_at = answer, score, comment, now
    row.outcome, row.closed_at = ("working" if working else "not_working"), now
    session.flush()
    told = f"The worker says it {'works' if answer == 'yes' else 'does not work'}" + (
        f" (score {score}/5)" if score else "") + (f": “{comment}”" if comment else ".")
    if working:
        add_event(session, swap, "followup_answered", told, answer=answer, score=score)
        _close_if_done(session, swap, "The worker confirmed the replacement works. This swap is complete.")
    elif was_working is not False:  # reopen once, however often a "no" is sent
        reason = f"{told} Support will contact them."
        if SwapStatus.EXCEPTION in TRANSITIONS[SwapStatus(swap.status)]:
            move(session, swap, SwapStatus.EXCEPTION, reason, escalated=True, answer=answer, score=score)
        else:
            add_event(session, swap, "followup_answered", reason, escalated=True, answer=answer, score=score)
        raise_priority(session, swap, rule="followup_not_working", reason="the worker says the replacement does "
                                                                          "not work")
    events.record(session, events.FollowUpAnswered(swap_id=swap.id, answer=answer, score=score, working=working))
    return row


def _close_if_done(session: Session, swap: SwapRequest, message: str) -> None:
    """A delivered swap with nothing left to come back is complete."""
    if swap.status != SwapStatus.DELIVERED:
        return
    expected = warehouse.return_of_swap(session, swap.id)
    if expected is None or expected.status == ReturnStatus.CLOSED:
        move(session, swap, SwapStatus.CLOSED, message)


def sweep(session: Session, policy: FollowUpPolicy) -> dict[str, int]:
    """Remind once after the wait; close as "no answer" after waiting as long again."""
    now = clock.now()
    counts = {"reminded": 0, "no_answer": 0}
    for row in repository.unanswered_follow_ups_for_update(session, asked_before=now):
        swap = swaps.get_swap(session, row.swap_id)
        asked = row.reminded_at or row.due_at
        local = asked.astimezone(ZoneInfo(swap.worker_timezone))
        after_wait = at_local(add_business_days(local.date(), policy.wait_business_days, swap.country),
                              local.time(), swap.worker_timezone)
        if now < after_wait:
            continue
        if row.reminded_at is None:
            row.reminded_at = now
            events.record(session, events.FollowUpReminderDue(swap_id=swap.id))
            counts["reminded"] += 1
        else:
            row.outcome, row.closed_at = "no_answer", now
            add_event(session, swap, "followup_no_answer", "No answer to “is it working?” after a reminder: the "
                                                         "follow-up is closed as no answer.")
            _close_if_done(session, swap, "Closed: no answer to the follow-up, and nothing left to return.")
            counts["no_answer"] += 1
    session.flush()
    return counts
