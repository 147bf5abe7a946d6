"""Units through HTTP and the database: state machine, ledger, lookup, filters, pagination."""

import itertools

import pytest
from sqlalchemy import select, text

from app.inventory.states import TRANSITIONS, UnitState
from app.models import CustodyEntry
from tests.support import factories as f
from tests.support.factories import post_swap, swap_body

# The states only a flow reaches (the swap journey's, and a warranty claim's), written out here (not read
# from the code under test).
JOURNEY = {"reserved", "packed", "in_transit", "deployed", "awaiting_return", "returning", "with_vendor"}
ALLOWED = [(a.value, b.value) for a, targets in TRANSITIONS.items() for b in sorted(targets)]
BY_HAND = [(a, b) for a, b in ALLOWED if b not in JOURNEY]
INTO_JOURNEY = [(a, b) for a, b in ALLOWED if b in JOURNEY]


@pytest.fixture
def stock(client, keys):
    admin = keys["admin"]
    depot = f.depot(client, admin)
    model = f.model(client, admin)
    return depot, model


def _put_in_state(session_factory, unit_id: int, state: str) -> None:
    """Arrange a unit's state directly (the ledger is not the subject of the arranging step)."""
    with session_factory() as s, s.begin():
        s.execute(text("UPDATE spare_units SET state = :st WHERE id = :id"), {"st": state, "id": unit_id})


