"""`spares seed-demo`: three depots of stock, visible through the API, added once."""

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app import cli
from app.models import CustodyEntry, Depot, SpareUnit
from app.settings import get_settings


@pytest.fixture
def runner(monkeypatch, database_url):
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _counts(session_factory) -> tuple[int, int, int]:
    with session_factory() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (Depot, SpareUnit, CustodyEntry))


def _units_without_a_creation_row(session_factory) -> int:
    created = select(CustodyEntry.unit_id).where(CustodyEntry.from_state.is_(None))
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(SpareUnit).where(SpareUnit.id.not_in(created)))


def test_seed_demo_adds_stock_at_three_depots_once(runner, client, keys, session_factory):
    result = runner.invoke(cli.app, ["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "demo data added" in result.output
    depots, units, ledger = _counts(session_factory)
    assert depots == 3 and 40 <= units <= 60 and ledger >= units
    assert _units_without_a_creation_row(session_factory) == 0

    rows = client.get("/api/v1/stock", headers=keys["support"]).json()
    assert {r["depot_code"] for r in rows} == {"LON", "NYC", "BER"}
    assert sum(sum(r["counts"].values()) for r in rows) == units
    assert all(r["par_level"] is not None for r in rows)
    assert any(r["stale_ready"] > 0 for r in rows), "the demo is meant to show some stale stock"
    per_depot = {}
    for r in rows:
        per_depot[r["depot_code"]] = per_depot.get(r["depot_code"], 0) + r["ready"]
    assert all(n > 0 for n in per_depot.values()), per_depot

    listed, cursor = 0, None
    while True:
        page = client.get("/api/v1/units", params={"limit": 200, **({"cursor": cursor} if cursor else {})},
                          headers=keys["support"]).json()
        listed += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert listed == units
    lat = client.get("/api/v1/models", headers=keys["support"]).json()
    by_sku = {m["sku"]: m for m in lat}
    assert by_sku["LAT-5440"]["substitute_ids"] == [by_sku["LAT-7440"]["id"]]

    again = runner.invoke(cli.app, ["seed-demo"])
    assert again.exit_code == 0, again.output
    assert "not added" in again.output
    assert _counts(session_factory) == (depots, units, ledger)
    assert client.get("/api/v1/stock", headers=keys["support"]).json() == rows


def test_seed_demo_adds_nothing_where_depots_exist(runner, client, keys, session_factory):
    from tests.support import factories as f

    f.depot(client, keys["admin"], code="LON")
    result = runner.invoke(cli.app, ["seed-demo"])
    assert result.exit_code == 0 and "not added" in result.output
    assert _counts(session_factory) == (1, 0, 0)
