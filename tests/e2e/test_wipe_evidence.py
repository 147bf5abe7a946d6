"""No unit goes back to ready stock without a successful wipe on record; each wipe is a certificate of
sanitization per serial (PDF, read back here as text, and JSON), listed in the unit's history; a unit on
legal hold is never wiped."""

import io

from pypdf import PdfReader

from tests.support import factories as f
from tests.support.factories import WIPE


def _refurbishing(client, keys):
    admin = keys["admin"]
    lon = f.depot(client, admin, "LON")
    model = f.model(client, admin, maker="Dell", name="Latitude 5440", sku="LAT-5440")
    unit = f.unit(client, keys["warehouse"], model["id"], lon["id"], serial="SN-WIPE-1", state="triage")
    r = client.post(f"/api/v1/units/{unit['id']}/triage", json={"decision": "refurbish", "reason": "works"},
                    headers=keys["warehouse"])
    assert r.status_code == 200 and r.json()["state"] == "refurbishing"
    return unit


def test_no_unit_reaches_ready_without_a_successful_wipe_on_record(client, keys):
    unit = _refurbishing(client, keys)
    refused = client.post(f"/api/v1/units/{unit['id']}/refurbished", json={}, headers=keys["warehouse"])
    assert refused.status_code == 409 and "no successful wipe" in refused.json()["detail"]
    by_hand = client.post(f"/api/v1/units/{unit['id']}/transitions", json={"target_state": "ready", "reason": "x"},
                          headers=keys["warehouse"])
    assert by_hand.status_code == 409
    f.wipe(client, keys, unit["id"], result="failure", verification="read-back found data")  # a failed one
    assert client.post(f"/api/v1/units/{unit['id']}/refurbished", json={}, headers=keys["warehouse"]).status_code == 409
    assert client.get(f"/api/v1/units/{unit['id']}", headers=keys["support"]).json()["state"] == "refurbishing"
    f.wipe(client, keys, unit["id"])
    done = client.post(f"/api/v1/units/{unit['id']}/refurbished", json={}, headers=keys["warehouse"])
    assert done.status_code == 200 and done.json()["state"] == "ready"


def test_the_certificate_renders_as_a_pdf_and_json_and_is_in_the_unit_s_history(client, keys):
    unit = _refurbishing(client, keys)
    wipe = f.wipe(client, keys, unit["id"], verified_by="Ines Lead", started_at="2026-11-24T09:00:00Z",
                  ended_at="2026-11-24T09:40:00Z")
    assert wipe["certificate_number"] == f"WC-{wipe['id']:06d}" and wipe["serial"] == "SN-WIPE-1"
    pdf = client.get(wipe["certificate_pdf"], headers=keys["support"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "SN-WIPE-1" in pdf.headers["content-disposition"]
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in ("Certificate of Sanitization", "NIST SP 800-88", wipe["certificate_number"], "SN-WIPE-1",
                     unit["asset_tag"], "Dell", "Latitude 5440", "Purge", "cryptographic erase",
                     "Blancco Drive Eraser 7.12", "Noor Tech", "Ines Lead", WIPE["verification"], "2026-11-24T09:40"):
        assert expected in text, expected
    data = client.get(wipe["certificate_json"], headers=keys["support"]).json()
    assert data["media"]["serial"] == "SN-WIPE-1" and data["sanitization"]["method"] == "purge"
    assert data["started_at"].startswith("2026-11-24T09:00") and data["performed_by"] == "Noor Tech"
    history = client.get(f"/api/v1/units/{unit['id']}/history", headers=keys["support"]).json()
    assert any(wipe["certificate_number"] in h["reason"] and wipe["certificate_pdf"] in h["reason"] for h in history)
    assert [w["id"] for w in client.get(f"/api/v1/units/{unit['id']}/wipes", headers=keys["support"]).json()] == \
        [wipe["id"]]


def test_a_wipe_is_refused_for_a_unit_on_legal_hold_or_not_refurbishing_and_for_bad_times(client, keys):
    unit = _refurbishing(client, keys)
    bad = client.post(f"/api/v1/units/{unit['id']}/wipes", json={**WIPE, "started_at": "2026-11-24T10:00:00Z",
                                                                  "ended_at": "2026-11-24T09:00:00Z"},
                      headers=keys["warehouse"])
    assert bad.status_code == 422
    unknown = client.post(f"/api/v1/units/{unit['id']}/wipes", json={**WIPE, "method": "shred-ish"},
                          headers=keys["warehouse"])
    assert unknown.status_code == 422
    hold = client.post("/api/v1/legal-holds", json={"unit_id": unit["id"], "reason": "subpoena"}, headers=keys["admin"])
    assert hold.status_code == 201
    held = client.post(f"/api/v1/units/{unit['id']}/wipes", json=WIPE, headers=keys["warehouse"])
    assert held.status_code == 409 and "legal hold" in held.json()["detail"]
    assert client.get(f"/api/v1/units/{unit['id']}/wipes", headers=keys["support"]).json() == []
    ready = f.unit(client, keys["warehouse"], unit["model_id"], unit["depot_id"])
    not_refurbishing = client.post(f"/api/v1/units/{ready['id']}/wipes", json=WIPE, headers=keys["warehouse"])
    assert not_refurbishing.status_code == 409
