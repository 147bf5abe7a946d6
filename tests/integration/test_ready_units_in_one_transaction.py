"""Units made ready in one transaction (a CSV import of thousands) offer themselves to the waitlist
without each asking the database again who waits for their model and region — and a swap that starts
waiting in the same transaction is still served by the next unit made ready."""

from app.db import unit_of_work
from app.inventory import units
from app.inventory.schemas import UnitCreate
from app.inventory.states import UnitState
from app.swaps import intake
from app.swaps.schemas import SwapCreate
from app.swaps.states import SwapStatus
from tests.support import factories as f
from tests.support.factories import swap_body


def test_a_swap_that_starts_waiting_is_served_by_the_next_unit_made_ready(client, keys, session_factory):
    lon = f.depot(client, keys["admin"], "LON")
    laptop = f.model(client, keys["admin"])

    def ready(tag: str) -> UnitCreate:
        return UnitCreate(serial=tag, asset_tag=tag, model_id=laptop["id"], depot_id=lon["id"], state=UnitState.READY)

    with unit_of_work(session_factory) as session:
        (first,) = units.create_units(session, [ready("AT-1")], actor="test", reason="delivered")  # nobody waits
        units.transition_unit(session, first, UnitState.RETIRED, actor="test", reason="dropped at the dock")
        swap, _ = intake.create_swap(session, SwapCreate.model_validate(swap_body(laptop["id"])), actor="test")
        assert swap.status == SwapStatus.BACKORDERED  # nothing on the shelf: it waits
        (second,) = units.create_units(session, [ready("AT-2")], actor="test", reason="delivered")
        assert (swap.status, swap.unit) == (SwapStatus.ALLOCATED, second)
