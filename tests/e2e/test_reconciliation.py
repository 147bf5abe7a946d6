"""Reconciliation through HTTP and the database: the period report and its CSV for an arranged set of
swaps, and the invariant check (endpoint and CLI) on a clean flow and on deliberately broken records."""

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import event, text
from typer.testing import CliRunner

from app import cli
from app.db import unit_of_work
from app.jobs import work
from app.settings import get_settings
from app.swaps import intake
from app.swaps.schemas import SwapCreate
from tests.support import factories as f
from tests.support.arrange import out_with_a_worker
from tests.support.databases import ON_POSTGRES
from tests.support.factories import hook, post_swap, scan, swap_body
from tests.support.service import SWAP_JOB_KINDS

CUSTOMS = {"replacement_value": "900.00", "hs_code": "847130", "origin_country": "CN"}  # for crossing a border

@pytest.fixture
def world(client, keys, frozen_clock, app):
    admin = keys["admin"]
    lon, nyc = f.depot(client, admin, "LON"), f.depot(client, admin, "NYC")
    model = f.model(client, admin, sku="LAT-5440")
    prof = f.profile(client, admin, version="v2")
    fresh = f.fit_to_ship(prof, box_contents=["charger"])

    def spare(depot=lon, model_id=model["id"]):
        return f.unit(client, keys["warehouse"], model_id, depot["id"], **fresh)

    def deployed():
        unit = spare()
        out_with_a_worker(app.state.session_factory, unit["id"])
        return unit

    def swap(ticket, broken, mode, model_id=model["id"]):
        r = post_swap(client, keys, swap_body(model_id, ticket=ticket, return_mode=mode, broken_unit=broken,
                                              allow_cross_border=True))  # the NYC swap goes to a GB worker
        assert r.status_code == 201, r.text
        return r.json()

    def shipments(swap_id):
        got = client.get(f"/api/v1/swap-requests/{swap_id}", headers=keys["support"]).json()
        return {s["direction"]: s["tracking_number"] for s in got["shipments"]}

    return {"lon": lon, "nyc": nyc, "model": model, "spare": spare, "deployed": deployed, "swap": swap,
            "shipments": shipments, "run_outbox": lambda: work.run_outbox(app.state.session_factory,
                                                                          app.state.carrier, only=SWAP_JOB_KINDS)}


def reconcile_cli(monkeypatch, database_url):
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli.app, ["reconcile"])
    finally:
        get_settings.cache_clear()


def invariants(client, keys):
    r = client.get("/api/v1/reconciliation/invariants", headers=keys["support"])
    assert r.status_code == 200, r.text
    return r.json()


# ---- the period report --------------------------------------------------------------------------


