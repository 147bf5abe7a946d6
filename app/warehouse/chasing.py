"""Chasing a return that has not come back: reminders to the worker on set business days after the
due date, then support (and the worker's manager) are told, then the device is `unreturned` and a
charge-back is raised at its model's replacement value, for support to confirm or waive. Moving the
due date starts the chase again from the new date; nothing is sent about a return received."""

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app import clock, events
from app.errors import Conflict, Unprocessable
from app.inventory import repository as inventory
from app.inventory.calendar import add_business_days
from app.models import ChargeBack, ChargeBackStatus, ExpectedReturn, ReturnStatus
from app.swaps import repository as swaps
from app.swaps.timeline import add_event
from app.warehouse import repository

REMIND, ESCALATE, UNRETURNED = "remind", "escalate", "unreturned"


@dataclass(frozen=True)
class ChasePolicy:
    reminder_days: tuple[int, ...] = (0, 3, 6)  # business days after the due date
    escalate_days: int = 9
    unreturned_days: int = 15


DEFAULT = ChasePolicy()


def chase_plan(due: date, country: str, policy: ChasePolicy) -> list[tuple[int, date, str]]:
    """(step, day, action), in order: step 1 is the first reminder."""
    plan = [(day, REMIND) for day in policy.reminder_days]
    plan += [(policy.escalate_days, ESCALATE), (policy.unreturned_days, UNRETURNED)]
    return [(i, add_business_days(due, n, country), action) for i, (n, action) in enumerate(plan, start=1)]


def due_actions(plan: list[tuple[int, date, str]], done: int, today: date) -> list[tuple[int, str]]:
    """What to do now, with `done` steps already taken: the steps that came due, except reminders that a
    later step has overtaken (after an outage the worker gets one reminder, not three)."""
    due = [(step, action) for step, day, action in plan if step > done and day <= today]
    return [(step, action) for i, (step, action) in enumerate(due)
            if action != REMIND or all(a != REMIND for _, a in due[i + 1:])]


def sweep(session: Session, policy: ChasePolicy) -> dict[str, int]:
    counts = {REMIND: 0, ESCALATE: 0, UNRETURNED: 0}
    # A day ahead of UTC: where the worker is, today may already be tomorrow (each return checks its own day).
    for expected in repository.overdue_returns_for_update(session, clock.now().date() + timedelta(days=1),
                                                          including_today=True):
        swap = swaps.get_swap(session, expected.swap_id)
        today = clock.now().astimezone(ZoneInfo(swap.worker_timezone)).date()
        plan = chase_plan(expected.due_date, swap.depot.country if swap.depot else swap.country, policy)
        actions = due_actions(plan, expected.chase_step, today)
        if not actions:
            continue
        # The row's changes first, in one UPDATE: writing it twice in a transaction makes PostgreSQL
        # re-check its foreign keys, taking locks on shipments that a tracking update may hold.
        expected.chase_step = actions[-1][0]
        if any(action == REMIND for _, action in actions):
            expected.last_reminder_at = clock.now()
        if any(action == UNRETURNED for _, action in actions):
            expected.status = ReturnStatus.UNRETURNED
        session.flush()
        for step, action in actions:
            _act(session, expected, swap, step, action, today)
            counts[action] += 1
    session.flush()
    return counts


def _act(session: Session, expected: ExpectedReturn, swap, step: int, action: str, today: date) -> None:
    due = expected.due_date
    if action == REMIND:
        add_event(session, swap, "return_reminder",
                  f"Reminder: your old device {'was' if today > due else 'is'} due back on {due:%A %d %B}. "
                  "Please send it with the prepaid label, or tell us if something is wrong.", step=step)
    elif action == ESCALATE:
        add_event(session, swap, "return_overdue", f"The old device was due back {due:%A %d %B} and has not "
                  "arrived after the reminders: support is told" + (" and the worker's manager is asked to help."
                                                                    if swap.manager_email else "."),
                  escalated=True, step=step)
    else:
        charge = _charge_back(session, expected, swap)
        add_event(session, swap, "unreturned", f"The old device never came back (due {due:%A %d %B}): recorded "
                  f"as unreturned; a charge-back of {charge.amount} {charge.currency} awaits support's decision.",
                  escalated=True, step=step, charge_back_id=charge.id)
    events.record(session, events.ReturnChased(expected_return_id=expected.id, swap_id=swap.id, step=step,
                                               action=action, due_date_iso=due.isoformat()))


def _charge_back(session: Session, expected: ExpectedReturn, swap) -> ChargeBack:
    model = (inventory.get_unit(session, expected.unit_id).model if expected.unit_id
             else swap.unit.model if swap.unit else swap.model)
    charge = ChargeBack(expected_return_id=expected.id, swap_id=swap.id, amount=model.replacement_value if model else 0,
                        currency=model.currency if model else "USD", status=ChargeBackStatus.PENDING,
                        created_at=clock.now())
    session.add(charge)
    session.flush()
    return charge


def extend_due(session: Session, return_id: int, *, due_date: date, reason: str, actor: str) -> ExpectedReturn:
    """A new due date: the chase starts again from it (reminders already sent stay sent)."""
    expected = repository.get_return_for_update(session, return_id)
    if expected.status != ReturnStatus.OPEN:
        raise Conflict(f"Return {return_id} is '{expected.status}': only an open return's due date can move.")
    if due_date <= clock.now().date():
        raise Unprocessable("The new due date must be in the future.", field="due_date")
    old, expected.due_date, expected.chase_step = expected.due_date, due_date, 0
    add_event(session, swaps.get_swap(session, expected.swap_id), "return_due_moved",
              f"The old device is now due back {due_date:%A %d %B} (was {old:%A %d %B}): {reason} (by {actor}).")
    session.flush()
    return expected


def decide_charge_back(session: Session, charge_id: int, *, confirm: bool, note: str, actor: str) -> ChargeBack:
    charge = repository.get_charge_back_for_update(session, charge_id)
    if charge.status != ChargeBackStatus.PENDING:
        raise Conflict(f"Charge-back {charge_id} was {charge.status} already.")
    charge.status = ChargeBackStatus.CONFIRMED if confirm else ChargeBackStatus.WAIVED
    charge.decided_at, charge.decided_by, charge.note = clock.now(), actor, note
    swap = swaps.get_swap(session, charge.swap_id)
    add_event(session, swap, "charge_back", f"Charge-back of {charge.amount} {charge.currency} "
              f"{'confirmed' if confirm else 'waived'} by {actor}: {note}")
    session.flush()
    return charge
