"""Depots, device models, config profiles and par levels through HTTP and the database."""

import pytest
from sqlalchemy import func, select

from app.models import ConfigProfile, Depot, DeviceModel, ParLevel, model_substitutes
from tests.support import factories as f
from tests.support.factories import DEPOT_DEFAULTS


def problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status
    return body


def fields(body) -> list[str]:
    return [e["field"] for e in body.get("errors", [])] + ([body["field"]] if "field" in body else [])


def count(session_factory, entity) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(entity))


# ---- depots -----------------------------------------------------------------------------------------


def test_create_and_read_a_depot(client, keys):
    created = f.depot(client, keys["admin"], code="BER", email="lager@example.com", phone="+49 30 1")
    assert created["code"] == "BER" and created["country"] == "DE" and created["timezone"] == "Europe/Berlin"
    assert created["cutoff_local"] == "15:30:00" and created["email"] == "lager@example.com"
    got = client.get(f"/api/v1/depots/{created['id']}", headers=keys["integration"])
    assert got.status_code == 200 and got.json() == created
    assert client.get("/api/v1/depots", headers=keys["support"]).json() == [created]


@pytest.mark.parametrize(
    "override,field",
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"country": "XX"}, "country"),
        ({"country": "GBR"}, "country"),
        ({"cutoff_local": "25:00"}, "cutoff_local"),
        ({"cutoff_local": "late"}, "cutoff_local"),
        ({"code": "L"}, "code"),
        ({"code": "LON DON"}, "code"),
        ({"email": "not-an-email"}, "email"),
        ({"name": ""}, "name"),
        ({"postal_code": "x" * 21}, "postal_code"),
        ({"warehouse_size": "big"}, "warehouse_size"),
    ],
)
def test_depot_validation_names_the_field_and_creates_nothing(client, keys, session_factory, override, field):
    body = {"code": "LON", **DEPOT_DEFAULTS["LON"], **override}
    p = problem(client.post("/api/v1/depots", json=body, headers=keys["admin"]), 422)
    assert field in fields(p), p
    assert count(session_factory, Depot) == 0


def test_missing_depot_fields_are_each_named(client, keys):
    p = problem(client.post("/api/v1/depots", json={"code": "LON"}, headers=keys["admin"]), 422)
    assert {"name", "contact_name", "street1", "city", "postal_code", "country", "timezone",
            "cutoff_local"} <= set(fields(p))


def test_country_is_normalised_to_upper_case(client, keys):
    assert f.depot(client, keys["admin"], code="NYC", country="us")["country"] == "US"


def test_a_duplicate_depot_code_is_409_whatever_its_case(client, keys, session_factory):
    f.depot(client, keys["admin"], code="LON")
    for code in ("LON", "lon", " Lon "):
        p = problem(client.post("/api/v1/depots", json={"code": code, **DEPOT_DEFAULTS["LON"]},
                                headers=keys["admin"]), 409)
        assert p["field"] == "code"
    assert count(session_factory, Depot) == 1


def test_depot_codes_are_stored_upper_case(client, keys):
    """The CSV import and the stock view find depots by upper-case code."""
    assert f.depot(client, keys["admin"], code="ber")["code"] == "BER"


def test_patch_depot_changes_only_what_is_sent(client, keys):
    depot = f.depot(client, keys["admin"], code="LON", company="Acme")
    r = client.patch(f"/api/v1/depots/{depot['id']}", json={"cutoff_local": "17:15", "company": None},
                     headers=keys["admin"])
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["cutoff_local"] == "17:15:00" and after["company"] is None
    assert {k: v for k, v in after.items() if k not in ("cutoff_local", "company")} == {
        k: v for k, v in depot.items() if k not in ("cutoff_local", "company")}
    assert client.get(f"/api/v1/depots/{depot['id']}", headers=keys["support"]).json() == after
    # an empty patch is a no-op
    assert client.patch(f"/api/v1/depots/{depot['id']}", json={}, headers=keys["admin"]).json() == after


@pytest.mark.parametrize(
    "patch,field,status",
    [
        ({"timezone": "Nowhere/Special"}, "timezone", 422),
        ({"country": "ZZ"}, "country", 422),
        ({"cutoff_local": "24:61"}, "cutoff_local", 422),
        ({"name": None}, "name", 422),
        ({"timezone": None}, "timezone", 422),
        ({"code": "NEW"}, "code", 422),  # the code is the depot's identity: not patchable
    ],
)
def test_bad_depot_patches_name_the_field_and_change_nothing(client, keys, patch, field, status):
    depot = f.depot(client, keys["admin"], code="LON")
    p = problem(client.patch(f"/api/v1/depots/{depot['id']}", json=patch, headers=keys["admin"]), status)
    assert field in fields(p), p
    assert client.get(f"/api/v1/depots/{depot['id']}", headers=keys["support"]).json() == depot