@pytest.fixture
def month(client, keys, world, app, frozen_clock):
    """Four LON swaps and one NYC swap on Tue 24 Nov: A comes back and matches, B comes back without
    its charger, C never comes back (overdue), D's box reaches the depot but is never scanned (lost);
    a stray device arrives unannounced. The report is read on Thu 10 Dec."""
    t0 = frozen_clock.at
    old_a, old_b, stray = world["deployed"](), world["deployed"](), world["deployed"]()
    new_a = world["spare"]()
    for _ in range(3):
        world["spare"]()
    other_model = f.model(client, keys["admin"], sku="XPS-13", **CUSTOMS)  # it crosses from New York
    world["spare"](depot=world["nyc"], model_id=other_model["id"])
    a = world["swap"]("IT-A", old_a["asset_tag"], "swap_at_door")
    b = world["swap"]("IT-B", old_b["serial"], "return_box")
    c = world["swap"]("IT-C", "FOREIGN-C", "return_box")
    d = world["swap"]("IT-D", "FOREIGN-D", "swap_at_door")
    e = world["swap"]("IT-E", "FOREIGN-E", "return_box", model_id=other_model["id"])
    assert e["depot_code"] == "NYC"
    assert world["run_outbox"]() == 5
    lon = world["lon"]["id"]

    # A: packed at the bench, delivered, collected at the door, checked in complete.
    scan(client, keys, new_a["asset_tag"], lon)
    ship_a = world["shipments"](a["id"])
    hook(client, ship_a["outbound"], "TRANSIT", t0 + timedelta(hours=3))
    hook(client, ship_a["outbound"], "DELIVERED", t0 + timedelta(hours=20))
    hook(client, ship_a["return"], "TRANSIT", t0 + timedelta(hours=21))
    hook(client, ship_a["return"], "DELIVERED", t0 + timedelta(hours=40))
    box = scan(client, keys, ship_a["return"], lon)
    scan(client, keys, old_a["asset_tag"], lon, return_id=box["expected_return_id"])
    r = client.post(f"/api/v1/returns/{box['expected_return_id']}/inspection",
                    json={"items_present": ["device", "charger"]}, headers=keys["warehouse"])
    assert r.json()["outcome"] == "matched"
    # B: the worker posts the old unit back without its charger.
    received = scan(client, keys, old_b["asset_tag"], lon)
    client.post(f"/api/v1/returns/{received['expected_return_id']}/inspection", json={"items_present": ["device"]},
                headers=keys["warehouse"])
    # D: out and back to the depot by the carrier, then nobody scans the box.
    ship_d = world["shipments"](d["id"])
    hook(client, ship_d["outbound"], "DELIVERED", t0 + timedelta(hours=20))
    hook(client, ship_d["return"], "DELIVERED", t0 + timedelta(days=1, hours=4))
    # A stray: one of ours turns up with no return expected.
    assert scan(client, keys, stray["asset_tag"], lon)["action"] == "received"

    frozen_clock.advance(days=16)  # Thursday 10 December
    swept = work.sweep_returns(app.state.session_factory)
    assert (swept["overdue"], swept["lost"], swept["remind"]) == (1, 1, 1)
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


def report(client, keys, **params):
    r = client.get("/api/v1/reconciliation", params=params, headers=keys["support"])
    assert r.status_code == 200, r.text
    return r.json()


def test_the_report_counts_what_went_out_and_came_back(client, keys, world, month):
    body = report(client, keys, depot_id=world["lon"]["id"])  # the default period: the last 30 days
    assert (body["since"], body["until"]) == ("2026-11-10", "2026-12-10")
    numbers = {k: body[k] for k in ("shipped_out", "expected", "received", "matched", "overdue", "lost")}
    assert numbers == {"shipped_out": 4, "expected": 4, "received": 2, "matched": 1, "overdue": 1, "lost": 1}
    assert body["by_outcome"] == {"lost": 1, "matched": 1, "missing_items": 1, "pending": 1}
    assert sorted(d["kind"] for d in body["open_discrepancies"]) == ["lost", "missing_items", "overdue",
                                                                     "unexpected"]
    rows = {r["ticket"]: r for r in body["returns"]}
    assert list(rows) == ["jira/IT-A", "jira/IT-B", "jira/IT-C", "jira/IT-D"]
    assert [(r["status"], r["outcome"], r["closed"], r["overdue"]) for r in rows.values()] == [
        ("closed", "matched", True, False), ("closed", "missing_items", False, False),
        ("open", None, False, True), ("closed", "lost", False, False)]
    assert rows["jira/IT-A"]["swap_id"] == month["a"]["id"] and rows["jira/IT-A"]["discrepancies"] == []
    assert rows["jira/IT-A"]["received_at"] is not None and rows["jira/IT-C"]["received_at"] is None
    assert [d["kind"] for d in rows["jira/IT-B"]["discrepancies"]] == ["missing_items"]
    swap_a = client.get(f"/api/v1/swap-requests/{month['a']['id']}", headers=keys["support"]).json()
    assert swap_a["status"] == "closed"


