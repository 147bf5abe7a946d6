"""The spare unit's life, as one transition table. Nothing else decides what may follow what."""

from enum import StrEnum

from app.errors import InvalidTransition


class UnitState(StrEnum):
    RECEIVING = "receiving"
    TRIAGE = "triage"
    REFURBISHING = "refurbishing"
    READY = "ready"
    RESERVED = "reserved"
    PACKED = "packed"
    IN_TRANSIT = "in_transit"
    DEPLOYED = "deployed"
    AWAITING_RETURN = "awaiting_return"
    RETURNING = "returning"
    RECEIVED = "received"
    RETIRED = "retired"
    LOST = "lost"


S = UnitState

TRANSITIONS: dict[UnitState, frozenset[UnitState]] = {
    S.RECEIVING: frozenset({S.TRIAGE, S.RETIRED}),
    S.TRIAGE: frozenset({S.REFURBISHING, S.RETIRED}),
    S.REFURBISHING: frozenset({S.READY, S.RETIRED}),
    # ready → refurbishing: re-image a stale unit; ready → lost: missing at a cycle count.
    S.READY: frozenset({S.RESERVED, S.REFURBISHING, S.RETIRED, S.LOST}),
    # reserved/packed → ready: the swap was cancelled before the unit left.
    S.RESERVED: frozenset({S.PACKED, S.READY, S.LOST}),
    S.PACKED: frozenset({S.IN_TRANSIT, S.READY, S.LOST}),
    # in_transit → received: the carrier returned it to the depot undelivered.
    S.IN_TRANSIT: frozenset({S.DEPLOYED, S.RECEIVED, S.LOST}),
    # deployed → returning directly when the courier collects it at the door.
    S.DEPLOYED: frozenset({S.AWAITING_RETURN, S.RETURNING, S.LOST, S.RETIRED}),
    S.AWAITING_RETURN: frozenset({S.RETURNING, S.RECEIVED, S.LOST, S.RETIRED}),
    S.RETURNING: frozenset({S.RECEIVED, S.LOST}),
    S.RECEIVED: frozenset({S.TRIAGE}),
    S.RETIRED: frozenset(),
    # A lost unit that turns up goes through triage like any return.
    S.LOST: frozenset({S.TRIAGE, S.RECEIVED}),
}

# States a unit may be created in (by the API or a CSV import).
INITIAL_STATES = frozenset({S.RECEIVING, S.TRIAGE, S.REFURBISHING, S.READY})


def allowed_next(state: UnitState) -> list[str]:
    return sorted(s.value for s in TRANSITIONS[state])


def check_transition(current: UnitState, target: UnitState) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(
            f"A unit in state '{current.value}' cannot move to '{target.value}'. "
            f"Allowed from '{current.value}': {', '.join(allowed_next(current)) or 'none (final state)'}.",
            current_state=current.value,
            allowed=allowed_next(current),
        )