# ---- device models -------------------------------------------------------------------------------


def test_create_a_model_with_substitutes_by_id(client, keys, session_factory):
    a = f.model(client, keys["admin"], sku="lat-7440")
    b = f.model(client, keys["admin"], sku="LAT-7450")
    assert a["sku"] == "LAT-7440" and a["substitute_ids"] == []
    c = f.model(client, keys["admin"], sku="LAT-5440", substitute_ids=[b["id"], a["id"], a["id"]])
    assert c["substitute_ids"] == [a["id"], b["id"]]
    assert client.get(f"/api/v1/models/{c['id']}", headers=keys["support"]).json() == c
    with session_factory() as s:
        pairs = set(s.execute(select(model_substitutes.c.model_id, model_substitutes.c.substitute_id)).all())
    assert pairs == {(c["id"], a["id"]), (c["id"], b["id"])}
    # substitution is one-way
    assert client.get(f"/api/v1/models/{a['id']}", headers=keys["support"]).json()["substitute_ids"] == []


def test_an_unknown_substitute_is_404_and_creates_nothing(client, keys, session_factory):
    a = f.model(client, keys["admin"])
    body = {"sku": "NEW-1", "category": "laptop", "maker": "Dell", "name": "X", "length_cm": 1, "width_cm": 1,
            "height_cm": 1, "weight_kg": 1, "substitute_ids": [a["id"], 9999]}
    p = problem(client.post("/api/v1/models", json=body, headers=keys["admin"]), 404)
    assert "9999" in p["detail"]
    assert count(session_factory, DeviceModel) == 1
    p = problem(client.patch(f"/api/v1/models/{a['id']}", json={"substitute_ids": [9999]},
                             headers=keys["admin"]), 404)
    assert "9999" in p["detail"]


def test_a_model_cannot_substitute_for_itself(client, keys, session_factory):
    a = f.model(client, keys["admin"])
    b = f.model(client, keys["admin"])
    p = problem(client.patch(f"/api/v1/models/{a['id']}", json={"substitute_ids": [b["id"], a["id"]]},
                             headers=keys["admin"]), 422)
    assert p["field"] == "substitute_ids"
    assert client.get(f"/api/v1/models/{a['id']}", headers=keys["support"]).json()["substitute_ids"] == []
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(model_substitutes)) == 0


def test_patch_model_substitutes_replace_clear_and_keep(client, keys):
    a, b, c = (f.model(client, keys["admin"]) for _ in range(3))
    url = f"/api/v1/models/{a['id']}"
    assert client.patch(url, json={"substitute_ids": [c["id"], b["id"]]},
                        headers=keys["admin"]).json()["substitute_ids"] == [b["id"], c["id"]]
    # a patch without substitute_ids leaves them alone
    after = client.patch(url, json={"name": "Latitude 2"}, headers=keys["admin"]).json()
    assert after["substitute_ids"] == [b["id"], c["id"]] and after["name"] == "Latitude 2"
    assert after["sku"] == a["sku"] and after["weight_kg"] == a["weight_kg"]
    assert client.patch(url, json={"substitute_ids": []}, headers=keys["admin"]).json()["substitute_ids"] == []


@pytest.mark.parametrize(
    "override,field",
    [({"category": "toaster"}, "category"), ({"weight_kg": 0}, "weight_kg"), ({"length_cm": -1}, "length_cm"),
     ({"height_cm": "tall"}, "height_cm"), ({"sku": ""}, "sku"), ({"substitute_ids": "1"}, "substitute_ids"),
     ({"weight_kg": 1.2345}, "weight_kg"), ({"width_cm": "30.125"}, "width_cm")],
)
def test_model_validation_names_the_field(client, keys, session_factory, override, field):
    body = {"sku": "V-1", "category": "laptop", "maker": "Dell", "name": "X", "length_cm": 1, "width_cm": 1,
            "height_cm": 1, "weight_kg": 1, **override}
    p = problem(client.post("/api/v1/models", json=body, headers=keys["admin"]), 422)
    assert any(x == field or x.startswith(field + ".") for x in fields(p)), p
    assert count(session_factory, DeviceModel) == 0


