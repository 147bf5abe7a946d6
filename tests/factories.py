"""Builders that create reference data through the HTTP API, as a user would."""

from itertools import count

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