def test_the_report_filters_by_depot_and_period(client, keys, world, month):
    nyc = report(client, keys, depot_id=world["nyc"]["id"], since="2026-11-01", until="2026-12-10")
    assert (nyc["shipped_out"], nyc["expected"], nyc["open_discrepancies"]) == (1, 1, [])
    assert [r["ticket"] for r in nyc["returns"]] == ["jira/IT-E"]
    everywhere = report(client, keys, since="2026-11-24", until="2026-11-24")
    assert (everywhere["shipped_out"], everywhere["expected"]) == (5, 5)
    later = report(client, keys, since="2026-11-25")
    assert (later["shipped_out"], later["expected"], later["returns"], later["open_discrepancies"]) == (0, 0, [], [])
    assert later["by_outcome"] == {}


@pytest.mark.parametrize("params,status,field", [
    ({"since": "2026-12-02", "until": "2026-12-01"}, 422, "since"),
    ({"since": "2025-01-01", "until": "2026-12-01"}, 422, "since"),
    ({"since": "yesterday"}, 422, "since"),
    ({"depot_id": 999}, 404, "depot_id"),
])
def test_a_bad_period_or_depot_is_a_problem(client, keys, frozen_clock, params, status, field):
    r = client.get("/api/v1/reconciliation", params=params, headers=keys["support"])
    assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body.get("field") == field or field in [e["field"] for e in body.get("errors", [])]


