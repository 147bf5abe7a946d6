"""The warehouse bench through HTTP and the database: packing by scan, receiving returns, wrong
units, missing items, overdue and lost returns, triage and refurbishment feeding the waitlist."""

from datetime import timedelta

import pytest

from app.jobs import work
from tests.support import factories as f
from tests.support.arrange import out_with_a_worker
from tests.support.factories import hook, move, post_swap, scan, swap_body


def unit_state(client, keys, unit_id):
    return client.get(f"/api/v1/units/{unit_id}", headers=keys["support"]).json()["state"]


def discrepancies(client, keys, **params):
    return client.get("/api/v1/discrepancies", params=params, headers=keys["support"]).json()


@pytest.fixture
def bench(client, keys, frozen_clock, app):
    admin = keys["admin"]
    lon = f.depot(client, admin, "LON")
    model = f.model(client, admin, sku="LAT-5440")
    prof = f.profile(client, admin, version="v2")
    fresh = f.fit_to_ship(prof, box_contents=["charger"])

    def spare(depot=lon, **over):
        return f.unit(client, keys["warehouse"], model["id"], depot["id"], **{**fresh, **over})

    def swap_for(broken=None, mode="swap_at_door", ticket="IT-1"):
        body = swap_body(model["id"], ticket=ticket, return_mode=mode, broken_unit=broken)
        created = post_swap(client, keys, body).json()
        work.run_outbox(app.state.session_factory, app.state.carrier)
        return {**client.get(f"/api/v1/swap-requests/{created['id']}", headers=keys["support"]).json(),
                "tracking_url": created["tracking_url"]}  # shown once, at creation

    return {"lon": lon, "model": model, "profile": prof, "spare": spare, "swap_for": swap_for,
            "session_factory": app.state.session_factory}


def deployed_spare(client, keys, bench):
    old = bench["spare"]()
    out_with_a_worker(bench["session_factory"], old["id"])
    return old


# ---- outbound ------------------------------------------------------------------------------


def test_scanning_a_reserved_unit_packs_it(client, keys, bench):
    new = bench["spare"]()
    swap = bench["swap_for"]()
    answer = scan(client, keys, new["asset_tag"].lower(), bench["lon"]["id"])  # scanners vary in case
    out = next(s for s in swap["shipments"] if s["direction"] == "outbound")
    assert answer["ok"] and answer["action"] == "packed" and answer["swap_id"] == swap["id"]
    assert out["tracking_number"] in answer["instruction"] and "courier collects" in answer["instruction"]
    assert unit_state(client, keys, new["id"]) == "packed"
    again = scan(client, keys, new["asset_tag"], bench["lon"]["id"])
    assert again["action"] == "info" and "already packed" in again["instruction"]
    assert unit_state(client, keys, new["id"]) == "packed"


@pytest.mark.parametrize("over,expect", [
    ({"profile_version": "v1"}, "re-image it to version v2"),
    ({"last_tested_at": "2026-10-01T10:00:00Z"}, "test it first"),
    ({"last_charged_at": None}, "charge it first"),
])
def test_a_unit_not_fit_to_ship_is_not_packed(client, keys, bench, over, expect):
    unit = bench["spare"](**over)
    bench["swap_for"]()
    answer = scan(client, keys, unit["asset_tag"], bench["lon"]["id"])
    assert not answer["ok"] and answer["action"] == "problem" and expect in answer["instruction"]
    assert unit_state(client, keys, unit["id"]) == "reserved"


def test_a_unit_of_another_depot_is_not_packed_here(client, keys, bench):
    unit = bench["spare"]()
    bench["swap_for"]()
    nyc = f.depot(client, keys["admin"], "NYC")
    answer = scan(client, keys, unit["asset_tag"], nyc["id"])
    assert not answer["ok"] and "belongs to depot LON" in answer["instruction"]
    assert unit_state(client, keys, unit["id"]) == "reserved"


