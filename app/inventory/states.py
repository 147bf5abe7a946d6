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
    WITH_VENDOR = "with_vendor"  # sent to its maker under a warranty claim


S = UnitState

TRANSITIONS: dict[UnitState, frozenset[UnitState]] = {
    S.RECEIVING: frozenset({S.TRIAGE, S.RETIRED}),
    # triage → with_vendor: a warranty claim's unit is shipped to the vendor; it comes back to triage
    # (repaired, or the claim refused), or is retired when the vendor replaces it.
    S.TRIAGE: frozenset({S.REFURBISHING, S.RETIRED, S.WITH_VENDOR}),
    S.WITH_VENDOR: frozenset({S.TRIAGE, S.RETIRED}),
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

# On a depot's shelf and held by nobody: a unit may be created in these (API, CSV import) and moved
# between depots in them, and no reservation may hold it.
ON_THE_SHELF = frozenset({S.RECEIVING, S.TRIAGE, S.REFURBISHING, S.READY})
INITIAL_STATES = ON_THE_SHELF
# Physically at its depot, so a cycle count should find it there: on the shelf, held for a swap
# but not yet collected, or back from a worker and not yet triaged.
AT_THE_DEPOT = ON_THE_SHELF | {S.RESERVED, S.PACKED, S.RECEIVED}

# States of the swap journey, and the flow that alone may move a unit into them. A move by hand
# (POST /units/{id}/transitions) never reaches them: it would hold or ship a unit no swap knows of.
JOURNEY_FLOWS: dict[UnitState, str] = {
    S.RESERVED: "a swap reserves it: POST /api/v1/swap-requests (a waiting swap takes a unit as it becomes "
                "ready)",
    S.PACKED: "the scan station packs a reserved unit once its swap's label is booked: POST /api/v1/scans",
    S.IN_TRANSIT: "the courier's tracking events move a swap's unit: it is in transit once collected",
    S.DEPLOYED: "the courier's tracking events move a swap's unit: it is deployed once delivered",
    S.AWAITING_RETURN: "the replaced device awaits return once its swap's replacement is delivered",
    S.RETURNING: "the replaced device is returning once the courier collects it for its swap",
    S.WITH_VENDOR: "a warranty claim sends it to the vendor: POST /api/v1/warranty-claims/{id}/shipped",
}


def allowed_next(state: UnitState) -> list[str]:
    return sorted(s.value for s in TRANSITIONS[state])


def check_manual_transition(current: UnitState, target: UnitState, *, in_journey: bool) -> None:
    """A move asked for by hand: the state machine's, minus the swap journey's own moves. `in_journey`:
    a swap or an open return holds the unit, so it moves only with them."""
    if target in JOURNEY_FLOWS:
        raise InvalidTransition(
            f"A unit reaches '{target.value}' only through its flow, not by hand: {JOURNEY_FLOWS[target]}.",
            current_state=current.value, target_state=target.value, flow=JOURNEY_FLOWS[target],
            allowed=manual_next(current),
        )
    if in_journey and current in JOURNEY_FLOWS:
        raise InvalidTransition(
            f"This unit is '{current.value}' for a swap or an open return and moves only with it: cancel the swap "
            "to release it, or scan it in at the scan station when it comes back.",
            current_state=current.value, target_state=target.value, allowed=[],
        )
    check_transition(current, target)


def manual_next(state: UnitState) -> list[str]:
    return sorted(s.value for s in TRANSITIONS[state] if s not in JOURNEY_FLOWS)


def check_transition(current: UnitState, target: UnitState) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(
            f"A unit in state '{current.value}' cannot move to '{target.value}'. "
            f"Allowed from '{current.value}': {', '.join(allowed_next(current)) or 'none (final state)'}.",
            current_state=current.value,
            allowed=allowed_next(current),
        )
