"""`spare_units.image_stale`, which the database keeps (migration 0020's triggers) for allocation's index,
says what `SpareUnit.is_stale` says in Python: when a unit is written with a profile or an image, and
when its profile's current version changes. Driven through the API, on SQLite and PostgreSQL."""

from sqlalchemy import text

from tests.support import factories as f
from tests.support.factories import swap_body


def _stored(session_factory, unit_ids) -> dict[int, bool]:
    with session_factory() as session:
        rows = session.execute(text("SELECT id, image_stale FROM spare_units WHERE id IN "
                                    f"({', '.join(str(int(i)) for i in unit_ids)})"))
        return {i: bool(stale) for i, stale in rows}


def _shown(client, keys, unit_ids) -> dict[int, bool]:
    return {i: client.get(f"/api/v1/units/{i}", headers=keys["support"]).json()["is_stale"] for i in unit_ids}


def test_the_stored_flag_follows_the_rule_as_units_and_profiles_change(client, keys, session_factory):
    lon = f.depot(client, keys["admin"], "LON")
    model = f.model(client, keys["admin"])
    profile = f.profile(client, keys["admin"], version="v1")
    units = {
        "current": f.unit(client, keys["warehouse"], model["id"], lon["id"], profile_id=profile["id"],
                          profile_version="v1")["id"],
        "older": f.unit(client, keys["warehouse"], model["id"], lon["id"], profile_id=profile["id"],
                        profile_version="v0")["id"],
        "no version": f.unit(client, keys["warehouse"], model["id"], lon["id"], profile_id=profile["id"])["id"],
        "no profile": f.unit(client, keys["warehouse"], model["id"], lon["id"])["id"],
    }
    ids = list(units.values())
    expected = {units["current"]: False, units["older"]: True, units["no version"]: True, units["no profile"]: False}
    assert _shown(client, keys, ids) == expected
    assert _stored(session_factory, ids) == expected

    # The profile's current version is raised: every unit on it is stale, the one without a profile is not.
    f.ok(client.patch(f"/api/v1/profiles/{profile['id']}", json={"current_version": "v2"}, headers=keys["admin"]), 200)
    expected = {units["current"]: True, units["older"]: True, units["no version"]: True, units["no profile"]: False}
    assert _shown(client, keys, ids) == expected
    assert _stored(session_factory, ids) == expected

    # One is re-imaged to the new version: current again.
    f.ok(client.patch(f"/api/v1/units/{units['older']}", json={"profile_version": "v2"}, headers=keys["warehouse"]), 200)
    expected[units["older"]] = False
    assert _shown(client, keys, ids) == expected
    assert _stored(session_factory, ids) == expected


def test_allocation_takes_the_unit_re_imaged_to_the_current_version(client, keys):
    """The pick reads the stored flag: after a version is raised, the one unit brought up to it is
    chosen before older stale units of the same depot."""
    lon = f.depot(client, keys["admin"], "LON")
    model = f.model(client, keys["admin"])
    profile = f.profile(client, keys["admin"], version="v1")
    fit = f.fit_to_ship(profile)
    stale_soon = [f.unit(client, keys["warehouse"], model["id"], lon["id"], **fit)["id"] for _ in range(3)]
    f.ok(client.patch(f"/api/v1/profiles/{profile['id']}", json={"current_version": "v2"}, headers=keys["admin"]), 200)
    re_imaged = stale_soon[-1]  # the newest of the three
    f.ok(client.patch(f"/api/v1/units/{re_imaged}", json={"profile_version": "v2"}, headers=keys["warehouse"]), 200)
    swap = f.ok(client.post("/api/v1/swap-requests", json=swap_body(model["id"], ticket="IT-STALE"),
                            headers=keys["support"]), 201)
    assert swap["unit_id"] == re_imaged and swap["needs_reimage"] is False