def test_unknown_codes_and_references_answer_without_changing_anything(client, keys, bench):
    unit = bench["spare"]()
    swap = bench["swap_for"]()
    unknown = scan(client, keys, "NOPE-999", bench["lon"]["id"])
    assert not unknown["ok"] and unknown["action"] == "unknown" and "Unknown code" in unknown["instruction"]
    ref = scan(client, keys, f"SWAP-{swap['id']}", bench["lon"]["id"])
    assert ref["action"] == "info" and swap["ticket_id"] in ref["instruction"]
    assert unit_state(client, keys, unit["id"]) == "reserved"


# ---- inbound -------------------------------------------------------------------------------


def test_a_return_walks_back_to_ready_stock_and_feeds_the_waitlist(client, keys, bench, frozen_clock):
    old = deployed_spare(client, keys, bench)
    new = bench["spare"]()
    swap = bench["swap_for"](broken=old["asset_tag"])
    ret = next(s for s in swap["shipments"] if s["direction"] == "return")["tracking_number"]
    out = next(s for s in swap["shipments"] if s["direction"] == "outbound")["tracking_number"]
    scan(client, keys, new["asset_tag"], bench["lon"]["id"])
    hook(client, out, "TRANSIT", frozen_clock.at + timedelta(hours=3))
    hook(client, out, "DELIVERED", frozen_clock.at + timedelta(hours=20))
    assert unit_state(client, keys, old["id"]) == "awaiting_return"
    hook(client, ret, "TRANSIT", frozen_clock.at + timedelta(hours=21))
    assert unit_state(client, keys, old["id"]) == "returning"
    hook(client, ret, "DELIVERED", frozen_clock.at + timedelta(hours=40))
    box = scan(client, keys, ret, bench["lon"]["id"])
    assert box["action"] == "info" and box["expected_return_id"] and old["asset_tag"] in box["instruction"]
    received = scan(client, keys, old["asset_tag"], bench["lon"]["id"], return_id=box["expected_return_id"])
    assert received["ok"] and received["action"] == "received" and received["checklist"] == ["charger"]
    assert unit_state(client, keys, old["id"]) == "received"
    again = scan(client, keys, old["asset_tag"], bench["lon"]["id"])
    assert again["action"] == "info" and "already received" in again["instruction"]
    r = client.post(f"/api/v1/returns/{received['expected_return_id']}/inspection",
                    json={"items_present": ["device", "charger"], "damaged": False}, headers=keys["warehouse"])
    assert r.status_code == 200 and r.json()["outcome"] == "matched" and r.json()["status"] == "closed"
    assert unit_state(client, keys, old["id"]) == "triage"
    assert discrepancies(client, keys) == []
    closed = client.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()
    assert closed["status"] == "closed" and "complete" in closed["timeline"][-1]["message"]
    waiting = post_swap(client, keys, swap_body(bench["model"]["id"], ticket="WAIT")).json()
    assert waiting["status"] == "backordered"
    r = client.post(f"/api/v1/units/{old['id']}/triage", json={"decision": "refurbish", "reason": "works"},
                    headers=keys["warehouse"])
    assert r.status_code == 200 and r.json()["state"] == "refurbishing"
    client.patch(f"/api/v1/profiles/{bench['profile']['id']}", json={"current_version": "v3"}, headers=keys["admin"])
    f.wipe(client, keys, old["id"])
    r = client.post(f"/api/v1/units/{old['id']}/refurbished", json={"notes": "new battery"}, headers=keys["warehouse"])
    assert r.status_code == 200 and r.json()["profile_version"] == "v3" and r.json()["state"] == "reserved"
    served = client.get(f"/api/v1/swap-requests/{waiting['id']}", headers=keys["support"]).json()
    assert served["status"] == "allocated" and served["unit_id"] == old["id"]
    history = client.get(f"/api/v1/units/{old['id']}/history", headers=keys["support"]).json()
    assert [h["to_state"] for h in history][-9:] == ["deployed", "awaiting_return", "returning", "received",
                                                     "triage", "refurbishing", "refurbishing",  # the wipe, on record
                                                     "ready", "reserved"]
    assert all(h["actor"] for h in history)


