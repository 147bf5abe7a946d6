"""Authentication and roles, table-driven over every API route the app serves.

The roles each route should admit are written out here (`POLICY`), not read from the routes under
test. The list of routes is read off the app, so a route added later fails until it is put in the
table (or, with no auth dependency, listed in tests/routes.py as unprotected)."""

import hashlib
import re

import pytest
from sqlalchemy import select, text

from app.auth.keys import KEY_PREFIX, Role, create_api_key, hash_key, revoke_api_key
from app.db import unit_of_work
from app.main import create_app, route_roles
from app.models import ApiKey
from app.settings import Settings
from tests.support.routes import CAPABILITY_URLS, HEALTH_PROBES, UNPROTECTED, api_routes

pytestmark = pytest.mark.any_database  # the role matrix is the request guard's and the routes'; the key lookup is tested on both

BODY_METHODS = {"POST", "PUT", "PATCH"}
ALL_ROLES = [r.value for r in Role]


def _route_table():
    application = create_app(Settings(database_url="sqlite://", run_background_jobs=False))
    try:
        return [(method, path, route_roles(route)) for method, path, route in api_routes(application)]
    finally:
        application.state.engine.dispose()


ROUTES = _route_table()
PROTECTED = [(m, p, [str(r) for r in roles]) for m, p, roles in ROUTES if roles is not None]


def _request(client, method: str, path: str, headers: dict | None = None):
    url = re.sub(r"\{[^}]+\}", "1", path)
    return client.request(method, url, headers=headers or {}, json={} if method in BODY_METHODS else None)


def _assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    return body


def test_the_route_table_is_read_off_the_app():
    """Guards the table itself: were the flattening to break, every parametrised test would vanish."""
    seen = {(m, p) for m, p, _ in ROUTES}
    for expected in [("GET", "/api/v1/depots"), ("POST", "/api/v1/units/import"), ("GET", "/api/v1/stock"),
                     ("POST", "/api/v1/units/{unit_id}/transitions"), *UNPROTECTED]:
        assert expected in seen
    assert len(PROTECTED) >= 20


def test_only_the_listed_routes_are_unprotected():
    assert {(m, p) for m, p, roles in ROUTES if roles is None} == UNPROTECTED


