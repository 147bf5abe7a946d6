"""What a run is judged by, taken from its database before it is thrown away: the service's own
metrics (`app.metrics`, the same definitions as GET /api/v1/metrics/service) for the whole period, per
depot and per depot × model; the backorders with their waits; stock turns and the courier's bill."""

import itertools
import math
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.metrics.service import service_metrics
from app.models import Shipment, SwapEvent, SwapRequest
from app.shipping.states import Direction
from app.swaps.states import SwapStatus
from app.warehouse.reconciliation import check_invariants


def nearest_rank(values: list[float], p: int) -> float | None:
    """The metrics' percentile: the value at rank ⌈p·n/100⌉ of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p * len(ordered) / 100)) - 1]


def collect(session: Session, sim) -> dict:
    scenario, world = sim.scenario, sim.world
    since = datetime.combine(scenario.start, time(0), UTC)
    until = since + timedelta(days=scenario.days)
    overall = service_metrics(session, since=since, until=until)
    by_depot = {code: service_metrics(session, since=since, until=until, depot_id=did)
                for code, did in world.depot_ids.items()}
    by_pair = {}
    for code, did in world.depot_ids.items():
        for sku, mid in world.model_ids.items():
            m = service_metrics(session, since=since, until=until, depot_id=did, model_id=mid)
            by_pair[f"{code}/{sku}"] = {"next_business_day": m.next_business_day.model_dump(),
                                        "backordered": m.backorders.ever, "requested": m.swaps.requested}
    backorders = backorder_log(session, world)
    waits = [b["wait_hours"] for b in backorders if b["wait_hours"] is not None]
    shipped = session.scalar(select(func.count()).select_from(Shipment).where(
        Shipment.direction == Direction.OUTBOUND, Shipment.tracking_status == "DELIVERED")) or 0
    cost = defaultdict(Decimal)
    for currency, amount in session.execute(select(Shipment.currency, func.sum(Shipment.amount))
                                            .group_by(Shipment.currency)).all():
        if currency:
            cost[currency] += Decimal(amount or 0)
    samples = sim.samples
    mean_ready = sum(sum(s.ready.values()) for s in samples) / len(samples) if samples else 0
    return {
        "metrics": overall.model_dump(mode="json"),
        "depots": {code: m.model_dump(mode="json") for code, m in by_depot.items()},
        "depot_models": by_pair,
        "backorders": {
            "count": len(backorders), "served": len(waits),
            "wait_hours": {"median": nearest_rank(waits, 50), "p90": nearest_rank(waits, 90),
                           "max": max(waits) if waits else None},
            "served_in_fair_order": served_in_fair_order(backorders),
            "log": backorders,
        },
        # The records' invariants (`spares reconcile`) after the run: one state and place per unit,
        # continuous ledgers, one reservation per held unit. A breach is the service's bug, shown here.
        "invariant_breaches": [f"{b.kind}: {b.detail}" for b in check_invariants(session)],
        "shipped": shipped,
        "stock_turns": round(shipped / mean_ready * 365 / scenario.days, 2) if mean_ready else None,
        "mean_ready_units": round(mean_ready, 2),
        "shipping_cost": {c: str(v.quantize(Decimal("0.01"))) for c, v in sorted(cost.items())},
    }


def backorder_log(session: Session, world) -> list[dict]:
    """Every swap that joined the waitlist: when, in which country for which model, when it got a unit."""
    rows = session.execute(
        select(SwapEvent.swap_id, SwapEvent.kind, SwapEvent.at, SwapRequest.country, SwapRequest.model_id,
               SwapRequest.priority)
        .join(SwapRequest, SwapRequest.id == SwapEvent.swap_id)
        .where(SwapEvent.kind.in_([SwapStatus.BACKORDERED, SwapStatus.ALLOCATED]))
        .order_by(SwapEvent.swap_id, SwapEvent.at, SwapEvent.id)).all()
    joined: dict[int, dict] = {}
    for r in rows:
        if r.kind == SwapStatus.BACKORDERED and r.swap_id not in joined:
            joined[r.swap_id] = {"swap_id": r.swap_id, "country": r.country, "sku": world.sku_of_id.get(r.model_id),
                                 "joined_at": r.at, "served_at": None, "priority": r.priority}
        elif r.kind == SwapStatus.ALLOCATED and r.swap_id in joined and joined[r.swap_id]["served_at"] is None:
            joined[r.swap_id]["served_at"] = r.at
    out = []
    for b in sorted(joined.values(), key=lambda b: (b["joined_at"], b["swap_id"])):
        wait = (b["served_at"] - b["joined_at"]).total_seconds() / 3600 if b["served_at"] else None
        out.append({**b, "joined_at": b["joined_at"].isoformat(),
                    "served_at": b["served_at"].isoformat() if b["served_at"] else None,
                    "wait_hours": None if wait is None else round(wait, 2)})
    return out


def served_in_fair_order(log: list[dict]) -> bool:
    """Within a country and model, no swap got a unit before one that joined the waitlist earlier and was
    still waiting (the fair order with no deadlines given: the longest wait first)."""
    by_line: dict[tuple, list[dict]] = defaultdict(list)
    for b in log:
        by_line[(b["country"], b["sku"])].append(b)
    for line in by_line.values():
        for earlier, later in itertools.pairwise(line):
            if later["served_at"] is not None and (earlier["served_at"] is None
                                                   or earlier["served_at"] > later["served_at"]):
                return False
    return True
