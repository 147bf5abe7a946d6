"""Arranging records a test starts from, where the state is the precondition and not the subject."""

from app.db import unit_of_work
from app.inventory.states import UnitState
from app.inventory.units import transition_unit
from app.models import SpareUnit


def out_with_a_worker(session_factory, unit_id: int) -> None:
    """A ready unit becomes a device out with a worker (deployed), with the ledger rows that journey
    writes. The API refuses that walk by hand: it belongs to a swap."""
    with unit_of_work(session_factory) as session:
        unit = session.get(SpareUnit, unit_id)
        for state in (UnitState.RESERVED, UnitState.PACKED, UnitState.IN_TRANSIT, UnitState.DEPLOYED):
            transition_unit(session, unit, state, actor="arrange", reason="arranged: out with a worker")


def raise_priority(session_factory, swap_id: int, *, rule: str) -> None:
    """An escalation the test does not walk to (its subject is what the priority then changes)."""
    from app.care.escalation import raise_priority as escalate
    from app.swaps.repository import get_swap

    with unit_of_work(session_factory) as session:
        escalate(session, get_swap(session, swap_id), rule=rule, reason="arranged")
