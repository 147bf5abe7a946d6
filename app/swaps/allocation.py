"""Allocation rules: which ready unit serves a swap, and who is next on the waitlist.
Plain values in, plain values out: no database, no HTTP, no clock."""

from dataclasses import dataclass
from datetime import UTC, date, datetime


@dataclass(frozen=True)
class Need:
    """What a swap asks for: a model (with the models allowed to stand in for it), or a category.
    A profile, when given, must match the unit's."""

    model_id: int | None = None
    substitute_ids: frozenset[int] = frozenset()
    category: str | None = None
    profile_id: int | None = None


@dataclass(frozen=True)
class Candidate:
    unit_id: int
    model_id: int
    category: str
    depot_id: int
    profile_id: int | None = None
    is_stale: bool = False
    configured_at: datetime | None = None


@dataclass(frozen=True)
class WaitingSwap:
    swap_id: int
    need: Need
    waiting_since: datetime
    needed_by: date | None = None
    priority: int = 0  # raised by escalation, 0–3


def fits(need: Need, unit: Candidate) -> bool:
    if need.profile_id is not None and unit.profile_id != need.profile_id:
        return False
    if need.model_id is not None:
        return unit.model_id == need.model_id or unit.model_id in need.substitute_ids
    return need.category is not None and unit.category == need.category


def is_substitute(need: Need, unit: Candidate) -> bool:
    return need.model_id is not None and unit.model_id != need.model_id


_EPOCH = datetime.min.replace(tzinfo=UTC)


def preference_key(need: Need, unit: Candidate, promised: dict[int, date]) -> tuple:
    """Lower is better: current image before stale; the requested model before a substitute;
    the depot that delivers soonest; then the longest-configured unit (FIFO); then id for a
    total order."""
    return (
        unit.is_stale,
        is_substitute(need, unit),
        promised[unit.depot_id],
        unit.configured_at or _EPOCH,
        unit.unit_id,
    )


def rank_candidates(need: Need, units: list[Candidate], promised: dict[int, date]) -> list[Candidate]:
    """The units that fit `need`, best first: the specification the database's pick
    (`swaps.repository.pick_ready`) is tested against."""
    return sorted((u for u in units if fits(need, u)), key=lambda u: preference_key(need, u, promised))


def waitlist_key(w: WaitingSwap) -> tuple:
    """Fair order: the earliest deadline first (no deadline waits behind any deadline); among swaps
    with the same deadline, a higher escalation priority first (escalation raises what lingered, it
    never jumps an earlier deadline); then the longest wait; then the swap id so equal keys never
    depend on arrival order in a list."""
    return (w.needed_by or date.max, -w.priority, w.waiting_since, w.swap_id)


def waitlist_order(waiting: list[WaitingSwap]) -> list[WaitingSwap]:
    return sorted(waiting, key=waitlist_key)


def next_in_line(waiting: list[WaitingSwap], unit: Candidate) -> list[WaitingSwap]:
    """The waiting swaps this unit can serve, in the order they should get it."""
    return [w for w in waitlist_order(waiting) if fits(w.need, unit)]