def test_wrong_unit_in_the_box_is_flagged_on_both_records(client, keys, bench):
    expected_unit = deployed_spare(client, keys, bench)
    other = deployed_spare(client, keys, bench)
    bench["spare"]()
    swap = bench["swap_for"](broken=expected_unit["serial"])
    ret = next(s for s in swap["shipments"] if s["direction"] == "return")["tracking_number"]
    box = scan(client, keys, ret, bench["lon"]["id"])
    answer = scan(client, keys, other["asset_tag"], bench["lon"]["id"], return_id=box["expected_return_id"])
    assert not answer["ok"] and "WRONG UNIT" in answer["instruction"]
    flagged = discrepancies(client, keys, kind="wrong_unit")
    assert {d["unit_id"] for d in flagged} == {expected_unit["id"], other["id"]}
    assert unit_state(client, keys, other["id"]) == "received"
    assert unit_state(client, keys, expected_unit["id"]) == "deployed"  # still out there, and flagged


def test_a_return_scanned_at_another_depot_is_received_there_flagged_and_reconciled_there(client, keys, bench):
    man = f.depot(client, keys["admin"], "MAN")
    old = deployed_spare(client, keys, bench)
    bench["spare"]()
    bench["swap_for"](broken=old["asset_tag"], mode="return_box")
    answer = scan(client, keys, old["asset_tag"], man["id"])  # the worker sent it to Manchester
    assert answer["action"] == "received" and "WRONG DEPOT" in answer["instruction"]
    (flagged,) = discrepancies(client, keys, kind="wrong_depot")
    assert flagged["depot_id"] == man["id"] and "expected at LON" in flagged["details"]
    assert client.get(f"/api/v1/units/{old['id']}", headers=keys["support"]).json()["depot_id"] == man["id"]
    r = client.post(f"/api/v1/returns/{answer['expected_return_id']}/inspection",
                    json={"items_present": ["device", "charger"]}, headers=keys["warehouse"])
    assert r.status_code == 200 and r.json()["outcome"] == "wrong_depot" and r.json()["depot_id"] == man["id"]


def test_missing_charger_and_damage_are_discrepancies(client, keys, bench):
    old = deployed_spare(client, keys, bench)
    bench["spare"]()
    bench["swap_for"](broken=old["asset_tag"], mode="return_box")
    received = scan(client, keys, old["asset_tag"], bench["lon"]["id"])
    assert received["action"] == "received"
    r = client.post(f"/api/v1/returns/{received['expected_return_id']}/inspection",
                    json={"items_present": ["device"], "damaged": True, "notes": "cracked hinge"},
                    headers=keys["warehouse"])
    assert r.json()["outcome"] == "missing_items"
    kinds = {d["kind"]: d for d in discrepancies(client, keys)}
    assert set(kinds) == {"missing_items", "damaged"} and "charger" in kinds["missing_items"]["details"]
    assert client.get(f"/api/v1/units/{old['id']}", headers=keys["support"]).json()["condition_notes"] == \
        "cracked hinge"
    r = client.post(f"/api/v1/discrepancies/{kinds['damaged']['id']}/resolve", json={"resolution": "repaired"},
                    headers=keys["warehouse"])
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert {d["kind"] for d in discrepancies(client, keys)} == {"missing_items"}


def test_an_unexpected_device_is_received_and_flagged(client, keys, bench):
    stray = deployed_spare(client, keys, bench)
    answer = scan(client, keys, stray["asset_tag"], bench["lon"]["id"])
    assert not answer["ok"] and answer["action"] == "received" and "unexpected" in answer["instruction"]
    assert [d["kind"] for d in discrepancies(client, keys)] == ["unexpected"]
    assert unit_state(client, keys, stray["id"]) == "received"


