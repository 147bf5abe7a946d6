"""The swap's status, as one transition table."""

from enum import StrEnum

from app.errors import InvalidTransition


class SwapStatus(StrEnum):
    RECEIVED = "received"
    ALLOCATED = "allocated"
    BACKORDERED = "backordered"
    LABEL_BOOKED = "label_booked"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    RETURN_IN_TRANSIT = "return_in_transit"
    RETURNED = "returned"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    EXCEPTION = "exception"


W = SwapStatus

TRANSITIONS: dict[SwapStatus, frozenset[SwapStatus]] = {
    W.RECEIVED: frozenset({W.ALLOCATED, W.BACKORDERED, W.CANCELLED, W.EXCEPTION}),
    W.BACKORDERED: frozenset({W.ALLOCATED, W.CANCELLED, W.EXCEPTION}),
    W.ALLOCATED: frozenset({W.LABEL_BOOKED, W.BACKORDERED, W.CANCELLED, W.EXCEPTION}),
    W.LABEL_BOOKED: frozenset({W.SHIPPED, W.CANCELLED, W.EXCEPTION}),
    W.SHIPPED: frozenset({W.DELIVERED, W.EXCEPTION}),
    W.DELIVERED: frozenset({W.RETURN_IN_TRANSIT, W.RETURNED, W.CLOSED, W.EXCEPTION}),
    W.RETURN_IN_TRANSIT: frozenset({W.RETURNED, W.EXCEPTION}),
    W.RETURNED: frozenset({W.CLOSED, W.EXCEPTION}),
    W.CLOSED: frozenset({W.EXCEPTION}),  # the worker says it does not work after all
    W.CANCELLED: frozenset(),
    # Someone resolved the exception: the swap goes back to where allocation can pick it up; or the
    # courier found a parcel it had reported lost and it is moving again.
    W.EXCEPTION: frozenset({W.RECEIVED, W.BACKORDERED, W.CANCELLED, W.CLOSED, W.SHIPPED}),
}

# Swaps that may still be cancelled and release their unit.
CANCELLABLE = frozenset({W.RECEIVED, W.BACKORDERED, W.ALLOCATED, W.LABEL_BOOKED, W.EXCEPTION})


def check_swap_transition(current: SwapStatus, target: SwapStatus) -> None:
    if target not in TRANSITIONS[current]:
        allowed = sorted(s.value for s in TRANSITIONS[current])
        raise InvalidTransition(
            f"A swap in status '{current.value}' cannot become '{target.value}'. "
            f"Allowed: {', '.join(allowed) or 'none (final)'}.",
            current_status=current.value, allowed=allowed,
        )