def test_model_answers_show_the_stored_values(client, keys):
    """What POST and PATCH answer is what a later GET returns (numbers at the stored scale)."""
    m = f.model(client, keys["admin"], length_cm="40.5", weight_kg="2.4")
    assert (m["length_cm"], m["weight_kg"]) == ("40.50", "2.400")
    patched = client.patch(f"/api/v1/models/{m['id']}", json={"height_cm": 7.25}, headers=keys["admin"]).json()
    assert patched["height_cm"] == "7.25"
    assert client.get(f"/api/v1/models/{m['id']}", headers=keys["support"]).json() == patched


def test_a_duplicate_sku_is_409_whatever_its_case(client, keys, session_factory):
    f.model(client, keys["admin"], sku="DUP-1")
    body = {"sku": "dup-1", "category": "laptop", "maker": "Dell", "name": "X", "length_cm": 1, "width_cm": 1,
            "height_cm": 1, "weight_kg": 1}
    assert problem(client.post("/api/v1/models", json=body, headers=keys["admin"]), 409)["field"] == "sku"
    assert count(session_factory, DeviceModel) == 1


def test_patch_model_refuses_nulls_and_the_sku(client, keys):
    a = f.model(client, keys["admin"])
    url = f"/api/v1/models/{a['id']}"
    assert problem(client.patch(url, json={"weight_kg": None}, headers=keys["admin"]), 422)["field"] == "weight_kg"
    assert "sku" in fields(problem(client.patch(url, json={"sku": "OTHER"}, headers=keys["admin"]), 422))
    assert client.get(url, headers=keys["support"]).json() == a


# ---- config profiles -----------------------------------------------------------------------------


def test_bumping_a_profile_version_makes_older_units_stale(client, keys, frozen_clock):
    admin = keys["admin"]
    depot, model = f.depot(client, admin), f.model(client, admin)
    prof = f.profile(client, admin, name="Win11-Eng", version="2026.10")
    unit = f.unit(client, keys["warehouse"], model["id"], depot["id"], profile_id=prof["id"],
                  profile_version="2026.10")
    assert unit["is_stale"] is False
    frozen_clock.advance(hours=2)
    r = client.patch(f"/api/v1/profiles/{prof['id']}", json={"current_version": " 2026.11 "}, headers=admin)
    assert r.status_code == 200, r.text
    bumped = r.json()
    assert bumped["current_version"] == "2026.11" and bumped["name"] == "Win11-Eng"
    assert bumped["updated_at"] > prof["updated_at"]
    assert bumped["description"] == prof["description"]
    got = client.get(f"/api/v1/units/{unit['id']}", headers=keys["support"]).json()
    assert got["is_stale"] is True and got["profile_current_version"] == "2026.11"
    stock = client.get("/api/v1/stock", headers=keys["support"]).json()
    assert stock[0]["stale_ready"] == 1  # a ready unit imaged with the old version
    assert client.get(f"/api/v1/profiles/{prof['id']}", headers=keys["support"]).json() == bumped


def test_a_unit_with_a_profile_but_no_version_is_stale_everywhere(client, keys):
    """The unit view, the `stale` filter and the stock view's `stale_ready` agree."""
    admin = keys["admin"]
    depot, model = f.depot(client, admin), f.model(client, admin)
    prof = f.profile(client, admin, version="2026.11")
    unknown = f.unit(client, keys["warehouse"], model["id"], depot["id"], profile_id=prof["id"])
    f.unit(client, keys["warehouse"], model["id"], depot["id"], profile_id=prof["id"], profile_version="2026.11")
    f.unit(client, keys["warehouse"], model["id"], depot["id"])  # no profile: never stale
    assert unknown["is_stale"] is True
    stale = client.get("/api/v1/units", params={"stale": True}, headers=keys["support"]).json()["items"]
    assert [u["id"] for u in stale] == [unknown["id"]]
    row = client.get("/api/v1/stock", headers=keys["support"]).json()[0]
    assert row["ready"] == 3 and row["stale_ready"] == 1


