"""A same-visit collection is booked exactly once: recorded before the carrier is called, looked up
after a lost answer (or, with Shippo, which cannot be asked, left for support to confirm instead of
sending a second courier), asked again only when the carrier refused before acting, and recorded as
orphaned when its swap is cancelled."""

from collections import Counter

import pytest
from sqlalchemy import select

from app.jobs import work
from app.models import PickupRequest
from app.shipping.carrier import TemporaryCarrierError
from app.shipping.shippo_carrier import ShippoCarrier
from app.shipping.simulated import SimulatedCarrier
from tests.support import factories as f
from tests.support.asgi_client import AppClient
from tests.support.factories import US_WORKER, swap_body
from tests.support.shippo_standin import ShippoStandin


@pytest.fixture
def standin():
    with ShippoStandin() as api:
        yield api


@pytest.fixture
def shippo_app(make_app, standin):
    return make_app(shippo_api_key="shippo_test_abc", shippo_base_url=standin.url)


@pytest.fixture
def shippo_client(shippo_app):
    with AppClient(shippo_app) as c:
        yield c


def _swap(client, keys) -> dict:
    depot = f.depot(client, keys["admin"], "NYC")
    model = f.model(client, keys["admin"])
    f.unit(client, keys["warehouse"], model["id"], depot["id"])
    body = swap_body(worker=US_WORKER, return_mode="swap_at_door")
    body["needed"] = {"model_id": model["id"]}
    r = client.post("/api/v1/swap-requests", json=body, headers=keys["support"])
    assert r.status_code == 201, r.text
    return r.json()


def _get(client, keys, swap_id) -> dict:
    return client.get(f"/api/v1/swap-requests/{swap_id}", headers=keys["support"]).json()


def _requests(app) -> list[PickupRequest]:
    with app.state.session_factory() as s:
        return list(s.scalars(select(PickupRequest)))


def _drain(app, carrier, clock) -> None:
    for _ in range(20):
        clock.advance(minutes=31)  # past any backoff
        if not work.run_outbox(app.state.session_factory, carrier):
            return


def test_a_lost_pickup_answer_is_not_followed_by_a_second_courier(shippo_client, keys, shippo_app, standin,
                                                                  frozen_clock):
    impatient = ShippoCarrier("shippo_test_abc", server_url=standin.url, timeout=(1, 0.5), poll_interval=0.01)
    standin.delay_next("/pickups", 1.5, method="POST")  # booked, but the answer comes too late
    swap = _swap(shippo_client, keys)
    work.run_outbox(shippo_app.state.session_factory, impatient)
    assert _get(shippo_client, keys, swap["id"])["status"] == "allocated"  # the job will be retried
    _drain(shippo_app, impatient, frozen_clock)
    assert len(standin.pickups) == 1 and len(standin.calls("POST", "/pickups")) == 1
    after = _get(shippo_client, keys, swap["id"])
    assert after["status"] == "label_booked" and after["return_plan"] == "swap_at_door"
    (note,) = [e for e in after["timeline"] if e["kind"] == "pickup_unconfirmed"]
    assert note["data"]["escalated"] is True and f"swap-{swap['id']}-pickup" in note["message"]
    assert [(r.status, r.attempts) for r in _requests(shippo_app)] == [("unconfirmed", 1)]


@pytest.mark.parametrize("status", [429, 503])
def test_a_pickup_refused_before_it_was_made_is_asked_again(shippo_client, keys, shippo_app, standin,
                                                            frozen_clock, status):
    standin.fail_next("/pickups", status, method="POST", retry_after="1")
    swap = _swap(shippo_client, keys)
    _drain(shippo_app, shippo_app.state.carrier, frozen_clock)
    assert len(standin.pickups) == 1 and len(standin.calls("POST", "/pickups")) == 2
    after = _get(shippo_client, keys, swap["id"])
    assert after["status"] == "label_booked"
    (ret,) = [s for s in after["shipments"] if s["direction"] == "return"]
    assert ret["pickup_confirmation"] == next(iter(standin.pickups.values()))["confirmation_code"]
    assert [(r.status, r.attempts) for r in _requests(shippo_app)] == [("confirmed", 2)]


class LosesOnePickupAnswer:
    """The simulated carrier, whose first pickup answer is lost after the pickup was booked."""

    def __init__(self, inner: SimulatedCarrier):
        self.inner, self.name, self.finds_pickups = inner, inner.name, inner.finds_pickups
        self.booked: Counter[str] = Counter()
        self.lose = 1

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def book_pickup(self, **kw):
        pickup = self.inner.book_pickup(**kw)
        self.booked[kw["reference"]] += 1
        if self.lose:
            self.lose -= 1
            raise TemporaryCarrierError("read timed out (it may have been done)")
        return pickup


def test_a_carrier_that_can_be_asked_has_its_pickup_adopted(client, keys, app, frozen_clock):
    carrier = LosesOnePickupAnswer(SimulatedCarrier(frozen_clock))
    depot = f.depot(client, keys["admin"], "LON")
    model = f.model(client, keys["admin"])
    f.unit(client, keys["warehouse"], model["id"], depot["id"])
    swap = client.post("/api/v1/swap-requests", json=swap_body(model["id"]), headers=keys["support"]).json()
    work.run_outbox(app.state.session_factory, carrier)
    _drain(app, carrier, frozen_clock)
    assert carrier.booked == {f"swap-{swap['id']}-pickup": 1}  # looked up, not booked again
    after = _get(client, keys, swap["id"])
    assert after["status"] == "label_booked"
    assert [r.status for r in _requests(app)] == ["confirmed"]


def test_a_cancelled_swaps_pickup_is_recorded_as_orphaned_for_support(shippo_client, keys, shippo_app, standin):
    swap = _swap(shippo_client, keys)
    work.run_outbox(shippo_app.state.session_factory, shippo_app.state.carrier)
    code = next(iter(standin.pickups.values()))["confirmation_code"]
    r = shippo_client.post(f"/api/v1/swap-requests/{swap['id']}/cancel", json={"reason": "fixed"},
                           headers=keys["support"])
    assert r.status_code == 200
    work.run_outbox(shippo_app.state.session_factory, shippo_app.state.carrier)
    after = _get(shippo_client, keys, swap["id"])
    (orphan,) = [e for e in after["timeline"] if e["kind"] == "pickup_orphaned"]
    assert code in orphan["message"] and orphan["data"]["escalated"] is True
    assert [r.status for r in _requests(shippo_app)] == ["orphaned"]
