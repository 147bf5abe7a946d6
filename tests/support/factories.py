"""Builders that create records through the HTTP API, as a user would, and the requests tests send."""

from datetime import timedelta
from itertools import count

from app import clock
from app.shipping.carrier import Tracking, TrackingEvent
from app.shipping.simulated import make_webhook_payload

WEBHOOK_SECRET = "whsec-test-6f1d2a9c4b7e8f30a1b2c3d4e5f60718"  # the carrier webhook secret the test app accepts

_seq = count(1)

DEPOT_DEFAULTS = {
    "LON": {"name": "London", "contact_name": "Desk", "street1": "10 Bankside", "city": "London",
                "postal_code": "SE1 9PB", "country": "GB", "timezone": "Europe/London", "cutoff_local": "16:00"},
    "NYC": {"name": "New York", "contact_name": "Desk", "street1": "200 Varick St", "city": "New York", "state": "NY",
                "postal_code": "10014", "country": "US", "timezone": "America/New_York", "cutoff_local": "17:00"},
    "BER": {"name": "Berlin", "contact_name": "Desk", "street1": "Friedrichstr. 68", "city": "Berlin",
                "postal_code": "10117", "country": "DE", "timezone": "Europe/Berlin", "cutoff_local": "15:30"},
}


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def depot(client, admin, code="LON", **over):
    body = {"code": code, **DEPOT_DEFAULTS.get(code, DEPOT_DEFAULTS["LON"]), **over}
    return ok(client.post("/api/v1/depots", json=body, headers=admin), 201)


def model(client, admin, sku=None, category="laptop", **over):
    body = {"sku": sku or f"M-{next(_seq)}", "category": category, "maker": "Dell", "name": "Latitude",
            "length_cm": 40, "width_cm": 30, "height_cm": 8, "weight_kg": 2.4, **over}
    return ok(client.post("/api/v1/models", json=body, headers=admin), 201)


def profile(client, admin, name=None, version="2026.11"):
    body = {"name": name or f"Profile-{next(_seq)}", "current_version": version}
    return ok(client.post("/api/v1/profiles", json=body, headers=admin), 201)


def unit(client, headers, model_id, depot_id, state="ready", **over):
    n = next(_seq)
    body = {"serial": f"SN{n:06d}", "asset_tag": f"AT{n:06d}", "model_id": model_id, "depot_id": depot_id,
            "state": state, **over}
    return ok(client.post("/api/v1/units", json=body, headers=headers), 201)


WIPE = {"method": "purge", "technique": "cryptographic erase", "tool": "Blancco Drive Eraser", "tool_version": "7.12",
        "technician": "Noor Tech", "result": "success", "verification": "full read-back verification, no data found"}


def wipe(client, keys, unit_id, **over) -> dict:
    """A successful wipe of a refurbishing unit, on record."""
    return ok(client.post(f"/api/v1/units/{unit_id}/wipes", json={**WIPE, **over}, headers=keys["warehouse"]), 201)


def fit_to_ship(profile: dict, **over) -> dict:
    """A unit's fields that let it be packed: on its profile's current image, tested and charged a day
    before the clock's now (the tests' Tuesday under `frozen_clock`, today otherwise)."""
    yesterday = (clock.now() - timedelta(days=1)).isoformat()
    return {"profile_id": profile["id"], "profile_version": profile["current_version"],
            "last_tested_at": yesterday, "last_charged_at": yesterday, **over}


def swap_body(model_id=None, ticket="IT-1", **over):
    body = {
        "ticket": {"system": "jira", "id": ticket},
        "worker": {"name": "Ana Lima", "given_name": "Ana", "email": "ana@example.com", "phone": "+44 7700 900123",
                   "timezone": "Europe/London",
                   "address": {"street1": "1 Hotel Row", "city": "Leeds", "postal_code": "LS1 4AP", "country": "gb"}},
        "needed": {"model_id": model_id},
        "return_mode": "swap_at_door",
        "broken_unit": "old-123",
        "impact_note": "cannot work",
    }
    body.update(over)
    return body


US_WORKER = {"name": "Sam Reed", "email": "sam@example.com", "timezone": "America/Chicago",
             "address": {"street1": "1 Main St", "city": "Chicago", "region": "IL", "postal_code": "60601",
                         "country": "US"}}


def post_swap(client, keys, body, key=None, role="support"):
    headers = {**keys[role], **({"Idempotency-Key": key} if key else {})}
    return client.post("/api/v1/swap-requests", json=body, headers=headers)


def stock_and_swaps(client, keys, n, return_mode="return_box"):
    """A depot with n ready units of one model (imported as CSV) and n swaps for them."""
    depot_row = depot(client, keys["admin"], "LON")
    model_row = model(client, keys["admin"])
    rows = "\n".join(f"S{i:05d},A{i:05d},{model_row['sku']},LON,ready" for i in range(n))
    r = client.post("/api/v1/units/import", content=f"serial,asset_tag,model_sku,depot_code,state\n{rows}\n",
                    headers={**keys["warehouse"], "Content-Type": "text/csv"})
    assert r.status_code == 201, r.text
    ids = []
    for i in range(n):
        resp = post_swap(client, keys, swap_body(model_row["id"], ticket=f"T{i}", return_mode=return_mode))
        assert resp.status_code == 201
        ids.append(resp.json()["id"])
    return depot_row, ids


def hook(client, tracking_number, status, at, details="", secret=WEBHOOK_SECRET):
    """The carrier's tracking webhook for one event."""
    payload = make_webhook_payload(Tracking(carrier="simulated", tracking_number=tracking_number, status=status,
                                            events=[TrackingEvent(status=status, status_details=details,
                                                                  status_date=at)]))
    return client.post(f"/webhooks/shippo/{secret}", json=payload)


def move(client, keys, unit_id, *states):
    """Moves by hand, one state after another (each must be allowed)."""
    for state in states:
        r = client.post(f"/api/v1/units/{unit_id}/transitions", json={"target_state": state, "reason": "arrange"},
                        headers=keys["warehouse"])
        assert r.status_code == 200, r.text


def scan(client, keys, code, depot_id, **extra):
    r = client.post("/api/v1/scans", json={"code": code, "depot_id": depot_id, **extra}, headers=keys["warehouse"])
    assert r.status_code == 200, r.text
    return r.json()