def test_the_csv_has_one_row_per_expected_return(client, keys, world, month):
    r = client.get("/api/v1/reconciliation.csv", params={"depot_id": world["lon"]["id"]}, headers=keys["support"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="reconciliation-2026-11-10-2026-12-10.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["ticket"] for row in rows] == ["jira/IT-A", "jira/IT-B", "jira/IT-C", "jira/IT-D"]
    a, b, c, d = rows
    assert (a["swap_id"], a["status"], a["outcome"], a["closed"]) == (str(month["a"]["id"]), "closed", "matched",
                                                                      "true")
    assert a["received_at"].startswith("2026-11-2") and a["discrepancies"] == ""
    assert b["closed"] == "false" and b["discrepancies"].startswith("missing_items (open): ")
    assert "charger" in b["discrepancies"]
    assert (c["due_date"], c["status"], c["outcome"], c["overdue"]) == ("2026-12-09", "open", "", "true")
    assert c["discrepancies"].startswith("overdue (open): ")
    assert d["outcome"] == "lost" and d["discrepancies"].startswith("lost (open): ")


def test_the_whole_month_leaves_the_records_consistent(client, keys, month, monkeypatch, database_url):
    assert invariants(client, keys) == {"ok": True, "breaches": []}
    result = reconcile_cli(monkeypatch, database_url)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "no breaches"


# ---- invariants on broken records ---------------------------------------------------------------


@pytest.fixture
def booked(client, keys, world):
    """Two swaps booked (their units reserved), and one unit ready on the shelf."""
    held, other, shelf = world["spare"](), world["spare"](), world["spare"]()
    first = world["swap"]("IT-1", "OLD-1", "return_box")
    second = world["swap"]("IT-2", "OLD-2", "return_box")
    assert world["run_outbox"]() == 2
    assert {first["unit_id"], second["unit_id"]} == {held["id"], other["id"]}
    return {"held": first["unit_id"], "swap": first["id"], "other_swap": second["id"], "shelf": shelf["id"],
            "nyc": world["nyc"]["id"], "lon": world["lon"]["id"]}


BREAKS = {
    # a reserved unit set back to ready behind the ledger's back
    "state_changed_without_ledger": ("UPDATE spare_units SET state = 'ready' WHERE id = :held",
                                     {"ledger", "reservation_on_free_unit", "swap_unit_state"}),
    "moved_without_ledger": ("UPDATE spare_units SET depot_id = :nyc WHERE id = :shelf", {"ledger"}),
    "reservation_dropped": ("UPDATE reservations SET active = :no WHERE unit_id = :held", {"missing_reservation"}),
    "two_swaps_claim_one_unit": ("UPDATE swap_requests SET unit_id = :held WHERE id = :other_swap", {"double_claim"}),
}


def break_records(session_factory, booked, statement):
    with session_factory() as s, s.begin():
        params = {"no": False, **{k: v for k, v in booked.items() if f":{k}" in statement}}
        s.execute(text(statement), params)


def test_a_clean_flow_has_no_breaches(client, keys, booked, monkeypatch, database_url):
    assert invariants(client, keys) == {"ok": True, "breaches": []}
    result = reconcile_cli(monkeypatch, database_url)
    assert result.exit_code == 0 and "no breaches" in result.output


@pytest.mark.parametrize("name", list(BREAKS))
def test_a_broken_record_is_caught(client, keys, booked, session_factory, name):
    statement, kinds = BREAKS[name]
    break_records(session_factory, booked, statement)
    body = invariants(client, keys)
    assert body["ok"] is False
    assert {b["kind"] for b in body["breaches"]} == kinds
    assert all(b["detail"] for b in body["breaches"])


def test_the_breach_names_the_unit_and_what_is_wrong(client, keys, booked, session_factory):
    break_records(session_factory, booked, BREAKS["state_changed_without_ledger"][0])
    by_kind = {b["kind"]: b for b in invariants(client, keys)["breaches"]}
    assert by_kind["ledger"] == {"unit_id": booked["held"], "kind": "ledger",
                                 "detail": "unit is 'ready' but its ledger ends at 'reserved'"}
    assert by_kind["swap_unit_state"]["swap_id"] == booked["swap"]
    break_records(session_factory, booked, BREAKS["moved_without_ledger"][0])
    moved = [b for b in invariants(client, keys)["breaches"] if b.get("unit_id") == booked["shelf"]]
    assert [b["detail"] for b in moved] == [
        f"unit is at depot {booked['nyc']} but its ledger ends at depot {booked['lon']}"]


def test_the_cli_prints_each_breach_and_exits_1(booked, session_factory, monkeypatch, database_url):
    break_records(session_factory, booked, BREAKS["state_changed_without_ledger"][0])
    break_records(session_factory, booked, BREAKS["moved_without_ledger"][0])
    result = reconcile_cli(monkeypatch, database_url)
    assert result.exit_code == 1
    assert f"ledger: unit {booked['held']}: unit is 'ready' but its ledger ends at 'reserved'" in result.output
    assert f"ledger: unit {booked['shelf']}: unit is at depot {booked['nyc']}" in result.output
    assert f"swap_unit_state: unit {booked['held']} swap {booked['swap']}: " in result.output
    assert "no breaches" not in result.output


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite runs one transaction at a time (BEGIN IMMEDIATE): nothing "
                                            "commits while the check reads")
def test_a_swap_committed_while_the_check_reads_is_no_breach(client, keys, world, app, database_url):
    """The check reads the ledger, then the units, then the holds: a swap reserving a unit between two of
    those reads must not look like a unit that moved behind the ledger's back."""
    world["spare"]()
    body = SwapCreate.model_validate(swap_body(world["model"]["id"], ticket="MID-CHECK"))
    landed = []

    def a_swap_lands(conn, cursor, statement, *args) -> None:
        if not landed and "FROM custody_ledger" in statement:  # the check has read the ledger
            landed.append(True)
            with unit_of_work(app.state.session_factory) as session:
                swap, _ = intake.create_swap(session, body, actor="support")
            landed.append(swap.status)

    event.listen(app.state.engine, "after_cursor_execute", a_swap_lands)
    try:
        report = invariants(client, keys)
    finally:
        event.remove(app.state.engine, "after_cursor_execute", a_swap_lands)
    assert landed == [True, "allocated"]
    assert report == {"ok": True, "breaches": []}
    assert invariants(client, keys) == {"ok": True, "breaches": []}  # and read again, after it landed
