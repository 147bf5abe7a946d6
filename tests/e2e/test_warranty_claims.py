"""A warranty claim moves its unit to `with_vendor` and back (repaired or refused); a replacement from
the vendor is taken in as a new unit linked to the old one, which is retired; an overdue claim is
escalated to support once; a unit on legal hold does not leave."""

from app.jobs import sweeps, work
from tests.support import factories as f

CLAIM = {"vendor": "Dell", "rma_number": "RMA-55117", "due_date": "2026-12-04"}


def _broken(client, keys):
    lon = f.depot(client, keys["admin"], "LON")
    model = f.model(client, keys["admin"])
    return f.unit(client, keys["warehouse"], model["id"], lon["id"], state="triage", serial="SN-BROKEN-1")


def _state(client, keys, unit_id):
    return client.get(f"/api/v1/units/{unit_id}", headers=keys["support"]).json()["state"]


def _post(client, keys, path, body=None):
    return client.post(f"/api/v1{path}", json=body or {}, headers=keys["warehouse"])


def test_a_claim_moves_the_unit_to_the_vendor_and_back_to_triage_when_repaired(client, keys, frozen_clock):
    unit = _broken(client, keys)
    claim = _post(client, keys, f"/units/{unit['id']}/warranty-claims", CLAIM)
    assert claim.status_code == 201 and claim.json()["shipped_at"] is None
    assert _post(client, keys, f"/units/{unit['id']}/warranty-claims", CLAIM).status_code == 409  # one open claim
    too_soon = _post(client, keys, f"/warranty-claims/{claim.json()['id']}/outcome", {"outcome": "repaired"})
    assert too_soon.status_code == 409  # not shipped yet
    shipped = _post(client, keys, f"/warranty-claims/{claim.json()['id']}/shipped")
    assert shipped.status_code == 200 and _state(client, keys, unit["id"]) == "with_vendor"
    closed = _post(client, keys, f"/warranty-claims/{claim.json()['id']}/outcome", {"outcome": "repaired"})
    assert closed.status_code == 200 and closed.json()["outcome"] == "repaired"
    assert _state(client, keys, unit["id"]) == "triage"
    reasons = [h["reason"] for h in client.get(f"/api/v1/units/{unit['id']}/history", headers=keys["support"]).json()]
    assert any("sent to Dell under RMA RMA-55117" in r for r in reasons) and any("repaired by Dell" in r for r in reasons)
    again = _post(client, keys, f"/warranty-claims/{claim.json()['id']}/outcome", {"outcome": "refused"})
    assert again.status_code == 409


def test_a_replacement_is_taken_in_as_a_new_unit_linked_to_the_retired_one(client, keys, frozen_clock):
    unit = _broken(client, keys)
    claim = _post(client, keys, f"/units/{unit['id']}/warranty-claims", CLAIM).json()
    _post(client, keys, f"/warranty-claims/{claim['id']}/shipped")
    missing = _post(client, keys, f"/warranty-claims/{claim['id']}/outcome", {"outcome": "replaced"})
    assert missing.status_code == 422 and _state(client, keys, unit["id"]) == "with_vendor"
    closed = _post(client, keys, f"/warranty-claims/{claim['id']}/outcome",
                   {"outcome": "replaced", "replacement": {"serial": "SN-NEW-9", "asset_tag": "AT-NEW-9"}}).json()
    assert _state(client, keys, unit["id"]) == "retired"
    new = client.get(f"/api/v1/units/{closed['replacement_unit_id']}", headers=keys["support"]).json()
    assert (new["serial"], new["state"], new["model_id"]) == ("SN-NEW-9", "receiving", unit["model_id"])
    history = client.get(f"/api/v1/units/{new['id']}/history", headers=keys["support"]).json()
    assert unit["asset_tag"] in history[0]["reason"] and "RMA-55117" in history[0]["reason"]


def test_an_overdue_claim_is_escalated_to_support_once(client, keys, app, frozen_clock):
    unit = _broken(client, keys)
    claim = _post(client, keys, f"/units/{unit['id']}/warranty-claims", CLAIM).json()
    _post(client, keys, f"/warranty-claims/{claim['id']}/shipped")
    assert sweeps.sweep_warranty_claims(app.state.session_factory) == 0  # not due yet
    frozen_clock.advance(days=11)  # past 4 December
    assert sweeps.sweep_warranty_claims(app.state.session_factory) == 1
    assert sweeps.sweep_warranty_claims(app.state.session_factory) == 0  # once
    work.run_outbox(app.state.session_factory, app.state.carrier)  # support's channel gets it
    alerts = client.get("/api/v1/notifications?audience=support", headers=keys["support"]).json()["items"]
    assert len(alerts) == 1 and alerts[0]["kind"] == "service_alert" and alerts[0]["status"] == "sent"
    assert "RMA-55117" in alerts[0]["body_text"] and "Dell" in alerts[0]["body_text"]
    listed = client.get("/api/v1/warranty-claims?open=true", headers=keys["support"]).json()["items"]
    assert [c["id"] for c in listed] == [claim["id"]] and listed[0]["escalated_at"] is not None


def test_a_unit_on_legal_hold_does_not_go_to_the_vendor(client, keys, frozen_clock):
    unit = _broken(client, keys)
    claim = _post(client, keys, f"/units/{unit['id']}/warranty-claims", CLAIM).json()
    assert client.post("/api/v1/legal-holds", json={"unit_id": unit["id"], "reason": "evidence"},
                       headers=keys["admin"]).status_code == 201
    refused = _post(client, keys, f"/warranty-claims/{claim['id']}/shipped")
    assert refused.status_code == 409 and "legal hold" in refused.json()["detail"]
    assert _state(client, keys, unit["id"]) == "triage"


def test_the_scan_station_says_a_unit_is_with_its_vendor_or_on_legal_hold(client, keys, frozen_clock):
    unit = _broken(client, keys)
    depot_id = unit["depot_id"]
    claim = _post(client, keys, f"/units/{unit['id']}/warranty-claims", CLAIM).json()
    hold = client.post("/api/v1/legal-holds", json={"unit_id": unit["id"], "reason": "evidence"}, headers=keys["admin"])
    held = f.scan(client, keys, unit["asset_tag"], depot_id)
    assert not held["ok"] and "ON LEGAL HOLD" in held["instruction"] and "evidence" in held["instruction"]
    client.post(f"/api/v1/legal-holds/{hold.json()['id']}/lift", json={"reason": "done"}, headers=keys["admin"])
    _post(client, keys, f"/warranty-claims/{claim['id']}/shipped")
    away = f.scan(client, keys, unit["asset_tag"], depot_id)
    assert away["action"] == "info" and "with its vendor under RMA RMA-55117" in away["instruction"]
