"""Which carrier adapter runs: Shippo when a key is set, else the simulated carrier."""

from datetime import timedelta

from app import clock
from app.settings import Settings
from app.shipping.carrier import Carrier


def make_carrier(settings: Settings) -> Carrier:
    if settings.shippo_api_key:
        from app.shipping.shippo_carrier import ShippoCarrier

        return ShippoCarrier(settings.shippo_api_key, server_url=settings.shippo_base_url or None,
                             timeout=(3, settings.shippo_timeout_seconds))
    from app.shipping.simulated import SimulatedCarrier

    return SimulatedCarrier(
        clock.now, base_url=settings.public_base_url,
        in_transit_after=timedelta(seconds=settings.sim_in_transit_after_seconds),
        delivered_after=timedelta(seconds=settings.sim_delivered_after_seconds),
    )
