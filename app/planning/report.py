"""A simulation's answer as people read it: a table, a CSV of each day per depot, a plot of ready
stock and backorders per depot over time (matplotlib, drawn off-screen)."""

import csv
import io

from app.inventory.states import UnitState

# Every unit state (the one table in `inventory.states`), ready first: the column a planner reads.
STATES = (UnitState.READY, *(s for s in UnitState if s != UnitState.READY))


def _pct(share) -> str:
    return "–" if share is None else f"{share * 100:.1f}%"


def table(result: dict) -> str:
    m = result["metrics"]
    nbd, ttw, working = m["next_business_day"], m["time_to_working"]["delivered"], m["time_to_working"]["working"]
    b = result["backorders"]
    lines = [
        (f"{result['swaps']} swaps in {result['scenario']['days']} days, simulated in {result['wall_seconds']} s "
        f"({result['swaps_per_second']} swaps/s)"),
        f"next business day (asked before the cut-off): {_pct(nbd['share'])} of {nbd['counted']}",
        f"request → delivered: median {ttw['median_hours']} h, p90 {ttw['p90_hours']} h, p99 {ttw['p99_hours']} h",
        (f"request → working (the follow-up's yes, {working['count']} answers): "
         f"median {working['median_hours']} h, p90 {working['p90_hours']} h"),
        (f"backorders: {b['count']} (waits: median {b['wait_hours']['median']} h, p90 {b['wait_hours']['p90']} h, "
        f"max {b['wait_hours']['max']} h; served in fair order: {'yes' if b['served_in_fair_order'] else 'NO'})"),
        f"records' invariants after the run: {len(result['invariant_breaches']) or 'no'} breach(es)",
        f"stock turns: {result['stock_turns']} a year; shipping: "
        + (", ".join(f"{v} {c}" for c, v in result["shipping_cost"].items()) or "none"),
        "",
        f"par levels for {result['par_levels']['target'] * 100:g}%: {result['par_levels']['formula']}",
        (f"{'depot':6} {'model':10} {'λ/day':>7} {'T days':>7} {'λT':>6} {'fill':>6} {'S':>3} "
        f"{'played':>6} {'next-day':>9} {'final':>5}"),
    ]
    for r in result["par_levels"]["rows"]:
        lines.append(f"{r['depot']:6} {r['sku']:10} {r['failures_per_day']:7.3f} {r['turnaround_days']:7.2f} "
                     f"{r['mean_away']:6.2f} {_pct(r['fill_needed']):>6} {r['poisson_stock']:3d} "
                     f"{r['played_with']:6d} {_pct(r['played_next_business_day']['share']):>9} {r['recommended']:5d}"
                     + ("" if r["reachable"] else "  (the lane's on-time rate is below the target)"))
    verified = result["par_levels"]["verified"]
    if verified is not None:
        rounds = len(result["par_levels"]["rounds"])
        lines.append(f"verified by simulation: {'yes' if verified else 'NO'} ({rounds} round{'s' * (rounds != 1)})")
    return "\n".join(lines)


def daily_csv(result: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["day", "depot", "waiting", *STATES])
    for day in result["over_time"]:
        for depot, units in day["units"].items():
            writer.writerow([day["day"], depot, day["waiting"].get(depot, 0), *(units.get(s, 0) for s in STATES)])
    return out.getvalue()


def plot_png(result: dict) -> bytes:
    # Imported here: matplotlib takes half a second to import, which every API and worker process
    # would pay at start for a plot only a simulation draws.
    import matplotlib

    matplotlib.use("Agg")  # no screen: draw to files
    import matplotlib.pyplot as plt

    days = [d["day"] for d in result["over_time"]]
    depots = list(result["depots"])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    for depot in depots:
        top.plot(days, [d["ready"].get(depot, 0) for d in result["over_time"]], label=depot)
        bottom.plot(days, [d["waiting"].get(depot, 0) for d in result["over_time"]], label=depot)
    top.set_ylabel("ready units")
    bottom.set_ylabel("swaps backordered")
    top.set_title("Ready stock and backorders per depot, end of each day")
    top.legend(loc="upper right")
    step = max(1, len(days) // 8)
    bottom.set_xticks(range(0, len(days), step), [days[i] for i in range(0, len(days), step)], rotation=30)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()