def test_overdue_returns_are_flagged_once_and_the_worker_reminded(client, keys, bench, app, frozen_clock):
    old = deployed_spare(client, keys, bench)
    bench["spare"]()
    swap = bench["swap_for"](broken=old["asset_tag"], mode="return_box")
    due = client.get("/api/v1/returns", headers=keys["support"]).json()[0]["due_date"]
    assert due == "2026-12-09"  # ten business days after the Wednesday delivery
    factory = app.state.session_factory
    frozen_clock.advance(days=14)  # Tuesday 8 Dec: not yet due
    assert work.sweep_returns(factory)["overdue"] == 0
    frozen_clock.advance(days=2)  # Thursday 10 Dec: the first reminder (due day) came due
    assert work.sweep_returns(factory) == {"overdue": 1, "lost": 0, "remind": 1, "escalate": 0, "unreturned": 0}
    assert work.sweep_returns(factory) == {"overdue": 0, "lost": 0, "remind": 0, "escalate": 0, "unreturned": 0}
    frozen_clock.advance(days=3)  # Sunday 13 Dec: the next is three business days after the due date
    assert work.sweep_returns(factory)["remind"] == 0
    frozen_clock.advance(days=1)  # Monday 14 Dec
    assert work.sweep_returns(factory)["remind"] == 1
    assert [d["kind"] for d in discrepancies(client, keys)] == ["overdue"]
    timeline = client.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()["timeline"]
    assert [e["kind"] for e in timeline].count("return_reminder") == 2
    # The worker sees the reminder on their tracking page too.
    page = client.get(swap["tracking_url"].replace("http://127.0.0.1:8000", "") + ".json").json()
    assert sum("your old device was due back" in e["what"] for e in page["timeline"]) == 2


def test_a_return_delivered_but_never_scanned_becomes_lost(client, keys, bench, app, frozen_clock):
    old = deployed_spare(client, keys, bench)
    bench["spare"]()
    swap = bench["swap_for"](broken=old["asset_tag"])
    ret = next(s for s in swap["shipments"] if s["direction"] == "return")["tracking_number"]
    hook(client, ret, "DELIVERED", frozen_clock.at + timedelta(days=1))
    frozen_clock.advance(days=7)
    assert work.sweep_returns(app.state.session_factory)["lost"] == 1
    assert [d["kind"] for d in discrepancies(client, keys)] == ["lost"]
    assert unit_state(client, keys, old["id"]) == "lost"
    found = scan(client, keys, old["asset_tag"], bench["lon"]["id"])  # it turns up after all
    assert found["action"] == "received" and unit_state(client, keys, old["id"]) == "received"


def test_a_unit_can_make_a_second_trip(client, keys, bench, frozen_clock):
    unit = bench["spare"]()
    first = bench["swap_for"](ticket="FIRST")
    out = next(s for s in first["shipments"] if s["direction"] == "outbound")["tracking_number"]
    hook(client, out, "DELIVERED", frozen_clock.at + timedelta(hours=20))
    assert unit_state(client, keys, unit["id"]) == "deployed"
    scan(client, keys, unit["asset_tag"], bench["lon"]["id"])  # it comes back (unexpected, but ours)
    move(client, keys, unit["id"], "triage")
    waiting = post_swap(client, keys, swap_body(bench["model"]["id"], ticket="SECOND")).json()
    client.post(f"/api/v1/units/{unit['id']}/triage", json={"decision": "refurbish", "reason": "ok"},
                headers=keys["warehouse"])
    f.wipe(client, keys, unit["id"])
    r = client.post(f"/api/v1/units/{unit['id']}/refurbished", json={}, headers=keys["warehouse"])
    assert r.status_code == 200 and r.json()["state"] == "reserved"
    second = client.get(f"/api/v1/swap-requests/{waiting['id']}", headers=keys["support"]).json()
    assert second["status"] == "allocated" and second["unit_id"] == unit["id"]
    report = client.get("/api/v1/reconciliation/invariants", headers=keys["support"]).json()
    assert report["ok"] is True, report["breaches"]


def test_a_scan_at_an_unknown_depot_is_a_404_that_records_nothing_and_a_depot_made_next_is_known_at_once(
        client, keys, session_factory):
    """The scan reads the depot from the reference cache: an unknown one is still refused, and one made
    next is scanned at straight away."""
    from sqlalchemy import func, select

    from app.models import Scan

    lon = f.depot(client, keys["admin"], "LON")
    missing = lon["id"] + 1
    r = client.post("/api/v1/scans", json={"code": "ANY-1", "depot_id": missing}, headers=keys["warehouse"])
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert r.json()["field"] == "depot_id"
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Scan)) == 0
    made = f.depot(client, keys["admin"], "NYC")
    assert made["id"] == missing
    assert scan(client, keys, "ANY-1", missing)["action"] == "unknown"  # an answer, not a 404
