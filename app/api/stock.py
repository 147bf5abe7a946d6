from fastapi import APIRouter

from app.api.deps import Reader, SessionDep
from app.api.problems import problem_responses
from app.inventory.schemas import Id, StockRow
from app.inventory.stock import stock_view

router = APIRouter(prefix="/api/v1", tags=["stock"], responses=problem_responses(401, 403, 422))


@router.get("/stock", response_model=list[StockRow])
def get_stock(session: SessionDep, _: Reader, depot_id: Id | None = None, below_par: bool = False):
    """Units by depot × model × state, with each pair's par level (minimum ready) and `below_par`."""
    return stock_view(session, depot_id=depot_id, below_par_only=below_par)
