"""Depots, substitutes and known models are cached: a change made here is used at once, one made by
another process within REFERENCE_CACHE_SECONDS, and a model not found is never remembered."""

import time

import pytest

from app.main import create_app
from app.settings import Settings
from tests.support import factories as f
from tests.support.asgi_client import AppClient
from tests.support.factories import post_swap, swap_body
from tests.support.service import BASE_SETTINGS


def test_a_depot_and_a_substitute_added_here_are_used_by_the_next_intake(client, keys):
    admin = keys["admin"]
    lon = f.depot(client, admin, "LON")
    wanted, stand_in = f.model(client, admin), f.model(client, admin)
    f.unit(client, keys["warehouse"], wanted["id"], lon["id"])
    assert post_swap(client, keys, swap_body(wanted["id"], ticket="R-1")).json()["status"] == "allocated"  # cached now

    man = f.depot(client, admin, "MAN")
    f.unit(client, keys["warehouse"], wanted["id"], man["id"])
    second = post_swap(client, keys, swap_body(wanted["id"], ticket="R-2")).json()
    assert second["status"] == "allocated" and second["depot_code"] == "MAN"

    f.unit(client, keys["warehouse"], stand_in["id"], lon["id"])
    assert client.patch(f"/api/v1/models/{wanted['id']}", json={"substitute_ids": [stand_in["id"]]},
                        headers=admin).status_code == 200
    third = post_swap(client, keys, swap_body(wanted["id"], ticket="R-3")).json()
    assert third["status"] == "allocated" and third["unit_model_id"] == stand_in["id"]


def test_a_substitute_added_here_serves_the_waitlist_when_its_unit_is_ready(client, keys):
    """The other way round: which models a ready unit can serve is cached too, and a new substitute is
    seen at once."""
    admin, warehouse = keys["admin"], keys["warehouse"]
    lon = f.depot(client, admin, "LON")
    wanted, stand_in = f.model(client, admin), f.model(client, admin)
    f.unit(client, warehouse, stand_in["id"], lon["id"])  # ready, nobody waits for it: "serves only itself" cached
    waiting = post_swap(client, keys, swap_body(wanted["id"], ticket="W-1")).json()
    assert waiting["status"] == "backordered"
    assert client.patch(f"/api/v1/models/{wanted['id']}", json={"substitute_ids": [stand_in["id"]]},
                        headers=admin).status_code == 200
    arrived = f.unit(client, warehouse, stand_in["id"], lon["id"])  # ready now: the head of the line gets it
    served = client.get(f"/api/v1/swap-requests/{waiting['id']}", headers=keys["support"]).json()
    assert served["status"] == "allocated" and served["unit_id"] == arrived["id"]


@pytest.mark.live_db
def test_a_model_not_found_is_not_remembered(database_url, keys, client):
    """Asked for before another process creates it, a model is found as soon as it exists."""
    admin = keys["admin"]
    f.depot(client, admin, "LON")
    other = create_app(Settings(database_url=database_url, **BASE_SETTINGS, reference_cache_seconds=300))
    try:
        with AppClient(other) as elsewhere:
            missing = elsewhere.post("/api/v1/swap-requests", json=swap_body(1, ticket="R-4"), headers=keys["support"])
            assert missing.status_code == 404
            assert f.model(client, admin)["id"] == 1  # through the first app
            assert post_swap(elsewhere, keys, swap_body(1, ticket="R-4")).json()["status"] == "backordered"
    finally:
        other.state.engine.dispose()


@pytest.mark.live_db
def test_another_process_s_new_depot_is_used_within_the_cache_s_bound(database_url, keys, client):
    """Two apps on one database, as two processes are: the one that did not add the depot sees it once
    its cached calendars are REFERENCE_CACHE_SECONDS old."""
    admin = keys["admin"]
    lon = f.depot(client, admin, "LON")
    model = f.model(client, admin)
    f.unit(client, keys["warehouse"], model["id"], lon["id"])
    other = create_app(Settings(database_url=database_url, **BASE_SETTINGS, reference_cache_seconds=1.0))
    try:
        with AppClient(other) as elsewhere:
            assert post_swap(elsewhere, keys, swap_body(model["id"], ticket="P-1")).json()["status"] == "allocated"
            started = time.monotonic()
            man = f.depot(client, admin, "MAN")  # through the first app
            f.unit(client, keys["warehouse"], model["id"], man["id"])
            time.sleep(max(0.0, 1.05 - (time.monotonic() - started)))
            seen = post_swap(elsewhere, keys, swap_body(model["id"], ticket="P-2")).json()
            assert seen["status"] == "allocated" and seen["depot_code"] == "MAN"
    finally:
        other.state.engine.dispose()
