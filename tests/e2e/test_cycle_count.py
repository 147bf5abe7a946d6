"""Cycle counts through HTTP and the database: scans recorded once per code (unknown codes too), the
report both ways on close, and a closed count refusing more."""

import pytest
from sqlalchemy import func, select

from app.models import CustodyEntry, Scan
from tests.support import factories as f
from tests.support.arrange import out_with_a_worker
from tests.support.factories import move


@pytest.fixture
def shelves(client, keys, frozen_clock, session_factory):
    admin, wh = keys["admin"], keys["warehouse"]
    lon, nyc = f.depot(client, admin, "LON"), f.depot(client, admin, "NYC")
    model = f.model(client, admin)
    units = {name: f.unit(client, wh, model["id"], lon["id"], state=state)
             for name, state in [("ready", "ready"), ("triage", "triage"), ("missing", "ready"), ("out", "ready"),
                                 ("retired", "triage")]}
    units["elsewhere"] = f.unit(client, wh, model["id"], nyc["id"])
    out_with_a_worker(session_factory, units["out"]["id"])
    move(client, keys, units["retired"]["id"], "retired")
    return {"lon": lon, "nyc": nyc, "units": units}


def start(client, keys, depot_id):
    r = client.post("/api/v1/cycle-counts", json={"depot_id": depot_id}, headers=keys["warehouse"])
    assert r.status_code == 201, r.text
    return r.json()


def count_scan(client, keys, count_id, code, status=200):
    r = client.post(f"/api/v1/cycle-counts/{count_id}/scans", json={"code": code}, headers=keys["warehouse"])
    assert r.status_code == status, r.text
    return r.json()


def test_a_count_reports_both_directions_and_changes_no_unit(client, keys, shelves, session_factory):
    u = shelves["units"]
    with session_factory() as s:
        ledger_before = s.scalar(select(func.count()).select_from(CustodyEntry))
    count = start(client, keys, shelves["lon"]["id"])
    assert (count["status"], count["scans"], count["report"]) == ("open", [], None)
    assert count["started_by"] == "test-warehouse"

    first = count_scan(client, keys, count["id"], u["ready"]["asset_tag"].lower())
    assert first["ok"] and not first["duplicate"] and first["unit_id"] == u["ready"]["id"]
    again = count_scan(client, keys, count["id"], f" {u['ready']['asset_tag']} ")
    by_serial = count_scan(client, keys, count["id"], u["ready"]["serial"])
    assert again["duplicate"] and by_serial["duplicate"]
    assert again["scan_id"] == by_serial["scan_id"] == first["scan_id"]
    assert count_scan(client, keys, count["id"], u["triage"]["asset_tag"])["ok"]
    elsewhere = count_scan(client, keys, count["id"], u["elsewhere"]["asset_tag"])
    assert not elsewhere["ok"] and "depot NYC" in elsewhere["instruction"]
    out = count_scan(client, keys, count["id"], u["out"]["serial"])
    assert not out["ok"] and "'deployed'" in out["instruction"]
    ghost = count_scan(client, keys, count["id"], "ghost-1")
    assert (ghost["ok"], ghost["unit_id"], ghost["code"]) == (False, None, "GHOST-1")
    assert count_scan(client, keys, count["id"], "GHOST-1")["duplicate"]

    r = client.post(f"/api/v1/cycle-counts/{count['id']}/close", headers=keys["warehouse"])
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["status"] == "closed" and closed["closed_at"]
    report = closed["report"]
    assert (report["scanned"], report["expected"], report["matched"]) == (5, 3, 2)
    assert [(x["unit_id"], x["asset_tag"], x["state"], x["depot_code"]) for x in report["expected_not_scanned"]] == [
        (u["missing"]["id"], u["missing"]["asset_tag"], "ready", "LON")]
    surprises = {x["code"]: x for x in report["scanned_not_expected"]}
    assert set(surprises) == {u["elsewhere"]["asset_tag"], u["out"]["serial"], "GHOST-1"}
    assert (surprises[u["elsewhere"]["asset_tag"]]["depot_code"], surprises[u["elsewhere"]["asset_tag"]]["state"]) \
        == ("NYC", "ready")
    assert "another depot" in surprises[u["elsewhere"]["asset_tag"]]["reason"]
    assert (surprises[u["out"]["serial"]]["unit_id"], surprises[u["out"]["serial"]]["state"]) == (u["out"]["id"],
                                                                                                  "deployed")
    assert surprises["GHOST-1"]["unit_id"] is None and surprises["GHOST-1"]["reason"] == "unknown code"

    got = client.get(f"/api/v1/cycle-counts/{count['id']}", headers=keys["support"]).json()
    assert got["report"] == report and len(got["scans"]) == 5
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(CustodyEntry)) == ledger_before
        actions = s.scalars(select(Scan.action).where(Scan.cycle_count_id == count["id"])).all()
        assert actions == ["counted"] * 5
    for name, unit in u.items():
        state = client.get(f"/api/v1/units/{unit['id']}", headers=keys["support"]).json()["state"]
        assert state == {"out": "deployed", "retired": "retired"}.get(name, unit["state"]), name


def test_a_closed_count_refuses_a_second_close_and_more_scans(client, keys, shelves):
    count = start(client, keys, shelves["lon"]["id"])
    count_scan(client, keys, count["id"], shelves["units"]["ready"]["asset_tag"])
    first = client.post(f"/api/v1/cycle-counts/{count['id']}/close", headers=keys["warehouse"]).json()
    for r in (client.post(f"/api/v1/cycle-counts/{count['id']}/close", headers=keys["warehouse"]),
              client.post(f"/api/v1/cycle-counts/{count['id']}/scans", json={"code": "X"}, headers=keys["warehouse"])):
        assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
        assert "closed" in r.json()["detail"]
    got = client.get(f"/api/v1/cycle-counts/{count['id']}", headers=keys["support"]).json()
    assert got["report"] == first["report"] and len(got["scans"]) == 1


def test_counts_of_different_depots_are_separate(client, keys, shelves):
    lon, nyc = start(client, keys, shelves["lon"]["id"]), start(client, keys, shelves["nyc"]["id"])
    tag = shelves["units"]["elsewhere"]["asset_tag"]
    assert count_scan(client, keys, nyc["id"], tag)["ok"]
    assert not count_scan(client, keys, lon["id"], tag)["duplicate"]
    report = client.post(f"/api/v1/cycle-counts/{nyc['id']}/close", headers=keys["warehouse"]).json()["report"]
    assert (report["expected"], report["matched"], report["expected_not_scanned"],
            report["scanned_not_expected"]) == (1, 1, [], [])


def test_unknown_counts_and_depots_are_404_and_support_may_only_read(client, keys, shelves):
    r = client.post("/api/v1/cycle-counts", json={"depot_id": 999}, headers=keys["warehouse"])
    assert r.status_code == 404 and r.json()["field"] == "depot_id"
    assert client.get("/api/v1/cycle-counts/999", headers=keys["support"]).status_code == 404
    assert count_scan(client, keys, 999, "X", status=404)["status"] == 404
    assert client.post("/api/v1/cycle-counts/999/close", headers=keys["warehouse"]).status_code == 404
    r = client.post("/api/v1/cycle-counts", json={"depot_id": shelves["lon"]["id"]}, headers=keys["support"])
    assert r.status_code == 403