@pytest.mark.parametrize("current,target", BY_HAND)
def test_every_allowed_transition_moves_the_unit_and_writes_the_ledger(
    client, keys, stock, session_factory, current, target
):
    depot, model = stock
    unit = f.unit(client, keys["warehouse"], model["id"], depot["id"], state="receiving")
    _put_in_state(session_factory, unit["id"], current)
    if (current, target) == ("refurbishing", "ready"):
        f.wipe(client, keys, unit["id"])  # no unit goes back to stock unwiped
    r = client.post(f"/api/v1/units/{unit['id']}/transitions", headers=keys["warehouse"],
                    json={"target_state": target, "reason": "bench check", "reference": "IT-1"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == target
    history = client.get(f"/api/v1/units/{unit['id']}/history", headers=keys["support"]).json()
    last = history[-1]
    assert (last["from_state"], last["to_state"]) == (current, target)
    assert last["actor"] == "test-warehouse" and last["reason"] == "bench check" and last["reference"] == "IT-1"


@pytest.mark.parametrize(
    "current,target",
    [("ready", "received"), ("receiving", "ready"), ("retired", "ready"), ("in_transit", "ready"),
     ("received", "ready"), ("triage", "lost")],
)
def test_forbidden_transition_is_409_problem_and_changes_nothing(
    client, keys, stock, session_factory, current, target
):
    depot, model = stock
    unit = f.unit(client, keys["warehouse"], model["id"], depot["id"], state="receiving")
    _put_in_state(session_factory, unit["id"], current)
    before = client.get(f"/api/v1/units/{unit['id']}/history", headers=keys["support"]).json()
    r = client.post(f"/api/v1/units/{unit['id']}/transitions", headers=keys["warehouse"],
                    json={"target_state": target, "reason": "oops"})
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["current_state"] == current
    assert body["allowed"] == sorted(s.value for s in TRANSITIONS[UnitState(current)])
    assert client.get(f"/api/v1/units/{unit['id']}", headers=keys["support"]).json()["state"] == current
    assert client.get(f"/api/v1/units/{unit['id']}/history", headers=keys["support"]).json() == before


@pytest.mark.parametrize("current,target", INTO_JOURNEY)
def test_the_swap_journey_is_never_walked_by_hand(client, keys, stock, session_factory, current, target):
    depot, model = stock
    unit = f.unit(client, keys["warehouse"], model["id"], depot["id"], state="receiving")
    _put_in_state(session_factory, unit["id"], current)
    before = client.get(f"/api/v1/units/{unit['id']}/history", headers=keys["support"]).json()
    r = client.post(f"/api/v1/units/{unit['id']}/transitions", headers=keys["admin"],
                    json={"target_state": target, "reason": "by hand"})
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["target_state"] == target and body["flow"] and target.replace("_", " ") in r.text.replace("_", " ")
    assert client.get(f"/api/v1/units/{unit['id']}", headers=keys["support"]).json()["state"] == current
    assert client.get(f"/api/v1/units/{unit['id']}/history", headers=keys["support"]).json() == before


def test_a_ready_unit_cannot_be_reserved_packed_and_shipped_without_a_swap(client, keys, stock):
    depot, model = stock
    unit = f.unit(client, keys["warehouse"], model["id"], depot["id"])
    for target, flow_word in (("reserved", "swap-requests"), ("packed", "scan"), ("in_transit", "courier")):
        r = client.post(f"/api/v1/units/{unit['id']}/transitions", headers=keys["warehouse"],
                        json={"target_state": target, "reason": "walk it"})
        assert r.status_code == 409 and flow_word in r.json()["flow"], r.text
    assert client.get(f"/api/v1/units/{unit['id']}", headers=keys["support"]).json()["state"] == "ready"
    assert client.get("/api/v1/reconciliation/invariants", headers=keys["support"]).json() == {
        "ok": True, "breaches": []}


def test_a_unit_held_by_a_swap_moves_only_with_it(client, keys, stock):
    depot, model = stock
    unit = f.unit(client, keys["warehouse"], model["id"], depot["id"])
    swap = post_swap(client, keys, swap_body(model["id"], return_mode="no_return")).json()
    assert swap["unit_id"] == unit["id"]
    for target in ("ready", "lost"):
        r = client.post(f"/api/v1/units/{unit['id']}/transitions", headers=keys["admin"],
                        json={"target_state": target, "reason": "by hand"})
        assert r.status_code == 409 and "cancel the swap" in r.json()["detail"], r.text
    assert client.get("/api/v1/reconciliation/invariants", headers=keys["support"]).json()["ok"] is True


def test_a_device_out_with_nobody_expecting_it_back_can_be_written_off_by_hand(client, keys, stock,
                                                                               session_factory):
    depot, model = stock
    unit = f.unit(client, keys["warehouse"], model["id"], depot["id"], state="receiving")
    _put_in_state(session_factory, unit["id"], "deployed")  # an old laptop with a worker, no swap
    r = client.post(f"/api/v1/units/{unit['id']}/transitions", headers=keys["warehouse"],
                    json={"target_state": "lost", "reason": "leaver kept it"})
    assert r.status_code == 200 and r.json()["state"] == "lost"


def test_a_manual_life_writes_a_continuous_ledger(client, keys, stock):
    depot, model = stock
    unit = f.unit(client, keys["warehouse"], model["id"], depot["id"], state="receiving")
    path = ["triage", "refurbishing", "ready", "refurbishing", "ready", "lost", "triage", "retired"]
    expected = ["receiving"]
    for target in path:
        if target == "ready":  # back to stock from refurbishing: only after a wipe, itself a row on the record
            f.wipe(client, keys, unit["id"])
            expected.append("refurbishing")
        r = client.post(f"/api/v1/units/{unit['id']}/transitions", headers=keys["warehouse"],
                        json={"target_state": target, "reason": f"to {target}"})
        assert r.status_code == 200, r.text
        expected.append(target)
    history = client.get(f"/api/v1/units/{unit['id']}/history", headers=keys["support"]).json()
    assert [h["to_state"] for h in history] == expected
    for prev, nxt in itertools.pairwise(history):
        assert nxt["from_state"] == prev["to_state"]
    assert history[0]["from_state"] is None


def test_ledger_is_append_only_in_the_database(client, keys, stock, session_factory):
    depot, model = stock
    f.unit(client, keys["warehouse"], model["id"], depot["id"])
    for statement in ("UPDATE custody_ledger SET reason = 'tampered'", "DELETE FROM custody_ledger"):
        with session_factory() as s:
            with pytest.raises(Exception, match="append-only"):
                s.execute(text(statement))
                s.commit()
            s.rollback()
    with session_factory() as s:
        assert [e.reason for e in s.scalars(select(CustodyEntry))] == ["unit created"]


def test_move_between_depots_is_a_ledger_row(client, keys, stock):
    depot, model = stock
    other = f.depot(client, keys["admin"], code="NYC")
    unit = f.unit(client, keys["warehouse"], model["id"], depot["id"])
    r = client.post(f"/api/v1/units/{unit['id']}/move", headers=keys["warehouse"],
                    json={"depot_id": other["id"], "reason": "rebalance"})
    assert r.status_code == 200 and r.json()["depot_code"] == "NYC"
    last = client.get(f"/api/v1/units/{unit['id']}/history", headers=keys["support"]).json()[-1]
    assert (last["from_depot_id"], last["depot_id"], last["reason"]) == (depot["id"], other["id"], "rebalance")


def test_lookup_by_serial_or_asset_tag_is_case_and_space_insensitive(client, keys, stock):
    depot, model = stock
    unit = f.unit(client, keys["warehouse"], model["id"], depot["id"], serial="abc-123", asset_tag="tag-9")
    assert unit["serial"] == "ABC-123"
    for code in ("ABC-123", " abc-123 ", "TAG-9", "tag-9"):
        r = client.get("/api/v1/units/lookup", params={"code": code}, headers=keys["warehouse"])
        assert r.status_code == 200 and r.json()["id"] == unit["id"]
    r = client.get("/api/v1/units/lookup", params={"code": "nope"}, headers=keys["warehouse"])
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


def test_duplicate_serial_is_409_and_writes_nothing(client, keys, stock):
    depot, model = stock
    f.unit(client, keys["warehouse"], model["id"], depot["id"], serial="DUP1", asset_tag="T1")
    r = client.post("/api/v1/units", headers=keys["warehouse"],
                    json={"serial": "dup1", "asset_tag": "T2", "model_id": model["id"], "depot_id": depot["id"]})
    assert r.status_code == 409
    assert client.get("/api/v1/units/lookup", params={"code": "T2"}, headers=keys["support"]).status_code == 404


def test_stale_units_follow_the_profile_version(client, keys, stock):
    depot, model = stock
    prof = f.profile(client, keys["admin"], version="2026.10")
    current = f.unit(client, keys["warehouse"], model["id"], depot["id"], profile_id=prof["id"],
                     profile_version="2026.10")
    assert current["is_stale"] is False
    client.patch(f"/api/v1/profiles/{prof['id']}", json={"current_version": "2026.11"}, headers=keys["admin"])
    assert client.get(f"/api/v1/units/{current['id']}", headers=keys["support"]).json()["is_stale"] is True
    fresh = f.unit(client, keys["warehouse"], model["id"], depot["id"], profile_id=prof["id"],
                   profile_version="2026.11")
    stale_ids = [u["id"] for u in client.get("/api/v1/units", params={"stale": True},
                                             headers=keys["support"]).json()["items"]]
    fresh_ids = [u["id"] for u in client.get("/api/v1/units", params={"stale": False},
                                             headers=keys["support"]).json()["items"]]
    assert stale_ids == [current["id"]] and fresh["id"] in fresh_ids and current["id"] not in fresh_ids


def test_filters_and_cursor_pagination_walk_every_unit_once(client, keys, stock):
    depot, model = stock
    other_model = f.model(client, keys["admin"])
    ids = [f.unit(client, keys["warehouse"], model["id"], depot["id"])["id"] for _ in range(7)]
    f.unit(client, keys["warehouse"], other_model["id"], depot["id"])
    f.unit(client, keys["warehouse"], model["id"], depot["id"], state="triage")
    seen, cursor = [], None
    while True:
        params = {"model_id": model["id"], "state": "ready", "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/units", params=params, headers=keys["support"]).json()
        seen += [u["id"] for u in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == ids
    r = client.get("/api/v1/units", params={"cursor": "garbage!"}, headers=keys["support"])
    assert r.status_code == 400 and r.json()["field"] == "cursor"
    r = client.get("/api/v1/units", params={"limit": 100000}, headers=keys["support"])
    assert r.status_code == 422


def test_stock_view_counts_and_par_levels(client, keys, stock):
    depot, model = stock
    for _ in range(2):
        f.unit(client, keys["warehouse"], model["id"], depot["id"])
    f.unit(client, keys["warehouse"], model["id"], depot["id"], state="triage")
    r = client.put(f"/api/v1/depots/{depot['id']}/par-levels/{model['id']}", json={"min_ready": 3},
                   headers=keys["admin"])
    assert r.status_code == 200
    rows = client.get("/api/v1/stock", headers=keys["support"]).json()
    assert len(rows) == 1
    row = rows[0]
    assert row["counts"] == {"ready": 2, "triage": 1} and row["ready"] == 2
    assert row["par_level"] == 3 and row["below_par"] is True
    f.unit(client, keys["warehouse"], model["id"], depot["id"])
    row = client.get("/api/v1/stock", headers=keys["support"]).json()[0]
    assert row["below_par"] is False
    assert client.get("/api/v1/stock", params={"below_par": True}, headers=keys["support"]).json() == []


def test_unit_validation_names_the_field_and_creates_nothing(client, keys, stock):
    depot, model = stock
    bad = [
        ({"serial": "", "asset_tag": "X", "model_id": model["id"], "depot_id": depot["id"]}, "serial"),
        ({"serial": "S", "asset_tag": "X", "model_id": model["id"], "depot_id": depot["id"], "state": "flying"},
         "state"),
        ({"serial": "S", "asset_tag": "X", "model_id": model["id"], "depot_id": depot["id"], "colour": "red"},
         "colour"),
        ({"serial": "S", "asset_tag": "X", "model_id": model["id"], "depot_id": depot["id"],
          "last_tested_at": "2026-01-01T10:00:00"}, "last_tested_at"),
    ]
    for body, field in bad:
        r = client.post("/api/v1/units", json=body, headers=keys["warehouse"])
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in r.json()["errors"]], r.json()
    r = client.post("/api/v1/units", headers=keys["warehouse"],
                    json={"serial": "S", "asset_tag": "X", "model_id": 999, "depot_id": depot["id"]})
    assert r.status_code == 404 and r.json()["field"] == "model_id"
    r = client.post("/api/v1/units", headers=keys["warehouse"],
                    json={"serial": "S", "asset_tag": "X", "model_id": model["id"], "depot_id": depot["id"],
                          "state": "deployed"})
    assert r.status_code == 422 and r.json()["field"] == "state"
    assert client.get("/api/v1/units", headers=keys["support"]).json()["items"] == []
