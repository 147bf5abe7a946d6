"""Every error is application/problem+json; the health probes tell up from ready."""

from sqlalchemy import text

from app import migrations
from app.db import make_engine
from app.main import create_app
from app.settings import Settings
from tests.support import factories as f
from tests.support.asgi_client import AppClient


def problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"].startswith("/problems/")
    return body


def test_malformed_json_is_a_422_problem_not_a_500(client, keys):
    for raw in (b'{"code": "LON",', b"not json at all", b'{"code": "LON"}}'):
        r = client.post("/api/v1/depots", content=raw,
                        headers={**keys["admin"], "Content-Type": "application/json"})
        body = problem(r, 422)
        assert [(e["field"], e["in"]) for e in body["errors"]] == [("body", "body")], body
        assert "JSON" in body["errors"][0]["message"]


def test_a_json_body_that_is_not_an_object_is_422(client, keys):
    for payload in ([], "LON", 3, None):
        r = client.post("/api/v1/depots", json=payload, headers=keys["admin"])
        problem(r, 422)


def test_wrong_types_name_the_field(client, keys):
    admin = keys["admin"]
    depot = f.depot(client, admin)
    model = f.model(client, admin)
    cases = [
        ("POST", "/api/v1/units", {"serial": "S", "asset_tag": "T", "model_id": "seven", "depot_id": depot["id"]},
         "model_id", "body"),
        ("POST", "/api/v1/units", {"serial": 5, "asset_tag": "T", "model_id": model["id"], "depot_id": depot["id"]},
         "serial", "body"),
        ("POST", "/api/v1/units", {"serial": "S", "asset_tag": "T", "model_id": model["id"], "depot_id": depot["id"],
                                   "box_contents": "charger"}, "box_contents", "body"),
        ("PUT", f"/api/v1/depots/{depot['id']}/par-levels/{model['id']}", {"min_ready": [1]}, "min_ready", "body"),
        ("GET", "/api/v1/units?depot_id=abc", None, "depot_id", "query"),
        ("GET", "/api/v1/units?stale=maybe", None, "stale", "query"),
        ("GET", "/api/v1/units/xyz", None, "unit_id", "path"),
    ]
    for method, url, body, field, where in cases:
        r = client.request(method, url, json=body, headers=admin)
        p = problem(r, 422)
        errors = {e["field"]: e for e in p["errors"]}
        assert field in errors, (url, p)
        assert errors[field]["in"] == where and errors[field]["message"]
        assert field in p["detail"]


def test_ids_beyond_the_integer_columns_are_422_naming_the_field(client, keys):
    admin = keys["admin"]
    depot = f.depot(client, admin)
    too_big = 2**31  # the columns are 32-bit on PostgreSQL; SQLite overflows at 2**63
    cases = [
        ("GET", f"/api/v1/units/{too_big}", None, "unit_id", "path"),
        ("GET", f"/api/v1/units?depot_id={2**63}", None, "depot_id", "query"),
        ("GET", "/api/v1/swap-requests/0", None, "swap_id", "path"),
        ("POST", "/api/v1/scans", {"code": "AT-1", "depot_id": too_big}, "depot_id", "body"),
        ("PATCH", f"/api/v1/depots/{depot['id']}", {"name": "x"}, None, None),  # a valid id still works
    ]
    for method, url, body, field, where in cases:
        r = client.request(method, url, json=body, headers=admin)
        if field is None:
            assert r.status_code == 200, r.text
            continue
        errors = {e["field"]: e for e in problem(r, 422)["errors"]}
        assert errors[field]["in"] == where, (url, errors)


