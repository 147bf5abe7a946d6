"""Where a unit may go: a depot serves its own country and the regions it is set to serve; a swap
crosses a border only when its request allows it; the waitlist is per region."""

from sqlalchemy import update

from app.db import unit_of_work
from app.inventory.states import UnitState
from app.models import SpareUnit
from tests.support import factories as f
from tests.support.asgi_client import AppClient
from tests.support.factories import US_WORKER, post_swap, swap_body
from tests.support.loop import run_due

FR_WORKER = {"name": "Léa Martin", "email": "lea@example.com", "timezone": "Europe/Paris",
             "address": {"street1": "8 rue de Rivoli", "city": "Paris", "postal_code": "75004", "country": "FR"}}


def test_a_gb_worker_is_not_served_from_a_us_depot_unless_the_request_allows_crossing(client, keys):
    admin = keys["admin"]
    f.depot(client, admin, "LON")
    nyc = f.depot(client, admin, "NYC")
    model = f.model(client, admin)
    f.unit(client, keys["warehouse"], model["id"], nyc["id"])
    waiting = post_swap(client, keys, swap_body(model["id"], ticket="GB-1")).json()
    assert waiting["status"] == "backordered" and waiting["unit_id"] is None
    assert waiting["allow_cross_border"] is False
    assert "in your region" in waiting["timeline"][-1]["message"]
    crossing = post_swap(client, keys, swap_body(model["id"], ticket="GB-2", allow_cross_border=True)).json()
    assert crossing["status"] == "allocated" and crossing["depot_code"] == "NYC"
    assert crossing["allow_cross_border"] is True


def test_a_depot_serving_the_eu_serves_a_french_worker_and_one_serving_only_its_country_does_not(client, keys):
    admin = keys["admin"]
    ber = f.depot(client, admin, "BER")
    model = f.model(client, admin)
    f.unit(client, keys["warehouse"], model["id"], ber["id"])
    assert post_swap(client, keys, swap_body(model["id"], ticket="FR-1", worker=FR_WORKER)).json()["status"] == \
        "backordered"
    r = client.patch(f"/api/v1/depots/{ber['id']}", json={"serves": ["eu"]}, headers=admin)
    assert r.status_code == 200 and r.json()["serves"] == ["EU"]
    served = post_swap(client, keys, swap_body(model["id"], ticket="FR-2", worker=FR_WORKER)).json()
    assert served["status"] == "allocated" and served["depot_code"] == "BER"


def test_a_unit_ready_at_a_us_depot_waits_for_a_us_worker_not_the_gb_one_ahead_in_line(client, keys):
    admin = keys["admin"]
    lon, nyc = f.depot(client, admin, "LON"), f.depot(client, admin, "NYC")
    model = f.model(client, admin)
    gb = post_swap(client, keys, swap_body(model["id"], ticket="GB-3")).json()
    us = post_swap(client, keys, swap_body(model["id"], ticket="US-1", worker=US_WORKER)).json()
    assert (gb["status"], gb["waitlist_position"]) == ("backordered", 1)
    assert (us["status"], us["waitlist_position"]) == ("backordered", 1)  # each first in its own region's line
    f.unit(client, keys["warehouse"], model["id"], nyc["id"])  # a unit becomes ready in the US
    swaps = {s["ticket_id"]: s for s in
             (client.get(f"/api/v1/swap-requests/{i}", headers=keys["support"]).json() for i in (gb["id"], us["id"]))}
    assert swaps["US-1"]["status"] == "allocated" and swaps["US-1"]["depot_code"] == "NYC"
    assert swaps["GB-3"]["status"] == "backordered"
    f.unit(client, keys["warehouse"], model["id"], lon["id"])
    assert client.get(f"/api/v1/swap-requests/{gb['id']}", headers=keys["support"]).json()["status"] == "allocated"


def test_a_depot_cannot_serve_an_unknown_region(client, keys):
    admin = keys["admin"]
    depot = f.depot(client, admin, "LON")
    r = client.patch(f"/api/v1/depots/{depot['id']}", json={"serves": ["ATLANTIS"]}, headers=admin)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"/api/v1/depots/{depot['id']}", headers=admin).json()["serves"] == []


def _booked(client, keys, app, swap_id):
    from app.jobs import work
    from tests.support.service import SWAP_JOB_KINDS

    work.run_outbox(app.state.session_factory, app.state.carrier, only=SWAP_JOB_KINDS,
                    kinds=app.state.service.kinds)  # the app's own jobs, built from its settings
    return client.get(f"/api/v1/swap-requests/{swap_id}", headers=keys["support"]).json()


