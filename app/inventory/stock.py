"""The stock view: units by depot × model × state, against par levels."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock, events
from app.inventory import repository
from app.inventory.schemas import StockRow
from app.inventory.states import UnitState
from app.models import Depot, DeviceModel


@dataclass(frozen=True)
class StockLine:
    counts: dict[str, int]
    par_level: int | None

    @property
    def ready(self) -> int:
        return self.counts.get(UnitState.READY, 0)

    @property
    def below_par(self) -> bool:
        return self.par_level is not None and self.ready < self.par_level


def stock_view(session: Session, *, depot_id: int | None = None, below_par_only: bool = False) -> list[StockRow]:
    lines: dict[tuple[int, int], dict[str, int]] = {}
    for d, m, state, n in repository.stock_counts(session, depot_id):
        lines.setdefault((d, m), {})[state] = n
    pars = {(p.depot_id, p.model_id): p.min_ready for p in repository.par_levels(session)}
    for key in pars:
        if depot_id is None or key[0] == depot_id:
            lines.setdefault(key, {})
    stale = repository.stale_ready_counts(session)
    depots = dict(session.execute(select(Depot.id, Depot.code)).all())
    skus = dict(session.execute(select(DeviceModel.id, DeviceModel.sku)).all())
    rows = []
    for (d, m), counts in sorted(lines.items()):
        line = StockLine(counts=counts, par_level=pars.get((d, m)))
        if below_par_only and not line.below_par:
            continue
        rows.append(
            StockRow(
                depot_id=d, depot_code=depots[d], model_id=m, model_sku=skus[m],
                counts={UnitState(s): n for s, n in sorted(counts.items())},
                ready=line.ready, stale_ready=stale.get((d, m), 0),
                par_level=line.par_level, below_par=line.below_par,
            )
        )
    return rows


def watch_par_levels(session: Session) -> int:
    """Record `StockBelowPar` for each depot × model whose ready stock has just fallen under its par
    level: once a dip (the row remembers since when), again only after it was back at par."""
    ready = {(d, m): n for d, m, state, n in repository.stock_counts(session) if state == UnitState.READY}
    now, dipped = clock.now(), 0
    for par in repository.par_levels(session, for_update=True):
        line = StockLine(counts={UnitState.READY: ready.get((par.depot_id, par.model_id), 0)}, par_level=par.min_ready)
        if line.below_par and par.below_par_since is None:
            par.below_par_since = now
            events.record(session, events.StockBelowPar(depot_id=par.depot_id, model_id=par.model_id,
                                                        ready=line.ready, par_level=par.min_ready))
            dipped += 1
        elif not line.below_par and par.below_par_since is not None:
            par.below_par_since = None
    session.flush()
    return dipped
