"""A unit on legal hold — its own, or one on a worker who had it — is never wiped, refurbished or
retired; triage says so; placing and lifting are recorded."""

from tests.support import factories as f
from tests.support.arrange import out_with_a_worker
from tests.support.factories import post_swap, scan, swap_body


def _in_triage(client, keys, app, *, worker_email="ana@example.com"):
    """A laptop that came back from Ana's swap, inspected: in triage."""
    from app.jobs import work

    admin = keys["admin"]
    lon = f.depot(client, admin, "LON")
    model = f.model(client, admin)
    old = f.unit(client, keys["warehouse"], model["id"], lon["id"], box_contents=["charger"])
    out_with_a_worker(app.state.session_factory, old["id"])
    f.unit(client, keys["warehouse"], model["id"], lon["id"])
    body = swap_body(model["id"], return_mode="return_box", broken_unit=old["asset_tag"])
    body["worker"]["email"] = worker_email
    post_swap(client, keys, body)
    work.run_outbox(app.state.session_factory, app.state.carrier)
    received = scan(client, keys, old["asset_tag"], lon["id"])
    r = client.post(f"/api/v1/returns/{received['expected_return_id']}/inspection",
                    json={"items_present": ["device", "charger"]}, headers=keys["warehouse"])
    assert r.status_code == 200, r.text
    return old


def _triage(client, keys, unit_id, decision):
    return client.post(f"/api/v1/units/{unit_id}/triage", json={"decision": decision, "reason": "checked"},
                       headers=keys["warehouse"])


def test_a_unit_on_hold_cannot_be_refurbished_or_retired_until_the_hold_is_lifted(client, keys, app):
    old = _in_triage(client, keys, app)
    hold = client.post("/api/v1/legal-holds", json={"unit_id": old["id"], "reason": "litigation LX-7"},
                       headers=keys["admin"])
    assert hold.status_code == 201, hold.text
    for decision in ("refurbish", "retire"):
        r = _triage(client, keys, old["id"], decision)
        assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
        assert "legal hold" in r.json()["detail"] and "litigation LX-7" in r.json()["detail"]
    by_hand = client.post(f"/api/v1/units/{old['id']}/transitions", json={"target_state": "retired", "reason": "x"},
                          headers=keys["warehouse"])
    assert by_hand.status_code == 409
    assert client.get(f"/api/v1/units/{old['id']}", headers=keys["support"]).json()["state"] == "triage"
    lifted = client.post(f"/api/v1/legal-holds/{hold.json()['id']}/lift", json={"reason": "case closed"},
                         headers=keys["admin"])
    assert lifted.status_code == 200 and lifted.json()["lift_reason"] == "case closed"
    assert _triage(client, keys, old["id"], "refurbish").status_code == 200
    history = [e["reason"] for e in client.get(f"/api/v1/units/{old['id']}/history", headers=keys["support"]).json()]
    assert any("legal hold" in r and "placed" in r for r in history)
    assert any("legal hold" in r and "lifted: case closed" in r for r in history)
    again = client.post(f"/api/v1/legal-holds/{hold.json()['id']}/lift", json={"reason": "twice"},
                        headers=keys["admin"])
    assert again.status_code == 409


def test_a_hold_on_a_worker_holds_the_unit_they_sent_back(client, keys, app):
    old = _in_triage(client, keys, app, worker_email="Held.Person@example.com")
    r = client.post("/api/v1/legal-holds", json={"worker_email": "held.person@example.com", "reason": "HR case"},
                    headers=keys["admin"])
    assert r.status_code == 201 and r.json()["worker_email"] == "held.person@example.com"
    refused = _triage(client, keys, old["id"], "retire")
    assert refused.status_code == 409 and "worker held.person@example.com" in refused.json()["detail"]
    active = client.get("/api/v1/legal-holds?active=true", headers=keys["support"]).json()["items"]
    assert [h["id"] for h in active] == [r.json()["id"]]


def test_a_hold_names_one_unit_or_one_worker_and_changes_nothing_when_refused(client, keys):
    both = client.post("/api/v1/legal-holds", json={"unit_id": 1, "worker_email": "a@example.com", "reason": "x"},
                       headers=keys["admin"])
    assert both.status_code == 422
    gone = client.post("/api/v1/legal-holds", json={"unit_id": 999, "reason": "x"}, headers=keys["admin"])
    assert gone.status_code == 404
    not_admin = client.post("/api/v1/legal-holds", json={"unit_id": 1, "reason": "x"}, headers=keys["support"])
    assert not_admin.status_code == 403
    assert client.get("/api/v1/legal-holds", headers=keys["admin"]).json()["items"] == []