def test_nul_characters_are_refused_before_reaching_the_database(client, keys):
    admin = keys["admin"]
    depot = f.depot(client, admin)
    body = problem(client.get("/api/v1/units/lookup", params={"code": "AT\x001"}, headers=admin), 422)
    assert body["errors"] == [{"field": "query", "in": "query", "message": "must not contain a NUL character (%00)"}]
    assert problem(client.get("/api/v1/units/AT%00", headers=admin), 422)["errors"][0]["field"] == "path"
    body = problem(client.post("/api/v1/scans", json={"code": "AT\u00001", "depot_id": depot["id"]},
                               headers=admin), 422)
    assert body["errors"] == [{"field": "code", "in": "body", "message": "Value error, must not contain a NUL character"}]
    # Nested and list fields too, and nothing was written.
    r = client.post("/api/v1/units", headers=keys["warehouse"], json={
        "serial": "S-NUL", "asset_tag": "AT-NUL", "model_id": f.model(client, admin)["id"], "depot_id": depot["id"],
        "box_contents": ["charger", "cable\u0000"]})
    assert problem(r, 422)["errors"][0]["field"].startswith("box_contents")
    assert client.get("/api/v1/units/lookup?code=AT-NUL", headers=admin).status_code == 404


def test_unknown_route_is_a_404_problem(client, keys):
    for path in ("/nope", "/api/v1/nothing-here", "/api/v2/units"):
        body = problem(client.get(path, headers=keys["admin"]), 404)
        assert body["instance"] == path


def test_wrong_method_is_a_405_problem_with_allow(client, keys):
    r = client.delete("/api/v1/depots", headers=keys["admin"])
    problem(r, 405)
    # The router lists the methods of the first route matching the path (here GET; POST is a
    # separate route), so only presence is asserted.
    assert "GET" in r.headers["allow"] and "DELETE" not in r.headers["allow"]
    r = client.put("/healthz")
    problem(r, 405)


def test_domain_errors_carry_their_extension_members(client, keys):
    depot = f.depot(client, keys["admin"])
    model = f.model(client, keys["admin"])
    unit = f.unit(client, keys["warehouse"], model["id"], depot["id"])
    r = client.post(f"/api/v1/units/{unit['id']}/transitions", json={"target_state": "received", "reason": "x"},
                    headers=keys["warehouse"])
    body = problem(r, 409)
    assert body["type"] == "/problems/invalid-transition"
    assert body["current_state"] == "ready" and body["allowed"]
    assert body["instance"] == f"/api/v1/units/{unit['id']}/transitions"


def test_an_unexpected_error_is_a_500_problem_that_leaks_nothing(app, client, keys, monkeypatch, caplog):
    calls = []

    def boom(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr("app.api.stock.stock_view", boom)
    body = problem(client.get("/api/v1/stock", headers=keys["support"]), 500)
    assert calls == [1]  # the route really ran into the failure
    assert "hunter2" not in str(body) and "RuntimeError" not in str(body)
    assert "hunter2" in caplog.text  # it went to the log, for us


def test_healthz_is_200(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_readyz_is_200_at_the_head_migration(client, app, session_factory):
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    with app.state.session_factory() as session:
        current, head = migrations.current_and_head(session.connection())
        stored = session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert current == head == stored
    assert r.json() == {"status": "ok", "migration": head}


def _ready(url: str):
    application = create_app(Settings(database_url=url, shippo_api_key="", run_background_jobs=False))
    try:
        with AppClient(application) as c:
            return c.get("/readyz"), c.get("/healthz")
    finally:
        application.state.engine.dispose()


def test_readyz_is_503_on_a_database_that_is_not_migrated(empty_database_url):
    url = empty_database_url
    ready, health = _ready(url)
    assert health.status_code == 200
    assert ready.status_code == 503, ready.text
    assert ready.json()["status"] == "unavailable" and ready.json()["migration"] is None
    # ... and 200 once migrated
    migrations.upgrade(url)
    ready, _ = _ready(url)
    assert ready.status_code == 200, ready.text


def test_readyz_is_503_when_the_database_is_behind_head(empty_database_url):
    url = empty_database_url
    migrations.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'an_older_revision'"))
    engine.dispose()
    ready, _ = _ready(url)
    assert ready.status_code == 503
    assert ready.json()["migration"] == "an_older_revision" and ready.json()["head"]


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path, database_kind):
    url = (f"sqlite:///{tmp_path}/no-such-dir/x.db" if database_kind == "sqlite"
           else "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    ready, health = _ready(url)
    assert health.status_code == 200
    assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
    assert "database" in ready.json()
