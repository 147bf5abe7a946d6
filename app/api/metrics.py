"""How well the service is doing: figures over a window of swaps (definitions in the answer's schema)."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from app.api.deps import Reader, SessionDep
from app.api.problems import problem_responses
from app.inventory.schemas import Id
from app.metrics import service
from app.metrics.schemas import ServiceMetrics

router = APIRouter(prefix="/api/v1/metrics", tags=["metrics"], responses=problem_responses(401, 403, 422))


@router.get("/service", response_model=ServiceMetrics, responses=problem_responses(404))
def get_service_metrics(
    session: SessionDep,
    _: Reader,
    since: Annotated[AwareDatetime | None, Query(
        description="Start of the window, inclusive: an ISO 8601 instant with an offset. Default: 30 days before "
                    "`until`.")] = None,
    until: Annotated[AwareDatetime | None, Query(
        description="End of the window, exclusive. Default: now.")] = None,
    depot_id: Annotated[Id | None, Query(description="Only swaps served from this depot (404 if there is none)")]
    = None,
    model_id: Annotated[Id | None, Query(description="Only swaps that asked for this device model (404 if there is "
                                                     "none)")] = None,
):
    """Figures about the swaps requested in [since, until) (at most 366 days), as they stand now:
    delivery against the promise and the next business day, time to a working device, backorders,
    return lag, open discrepancies, unreturned devices, follow-up answers and escalations. Cancelled
    swaps count only in `swaps`. Each field's description is its exact definition; `since` not before
    `until` is a 422."""
    return service.service_metrics(session, since=since, until=until, depot_id=depot_id, model_id=model_id)