READ = ["admin", "integration", "support", "warehouse"]
ADMIN = ["admin"]
WAREHOUSE = ["admin", "warehouse"]
SUPPORT = ["admin", "integration", "support"]
POLICY = {
    ("GET", "/api/v1/charge-backs"): READ,
    ("POST", "/api/v1/charge-backs/{charge_id}/confirm"): SUPPORT,
    ("POST", "/api/v1/charge-backs/{charge_id}/waive"): SUPPORT,
    ("POST", "/api/v1/cycle-counts"): WAREHOUSE,
    ("GET", "/api/v1/cycle-counts/{count_id}"): READ,
    ("POST", "/api/v1/cycle-counts/{count_id}/close"): WAREHOUSE,
    ("POST", "/api/v1/cycle-counts/{count_id}/scans"): WAREHOUSE,
    ("GET", "/api/v1/depots"): READ,
    ("POST", "/api/v1/depots"): ADMIN,
    ("GET", "/api/v1/depots/{depot_id}"): READ,
    ("PATCH", "/api/v1/depots/{depot_id}"): ADMIN,
    ("PUT", "/api/v1/depots/{depot_id}/par-levels/{model_id}"): ADMIN,
    ("GET", "/api/v1/discrepancies"): READ,
    ("POST", "/api/v1/discrepancies/{discrepancy_id}/resolve"): WAREHOUSE,
    ("GET", "/api/v1/metrics/service"): READ,
    ("GET", "/api/v1/models"): READ,
    ("POST", "/api/v1/models"): ADMIN,
    ("GET", "/api/v1/models/{model_id}"): READ,
    ("PATCH", "/api/v1/models/{model_id}"): ADMIN,
    ("GET", "/api/v1/notifications"): READ,
    ("GET", "/api/v1/ticket-notes"): READ,
    ("POST", "/api/v1/units/{unit_id}/warranty-claims"): WAREHOUSE,
    ("POST", "/api/v1/warranty-claims/{claim_id}/shipped"): WAREHOUSE,
    ("POST", "/api/v1/warranty-claims/{claim_id}/outcome"): WAREHOUSE,
    ("GET", "/api/v1/warranty-claims"): READ,
    ("GET", "/api/v1/legal-holds"): READ,
    ("POST", "/api/v1/legal-holds"): ADMIN,
    ("POST", "/api/v1/legal-holds/{hold_id}/lift"): ADMIN,
    ("GET", "/api/v1/webhook-deliveries"): ADMIN,
    ("POST", "/api/v1/webhook-deliveries/replay"): ADMIN,
    ("POST", "/api/v1/webhook-deliveries/{delivery_id}/replay"): ADMIN,
    ("GET", "/api/v1/webhook-endpoints"): ADMIN,
    ("POST", "/api/v1/webhook-endpoints"): ADMIN,
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}"): ADMIN,
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}"): ADMIN,
    ("DELETE", "/api/v1/webhook-endpoints/{endpoint_id}"): ADMIN,
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): ADMIN,
    ("GET", "/api/v1/profiles"): READ,
    ("POST", "/api/v1/profiles"): ADMIN,
    ("GET", "/api/v1/profiles/{profile_id}"): READ,
    ("PATCH", "/api/v1/profiles/{profile_id}"): ADMIN,
    ("GET", "/api/v1/reconciliation"): READ,
    ("GET", "/api/v1/reconciliation.csv"): READ,
    ("GET", "/api/v1/reconciliation/invariants"): READ,
    ("GET", "/api/v1/returns"): READ,
    ("PATCH", "/api/v1/returns/{return_id}"): SUPPORT,
    ("POST", "/api/v1/returns/{return_id}/inspection"): WAREHOUSE,
    ("POST", "/api/v1/scans"): WAREHOUSE,
    ("GET", "/api/v1/stock"): READ,
    ("GET", "/api/v1/swap-requests"): READ,
    ("POST", "/api/v1/swap-requests"): SUPPORT,
    ("GET", "/api/v1/swap-requests/{swap_id}"): READ,
    ("POST", "/api/v1/swap-requests/{swap_id}/cancel"): SUPPORT,
    ("POST", "/api/v1/swap-requests/{swap_id}/tracking-link"): SUPPORT,
    ("GET", "/api/v1/units"): READ,
    ("POST", "/api/v1/units"): WAREHOUSE,
    ("GET", "/api/v1/units/export.csv"): READ,
    ("POST", "/api/v1/units/import"): WAREHOUSE,
    ("GET", "/api/v1/units/lookup"): READ,
    ("GET", "/api/v1/units/{unit_id}"): READ,
    ("PATCH", "/api/v1/units/{unit_id}"): WAREHOUSE,
    ("GET", "/api/v1/units/{unit_id}/history"): READ,
    ("GET", "/api/v1/units/{unit_id}/label"): READ,
    ("POST", "/api/v1/units/{unit_id}/move"): WAREHOUSE,
    ("POST", "/api/v1/units/{unit_id}/refurbished"): WAREHOUSE,
    ("POST", "/api/v1/units/{unit_id}/wipes"): WAREHOUSE,
    ("GET", "/api/v1/units/{unit_id}/wipes"): READ,
    ("GET", "/api/v1/wipes/{wipe_id}/certificate.json"): READ,
    ("GET", "/api/v1/wipes/{wipe_id}/certificate.pdf"): READ,
    ("POST", "/api/v1/planning/simulations"): ADMIN,
    ("GET", "/api/v1/planning/simulations/{simulation_id}"): READ,
    ("GET", "/api/v1/planning/simulations/{simulation_id}/plot.png"): READ,
    ("GET", "/api/v1/planning/simulations/{simulation_id}/days.csv"): READ,
    ("GET", "/api/v1/planning/simulations/{simulation_id}/table.txt"): READ,
    ("PUT", "/api/v1/par-levels"): ADMIN,
    ("POST", "/api/v1/units/{unit_id}/transitions"): WAREHOUSE,
    ("POST", "/api/v1/units/{unit_id}/triage"): WAREHOUSE,
}
TABLE = sorted((m, p, roles) for (m, p), roles in POLICY.items())


