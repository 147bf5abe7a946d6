"""The worker's address is checked with the carrier at intake (the simulated carrier applies each
country's postal rules): an invalid one is a 422 that creates nothing; one the carrier corrects is
stored corrected, with what was given kept and shown."""

from tests.support import factories as f
from tests.support.factories import post_swap, swap_body


def _stock(client, keys):
    lon = f.depot(client, keys["admin"], "LON")
    model = f.model(client, keys["admin"])
    f.unit(client, keys["warehouse"], model["id"], lon["id"])
    return model


def _with_address(model_id, **address):
    body = swap_body(model_id, ticket="ADDR-1")
    body["worker"]["address"] = {**body["worker"]["address"], **address}
    return body


def test_an_invalid_address_is_a_422_naming_the_field_and_creates_nothing(client, keys):
    model = _stock(client, keys)
    r = post_swap(client, keys, _with_address(model["id"], postal_code="12345"))  # not a UK postcode
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert [e["field"] for e in problem["errors"]] == ["worker.address.postal_code"]
    assert problem["carrier_messages"] and "postal_code" in problem["carrier_messages"][0]
    assert client.get("/api/v1/swap-requests", headers=keys["support"]).json()["items"] == []
    assert client.get("/api/v1/notifications", headers=keys["support"]).json()["items"] == []
    assert client.get("/api/v1/stock", headers=keys["support"]).json()[0]["ready"] == 1  # nothing reserved


def test_an_address_the_carrier_corrects_is_stored_corrected_and_shows_what_was_given(client, keys):
    model = _stock(client, keys)
    created = post_swap(client, keys, _with_address(model["id"], postal_code="ls1 4ap"))
    assert created.status_code == 201, created.text
    swap = client.get(f"/api/v1/swap-requests/{created.json()['id']}", headers=keys["support"]).json()
    assert swap["address_status"] == "corrected" and swap["postal_code"] == "LS1 4AP"
    assert swap["address_check"]["corrections"] == {"postal_code": {"given": "ls1 4ap", "corrected": "LS1 4AP"}}


def test_a_valid_address_is_marked_valid(client, keys):
    model = _stock(client, keys)
    swap = post_swap(client, keys, swap_body(model["id"])).json()
    assert swap["address_status"] == "valid" and swap["address_check"]["corrections"] == {}
