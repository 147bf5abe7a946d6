"""Choosing a rate: plain values in, one rate out."""

from app.shipping.carrier import Rate


def choose_rate(rates: list[Rate], *, max_days: int | None, carrier: str | None = None) -> Rate | None:
    """The cheapest rate whose service promises delivery within `max_days` business days; when no
    rate promises that, the fastest (then cheapest). `carrier` restricts to one carrier (a return
    label must use the outbound label's carrier)."""
    pool = [r for r in rates if carrier is None or r.carrier == carrier]
    if not pool:
        return None
    if max_days is not None:
        in_time = [r for r in pool if r.estimated_days is not None and r.estimated_days <= max_days]
        if in_time:
            return min(in_time, key=lambda r: (r.amount, r.estimated_days, r.rate_id))
    return min(pool, key=lambda r: (r.estimated_days if r.estimated_days is not None else 99, r.amount, r.rate_id))
