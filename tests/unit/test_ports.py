"""Both carrier adapters implement the whole carrier port, and the check that says so can fail."""

from datetime import UTC, datetime

from app.shipping.carrier import Carrier
from app.shipping.shippo_carrier import ShippoCarrier
from app.shipping.simulated import SimulatedCarrier
from tests.support.ports import port_mismatches


def test_the_simulated_carrier_implements_the_port():
    assert port_mismatches(Carrier, SimulatedCarrier(lambda: datetime.now(UTC))) == []


def test_the_shippo_carrier_implements_the_port():
    assert port_mismatches(Carrier, ShippoCarrier("shippo_test_x", server_url="http://127.0.0.1:9")) == []


def test_an_adapter_missing_a_method_or_taking_other_arguments_is_caught():
    class Partial(SimulatedCarrier):
        find_labels = None  # gone

        def refund_label(self, label_id: str):  # positional, where the port says keyword-only
            raise NotImplementedError

    problems = port_mismatches(Carrier, Partial(lambda: datetime.now(UTC)))
    assert "method find_labels: missing" in problems
    assert any(p.startswith("method refund_label:") for p in problems)
    assert "attribute name: missing" in port_mismatches(Carrier, object())