def test_every_protected_route_is_in_the_policy_table():
    assert {(m, p) for m, p, _ in PROTECTED} == set(POLICY)


def test_each_route_declares_the_roles_of_the_policy():
    """The OpenAPI document's x-roles come from these declarations: they must say the same."""
    for method, path, roles in PROTECTED:
        assert sorted(roles) == POLICY[(method, path)], (method, path, roles)


@pytest.fixture
def revoked(session_factory) -> dict[str, str]:
    with unit_of_work(session_factory) as session:
        _, plain = create_api_key(session, name="revoked-admin", roles=["admin"])
    with unit_of_work(session_factory) as session:
        revoke_api_key(session, "revoked-admin")
    return {"Authorization": f"Bearer {plain}"}


@pytest.mark.parametrize("method,path,roles", TABLE, ids=[f"{m} {p}" for m, p, _ in TABLE])
def test_protected_route_refuses_missing_unknown_and_revoked_keys(client, revoked, method, path, roles):
    r = _request(client, method, path)
    _assert_problem(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"

    r = _request(client, method, path, {"Authorization": "Basic dXNlcjpwYXNz"})
    _assert_problem(r, 401)

    r = _request(client, method, path, {"Authorization": f"Bearer {KEY_PREFIX}not-a-key-we-issued"})
    _assert_problem(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"

    r = _request(client, method, path, revoked)
    _assert_problem(r, 401)
    assert "revoked" in r.json()["detail"]


@pytest.mark.parametrize("method,path,roles", TABLE, ids=[f"{m} {p}" for m, p, _ in TABLE])
def test_protected_route_admits_exactly_its_roles(client, keys, method, path, roles):
    for role in ALL_ROLES:
        r = _request(client, method, path, keys[role])
        if role in roles:
            assert r.status_code not in (401, 403), (role, r.status_code, r.text)
            assert r.status_code < 500, (role, r.status_code, r.text)
        else:
            body = _assert_problem(r, 403)
            assert role in body["detail"]


def test_health_probes_need_no_key(client):
    for _, path in sorted(HEALTH_PROBES):
        assert client.get(path).status_code == 200


@pytest.mark.parametrize("method,path", sorted(CAPABILITY_URLS), ids=[f"{m} {p}" for m, p in sorted(CAPABILITY_URLS)])
def test_a_capability_url_with_an_unknown_token_finds_nothing(client, keys, method, path):
    url = re.sub(r"\{[^}]+\}", "unguessable-0123456789", path)
    body = {"event": "track_updated", "data": {}} if method in BODY_METHODS else None
    for headers in ({}, keys["admin"]):
        r = client.request(method, url, headers=headers, json=body)
        assert r.status_code == 404, (r.status_code, r.text)


def test_a_key_with_several_roles_gets_the_union(client, session_factory):
    with unit_of_work(session_factory) as session:
        _, plain = create_api_key(session, name="support-and-warehouse", roles=["support", "warehouse"])
    headers = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/stock", headers=headers).status_code == 200
    # warehouse may create units (here: 404, the model does not exist — past auth)
    r = client.post("/api/v1/units", headers=headers,
                    json={"serial": "S1", "asset_tag": "A1", "model_id": 1, "depot_id": 1})
    assert r.status_code == 404
    # neither role may create depots
    assert client.post("/api/v1/depots", headers=headers, json={}).status_code == 403


def test_revoking_a_key_takes_effect_within_the_auth_cache_bound(client, session_factory, frozen_clock):
    """Keys seen in the last AUTH_CACHE_SECONDS (30) are not read again: a revocation reaches every
    process within that bound, and not later."""
    with unit_of_work(session_factory) as session:
        _, plain = create_api_key(session, name="soon-gone", roles=["support"])
    headers = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/stock", headers=headers).status_code == 200
    with unit_of_work(session_factory) as session:
        revoke_api_key(session, "soon-gone")
    frozen_clock.advance(seconds=29)
    assert client.get("/api/v1/stock", headers=headers).status_code == 200  # within the stated bound
    frozen_clock.advance(seconds=1)
    assert client.get("/api/v1/stock", headers=headers).status_code == 401
    frozen_clock.advance(seconds=60)
    assert client.get("/api/v1/stock", headers=headers).status_code == 401


def test_a_key_never_seen_is_refused_at_once_after_revocation(client, session_factory):
    with unit_of_work(session_factory) as session:
        _, plain = create_api_key(session, name="gone-unused", roles=["support"])
        revoke_api_key(session, "gone-unused")
    assert client.get("/api/v1/stock", headers={"Authorization": f"Bearer {plain}"}).status_code == 401


def test_only_the_sha256_of_a_key_is_stored(session_factory):
    with unit_of_work(session_factory) as session:
        row, plain = create_api_key(session, name="stored", roles=["warehouse"])
        key_id = row.id
    secret = plain[len(KEY_PREFIX):]
    with session_factory() as session:
        stored = session.execute(text("SELECT * FROM api_keys WHERE id = :id"), {"id": key_id}).mappings().one()
        assert stored["key_hash"] == hashlib.sha256(plain.encode()).hexdigest() == hash_key(plain)
        assert re.fullmatch(r"[0-9a-f]{64}", stored["key_hash"])
        for column, value in stored.items():
            assert plain not in str(value), column
            assert secret not in str(value), column
        # the readable prefix is at most the "spk_" marker plus a few characters: far from the secret
        assert len(stored["prefix"]) <= len(KEY_PREFIX) + 6 and plain.startswith(stored["prefix"])


def test_keys_carry_at_least_128_random_bits(session_factory):
    plains = []
    with unit_of_work(session_factory) as session:
        for i in range(20):
            _, plain = create_api_key(session, name=f"entropy-{i}", roles=["support"])
            plains.append(plain)
    for plain in plains:
        assert plain.startswith(KEY_PREFIX)
        secret = plain[len(KEY_PREFIX):]
        assert re.fullmatch(r"[A-Za-z0-9_-]+", secret), secret  # base64url: 6 bits per character
        assert len(secret) * 6 >= 128, len(secret)
    assert len(set(plains)) == len(plains)
    with session_factory() as session:
        hashes = session.scalars(select(ApiKey.key_hash).where(ApiKey.name.like("entropy-%"))).all()
    assert len(set(hashes)) == 20


def test_bad_roles_and_duplicate_names_are_refused(session_factory):
    from app.errors import Conflict, Unprocessable

    with unit_of_work(session_factory) as session:
        create_api_key(session, name="dup", roles=["support"])
    with pytest.raises(Conflict), unit_of_work(session_factory) as session:
        create_api_key(session, name="dup", roles=["support"])
    with pytest.raises(Unprocessable), unit_of_work(session_factory) as session:
        create_api_key(session, name="x", roles=["root"])
    with pytest.raises(Unprocessable), unit_of_work(session_factory) as session:
        create_api_key(session, name="y", roles=[])


def test_the_cli_creates_a_key_shown_once_and_revokes_it(client, monkeypatch, database_url, session_factory,
                                                        frozen_clock):
    from typer.testing import CliRunner

    from app import cli
    from app.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        created = CliRunner().invoke(cli.app, ["create-api-key", "jira-bot", "-r", "integration"])
        assert created.exit_code == 0, created.output
        plain = created.output.strip()
        headers = {"Authorization": f"Bearer {plain}"}
        assert client.get("/api/v1/swap-requests", headers=headers).status_code == 200
        with session_factory() as s:  # only the hash is kept
            assert s.scalar(select(ApiKey.key_hash).where(ApiKey.name == "jira-bot")) == hash_key(plain)
        revoked = CliRunner().invoke(cli.app, ["revoke-api-key", "jira-bot"])
        assert revoked.exit_code == 0 and "revoked jira-bot" in revoked.output
        frozen_clock.advance(seconds=30)  # past the auth cache's bound
        assert client.get("/api/v1/swap-requests", headers=headers).status_code == 401
        unknown = CliRunner().invoke(cli.app, ["revoke-api-key", "nobody"])
        assert unknown.exit_code == 1 and "No API key named 'nobody'" in unknown.output
    finally:
        get_settings.cache_clear()