def test_profile_patch_semantics(client, keys):
    prof = f.profile(client, keys["admin"], version="1.0")
    url = f"/api/v1/profiles/{prof['id']}"
    described = client.patch(url, json={"description": "Sales laptops"}, headers=keys["admin"]).json()
    assert described["description"] == "Sales laptops" and described["current_version"] == "1.0"
    assert problem(client.patch(url, json={"current_version": None}, headers=keys["admin"]), 422)["field"] \
        == "current_version"
    assert "current_version" in fields(problem(client.patch(url, json={"current_version": ""},
                                                            headers=keys["admin"]), 422))
    assert "name" in fields(problem(client.patch(url, json={"name": "renamed"}, headers=keys["admin"]), 422))
    cleared = client.patch(url, json={"description": None}, headers=keys["admin"]).json()
    assert cleared["description"] is None and cleared["current_version"] == "1.0"


def test_a_duplicate_profile_name_is_409_whatever_its_case(client, keys, session_factory):
    """The CSV import finds profiles by name ignoring case, so two names differing only in case
    would make it pick one at random."""
    f.profile(client, keys["admin"], name="Win11-Sales")
    for name in ("Win11-Sales", "WIN11-SALES"):
        p = problem(client.post("/api/v1/profiles", json={"name": name, "current_version": "1"},
                                headers=keys["admin"]), 409)
        assert p["field"] == "name"
    assert count(session_factory, ConfigProfile) == 1


# ---- par levels ----------------------------------------------------------------------------------


def test_par_level_put_creates_then_replaces(client, keys, session_factory):
    depot, model = f.depot(client, keys["admin"]), f.model(client, keys["admin"])
    url = f"/api/v1/depots/{depot['id']}/par-levels/{model['id']}"
    r = client.put(url, json={"min_ready": 4}, headers=keys["admin"])
    assert r.status_code == 200 and r.json() == {"depot_id": depot["id"], "model_id": model["id"], "min_ready": 4}
    assert client.put(url, json={"min_ready": 0}, headers=keys["admin"]).json()["min_ready"] == 0
    with session_factory() as s:
        assert [(p.depot_id, p.model_id, p.min_ready) for p in s.scalars(select(ParLevel))] == [
            (depot["id"], model["id"], 0)]
    row = client.get("/api/v1/stock", headers=keys["support"]).json()
    assert row == [{"depot_id": depot["id"], "depot_code": "LON", "model_id": model["id"],
                    "model_sku": model["sku"], "counts": {}, "ready": 0, "stale_ready": 0, "par_level": 0,
                    "below_par": False}]


def test_par_level_errors(client, keys, session_factory):
    depot, model = f.depot(client, keys["admin"]), f.model(client, keys["admin"])
    ok_url = f"/api/v1/depots/{depot['id']}/par-levels/{model['id']}"
    assert "min_ready" in fields(problem(client.put(ok_url, json={"min_ready": -1}, headers=keys["admin"]), 422))
    assert "min_ready" in fields(problem(client.put(ok_url, json={}, headers=keys["admin"]), 422))
    assert "min_ready" in fields(problem(client.put(ok_url, json={"min_ready": "many"}, headers=keys["admin"]),
                                         422))
    p = problem(client.put(f"/api/v1/depots/999/par-levels/{model['id']}", json={"min_ready": 1},
                           headers=keys["admin"]), 404)
    assert p["field"] == "depot_id"
    p = problem(client.put(f"/api/v1/depots/{depot['id']}/par-levels/999", json={"min_ready": 1},
                           headers=keys["admin"]), 404)
    assert p["field"] == "model_id"
    assert count(session_factory, ParLevel) == 0


# ---- unknown ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["depots", "models", "profiles", "units"])
def test_unknown_ids_are_404_problems(client, keys, kind):
    for method, extra in (("GET", None), ("PATCH", {})):
        r = client.request(method, f"/api/v1/{kind}/4242", json=extra, headers=keys["admin"])
        p = problem(r, 404)
        assert "4242" in p["detail"] and p["instance"] == f"/api/v1/{kind}/4242"
        assert p["type"] == "/problems/not-found"


def test_non_integer_ids_are_422_naming_the_path_parameter(client, keys):
    p = problem(client.get("/api/v1/depots/abc", headers=keys["admin"]), 422)
    assert fields(p) == ["depot_id"] and p["errors"][0]["in"] == "path"


def test_list_limits(client, keys):
    for i in range(3):
        f.model(client, keys["admin"], sku=f"LIM-{i}")
    assert len(client.get("/api/v1/models", params={"limit": 2}, headers=keys["support"]).json()) == 2
    assert "limit" in fields(problem(client.get("/api/v1/models", params={"limit": 0},
                                                headers=keys["support"]), 422))