def test_a_crossing_without_the_model_s_customs_data_is_not_booked_and_says_what_is_missing(client, keys, app):
    admin = keys["admin"]
    nyc = f.depot(client, admin, "NYC")
    model = f.model(client, admin, replacement_value="900.00", hs_code="847130")  # no origin country
    f.unit(client, keys["warehouse"], model["id"], nyc["id"])
    created = post_swap(client, keys, swap_body(model["id"], ticket="GB-9", allow_cross_border=True)).json()
    swap = _booked(client, keys, app, created["id"])
    assert swap["status"] == "exception"
    assert all(s["label_status"] != "SUCCESS" for s in swap["shipments"])
    assert "customs declaration" in swap["timeline"][-1]["message"] and "origin_country" in \
        swap["timeline"][-1]["message"]


def test_inside_the_eu_customs_union_no_declaration_goes_with_the_label(client, keys, app):
    admin = keys["admin"]
    ber = f.depot(client, admin, "BER", serves=["EU"])
    model = f.model(client, admin)  # no customs data: none is needed
    f.unit(client, keys["warehouse"], model["id"], ber["id"])
    created = post_swap(client, keys, swap_body(model["id"], ticket="FR-3", worker=FR_WORKER)).json()
    swap = _booked(client, keys, app, created["id"])
    assert swap["status"] == "label_booked"
    assert [s["customs"] for s in swap["shipments"]] == [None] * len(swap["shipments"])


def _crossing_swap(client, keys, app):
    admin = keys["admin"]
    lon, nyc = f.depot(client, admin, "LON"), f.depot(client, admin, "NYC")
    model = f.model(client, admin, replacement_value="900.00", hs_code="847130", origin_country="CN")
    f.unit(client, keys["warehouse"], model["id"], nyc["id"])
    created = post_swap(client, keys, swap_body(model["id"], ticket="GB-R", return_mode="return_box",
                                                allow_cross_border=True)).json()
    swap = _booked(client, keys, app, created["id"])
    assert swap["status"] == "label_booked" and swap["depot_code"] == "NYC"
    ret = next(s for s in swap["shipments"] if s["direction"] == "return")
    (expected,) = client.get("/api/v1/returns", headers=keys["support"]).json()
    return lon, nyc, ret, expected


def test_the_broken_kit_goes_back_to_the_depot_that_sent_the_unit_by_default(client, keys, app):
    _lon, nyc, ret, expected = _crossing_swap(client, keys, app)
    assert expected["depot_id"] == nyc["id"]
    assert ret["customs"]["contents_type"] == "RETURN_MERCHANDISE"  # it crosses back


def test_with_the_region_policy_the_broken_kit_goes_to_a_depot_in_the_worker_s_country(make_app, keys):
    
    app = make_app(return_depot="region")
    with AppClient(app) as client:
        lon, _nyc, ret, expected = _crossing_swap(client, keys, app)
    assert expected["depot_id"] == lon["id"]
    assert ret["customs"] is None  # Leeds to London: no border


def test_the_waitlist_sweep_serves_every_line_it_has_stock_for_past_those_it_has_none_for(client, keys, app,
                                                                                         session_factory):
    """Units that became ready while nobody was told (the race the sweep is there for): a line with
    nothing free (laptops in GB) does not stop the sweep serving another need there, or the same need in
    another region."""
    admin, warehouse = keys["admin"], keys["warehouse"]
    lon, nyc = f.depot(client, admin, "LON"), f.depot(client, admin, "NYC")
    laptop, phone = f.model(client, admin), f.model(client, admin, category="phone")
    hidden = [f.unit(client, warehouse, phone["id"], lon["id"])["id"], f.unit(client, warehouse, laptop["id"], nyc["id"])["id"]]
    _set_state(session_factory, hidden, UnitState.REFURBISHING)
    asked = {t: post_swap(client, keys, swap_body(m["id"], ticket=t, **over)).json()
             for t, m, over in [("GB-LAPTOP", laptop, {}), ("GB-PHONE", phone, {}),
                                ("US-LAPTOP", laptop, {"worker": US_WORKER}), ("GB-LAPTOP-2", laptop, {})]}
    assert {s["status"] for s in asked.values()} == {"backordered"}
    _set_state(session_factory, hidden, UnitState.READY)  # ready, and no one offered them
    run_due(app)  # the sweep serves them; the booking that follows books them
    now = {t: client.get(f"/api/v1/swap-requests/{s['id']}", headers=keys["support"]).json() for t, s in asked.items()}
    assert (now["GB-PHONE"]["status"], now["GB-PHONE"]["unit_id"]) == ("label_booked", hidden[0])
    assert (now["US-LAPTOP"]["status"], now["US-LAPTOP"]["unit_id"]) == ("label_booked", hidden[1])
    assert now["GB-LAPTOP"]["status"] == now["GB-LAPTOP-2"]["status"] == "backordered"


def _set_state(factory, unit_ids, state):
    with unit_of_work(factory) as s:
        s.execute(update(SpareUnit).where(SpareUnit.id.in_(unit_ids)).values(state=state))
