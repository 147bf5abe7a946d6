"""Each model's kit is asked for at packing and checked at return inspection, a missing accessory is a
discrepancy with its replacement cost; triage grades a unit, and one below the bar never goes back to
workers."""

from app.jobs import work
from tests.support import factories as f
from tests.support.arrange import out_with_a_worker
from tests.support.factories import post_swap, scan, swap_body

KIT = [{"item": "Charger", "cost": "35.00"}, {"item": "dock", "cost": "120.50"}]


def test_the_kit_is_asked_for_at_packing_and_a_missing_charger_is_a_discrepancy_with_its_cost(client, keys, app):
    admin = keys["admin"]
    lon = f.depot(client, admin, "LON")
    model = f.model(client, admin, accessories=KIT, currency="GBP")
    assert [a["item"] for a in model["accessories"]] == ["charger", "dock"] and model["accessories"][1]["cost"] == \
        "120.50"
    prof = f.profile(client, admin, version="v2")
    old = f.unit(client, keys["warehouse"], model["id"], lon["id"])
    out_with_a_worker(app.state.session_factory, old["id"])
    spare = f.unit(client, keys["warehouse"], model["id"], lon["id"], **f.fit_to_ship(prof))
    post_swap(client, keys, swap_body(model["id"], return_mode="return_box", broken_unit=old["asset_tag"]))
    work.run_outbox(app.state.session_factory, app.state.carrier)
    packed = scan(client, keys, spare["asset_tag"], lon["id"])
    assert packed["action"] == "packed" and packed["checklist"] == ["charger", "dock"]
    assert "Put in the box: charger, dock." in packed["instruction"]
    received = scan(client, keys, old["asset_tag"], lon["id"])
    assert received["checklist"] == ["charger", "dock"]
    r = client.post(f"/api/v1/returns/{received['expected_return_id']}/inspection",
                    json={"items_present": ["device", "dock"]}, headers=keys["warehouse"])
    assert r.status_code == 200 and r.json()["outcome"] == "missing_items"
    (missing,) = client.get("/api/v1/discrepancies?kind=missing_items", headers=keys["support"]).json()
    assert (missing["amount"], missing["currency"]) == ("35.00", "GBP") and "charger (35.00 GBP)" in missing["details"]


def _in_triage(client, keys):
    lon = f.depot(client, keys["admin"], "LON")
    model = f.model(client, keys["admin"])
    return f.unit(client, keys["warehouse"], model["id"], lon["id"], state="triage")


def test_a_unit_graded_c_or_with_a_worn_battery_is_not_refurbished_for_workers(client, keys):
    unit = _in_triage(client, keys)
    for grade, battery in (("C", 95), ("A", 62)):
        r = client.post(f"/api/v1/units/{unit['id']}/triage", headers=keys["warehouse"],
                        json={"decision": "refurbish", "reason": "checked", "grade": grade, "battery_health": battery})
        assert r.status_code == 409 and "not refurbished for workers" in r.json()["detail"]
    state = client.get(f"/api/v1/units/{unit['id']}", headers=keys["support"]).json()
    assert state["state"] == "triage"
    retired = client.post(f"/api/v1/units/{unit['id']}/triage", headers=keys["warehouse"],
                          json={"decision": "retire", "reason": "worn out", "grade": "C", "battery_health": 62})
    assert retired.status_code == 200 and retired.json()["state"] == "retired"
    assert (retired.json()["cosmetic_grade"], retired.json()["battery_health"]) == ("C", 62)


def test_a_good_grade_is_recorded_and_the_unit_goes_back_to_stock(client, keys):
    unit = _in_triage(client, keys)
    r = client.post(f"/api/v1/units/{unit['id']}/triage", headers=keys["warehouse"],
                    json={"decision": "refurbish", "reason": "checked", "grade": "B", "battery_health": 88})
    assert r.status_code == 200 and (r.json()["cosmetic_grade"], r.json()["battery_health"]) == ("B", 88)
    f.wipe(client, keys, unit["id"])
    ready = client.post(f"/api/v1/units/{unit['id']}/refurbished", json={}, headers=keys["warehouse"])
    assert ready.status_code == 200 and ready.json()["state"] == "ready"
    bad = client.post(f"/api/v1/units/{unit['id']}/triage", headers=keys["warehouse"],
                      json={"decision": "refurbish", "reason": "x", "grade": "D"})
    assert bad.status_code == 422
