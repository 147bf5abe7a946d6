"""The CLI as the README uses it: `init-db` migrates an empty database, `simulate` plays the simulated
carrier's events for a swap (the demo's journey), `serve --demo` is the first command a newcomer
runs, and the ASGI entry point builds the app from the environment."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect
from typer.testing import CliRunner

from app import cli
from app.db import make_engine
from app.jobs import work
from app.settings import get_settings
from tests.support import factories as f
from tests.support import http
from tests.support.asgi_client import AppClient
from tests.support.servers import free_port, wait_until_serving
from tests.support.service import SWAP_JOB_KINDS


@pytest.fixture
def on(monkeypatch):
    """Runs the CLI against a database URL given in the environment, as a shell would."""

    def point_at(url: str) -> CliRunner:
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
        return CliRunner()

    yield point_at
    get_settings.cache_clear()


def test_init_db_migrates_an_empty_database_to_head(on, empty_database_url):
    result = on(empty_database_url).invoke(cli.app, ["init-db"])
    assert result.exit_code == 0, result.output
    assert "database at head" in result.output
    engine = make_engine(empty_database_url)
    try:
        assert {"spare_units", "swap_requests", "outbox_jobs"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()



def test_seed_demo_reset_starts_the_demo_afresh(on, database_url, client, keys):
    """`make reset`: whatever the demo left behind (a swap, a new depot) is gone; the demo data is back."""
    runner = on(database_url)
    assert runner.invoke(cli.app, ["seed-demo"]).exit_code == 0
    f.depot(client, keys["admin"], "MAN")
    model_id = client.get("/api/v1/models", headers=keys["admin"]).json()[0]["id"]
    assert f.post_swap(client, keys, f.swap_body(model_id, ticket="LEFT-1")).status_code == 201
    again = runner.invoke(cli.app, ["seed-demo"])
    assert again.exit_code == 0 and "not added" in again.output
    result = runner.invoke(cli.app, ["seed-demo", "--reset"])
    assert result.exit_code == 0, result.output
    assert "emptied" in result.output and "demo data added" in result.output
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            codes = sorted(r[0] for r in conn.exec_driver_sql("SELECT code FROM depots"))
            swaps = conn.exec_driver_sql("SELECT count(*) FROM swap_requests").scalar()
    finally:
        engine.dispose()
    assert codes == ["BER", "LON", "NYC"] and swaps == 0

def test_simulate_walks_a_booked_swap_to_delivered_then_returned(on, database_url, client, keys, app, frozen_clock):
    lon = f.depot(client, keys["admin"], "LON")
    model = f.model(client, keys["admin"])
    f.unit(client, keys["warehouse"], model["id"], lon["id"])
    swap = f.post_swap(client, keys, f.swap_body(model["id"], return_mode="swap_at_door")).json()
    runner = on(database_url)
    early = runner.invoke(cli.app, ["simulate", str(swap["id"])])
    assert early.exit_code == 1 and "no booked shipment yet" in early.output
    assert work.run_outbox(app.state.session_factory, app.state.carrier, only=SWAP_JOB_KINDS) == 1

    delivered = runner.invoke(cli.app, ["simulate", str(swap["id"]), "--until", "delivered"])
    assert delivered.exit_code == 0, delivered.output
    assert "outbound DELIVERED: applied" in delivered.output
    now = client.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()
    assert now["status"] == "delivered"

    returned = runner.invoke(cli.app, ["simulate", str(swap["id"]), "--until", "returned"])
    assert returned.exit_code == 0, returned.output
    assert "outbound DELIVERED: duplicate" in returned.output and "return DELIVERED: applied" in returned.output
    now = client.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()
    assert now["status"] == "returned"


def test_simulate_refuses_to_run_against_shippo(on, database_url, monkeypatch):
    runner = on(database_url)
    monkeypatch.setenv("SHIPPO_API_KEY", "shippo_test_x")
    monkeypatch.setenv("SHIPPO_WEBHOOK_SECRETS", "a-webhook-secret-for-shippo")
    get_settings.cache_clear()
    result = runner.invoke(cli.app, ["simulate", "1"])
    assert result.exit_code == 1 and "simulated carrier only" in result.output




@pytest.mark.any_database  # the embedded default is SQLite by definition
def test_serve_demo_is_a_working_service_from_nothing(tmp_path):
    """The README's first command on a fresh machine: migrate, seed, print a key, serve."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SHIPPO_", "PUBLIC_BASE"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.db'}"
    spares = str(Path(sys.executable).with_name("spares"))
    server = subprocess.Popen([spares, "serve", "--demo", "--port", str(port)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        deadline = time.monotonic() + 60
        key = None
        while key is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r"\b(spk_[A-Za-z0-9_-]+)", line)
            key = found.group(1) if found else None
        assert key, "".join(lines)
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{base}/readyz")
        stock = http.get(f"{base}/api/v1/stock", headers={"Authorization": f"Bearer {key}"}, timeout=5)
        assert stock.status_code == 200 and {r["depot_code"] for r in stock.json()} == {"LON", "NYC", "BER"}
    finally:
        server.terminate()
        server.communicate(timeout=15)


def test_the_asgi_entry_point_builds_the_app_from_the_environment(on, database_url):
    import importlib

    on(database_url)
    sys.modules.pop("app.asgi", None)
    asgi = importlib.import_module("app.asgi")
    try:
        assert asgi.app.state.settings.database_url == database_url
        
        with AppClient(asgi.app) as c:
            assert c.get("/readyz").status_code == 200
    finally:
        sys.modules.pop("app.asgi", None)
