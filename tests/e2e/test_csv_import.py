"""CSV import (HTTP and CLI) and export of units: all or nothing, errors by line number."""

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app import cli, migrations
from app.api import units as units_api
from app.inventory.csv_io import COLUMNS
from app.main import create_app
from app.models import CustodyEntry, SpareUnit
from app.settings import Settings, get_settings
from tests.support import factories as f
from tests.support.asgi_client import AppClient
from tests.support.databases import empty_database

HEADER = ",".join(COLUMNS)
CSV = {"Content-Type": "text/csv"}


@pytest.fixture
def catalog(client, keys):
    admin = keys["admin"]
    lon = f.depot(client, admin, code="LON")
    nyc = f.depot(client, admin, code="NYC")
    laptop = f.model(client, admin, sku="LAT-5440")
    phone = f.model(client, admin, sku="IPH-15", category="phone")
    prof = f.profile(client, admin, name="Win11-Sales", version="2026.11")
    return {"LON": lon, "NYC": nyc, "LAT-5440": laptop, "IPH-15": phone, "profile": prof}


def counts(session_factory) -> tuple[int, int]:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(SpareUnit)), s.scalar(
            select(func.count()).select_from(CustodyEntry))


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def row(serial, tag, sku="LAT-5440", depot="LON", state="", profile="", version="", configured="", tested="",
        charged="", box="", notes=""):
    return f"{serial},{tag},{sku},{depot},{state},{profile},{version},{configured},{tested},{charged},{box},{notes}"


def post_csv(client, headers, body, content_type="text/csv"):
    data = body.encode() if isinstance(body, str) else body
    return client.post("/api/v1/units/import", content=data, headers={**headers, "Content-Type": content_type})


def problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


# ---- the good path --------------------------------------------------------------------------------


def test_a_good_file_imports_every_row_with_a_ledger_row_each(client, keys, catalog, session_factory):
    text = csv_text(
        row("sn-001", "at-001", state="ready", profile="Win11-Sales", version="2026.11",
            configured="2026-11-01T10:00:00+00:00", tested="2026-11-02T09:30:00Z", box="Charger;cable"),
        row("SN-002", "AT-002", sku="iph-15", depot="nyc", notes='"scratched lid, works"'),
        row("SN-003", "AT-003", state="triage", profile="win11-sales", version="2026.10"),
    )
    r = post_csv(client, keys["warehouse"], text)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["imported"] == 3 and len(body["unit_ids"]) == 3
    got = [client.get(f"/api/v1/units/{i}", headers=keys["support"]).json() for i in body["unit_ids"]]
    assert [u["serial"] for u in got] == ["SN-001", "SN-002", "SN-003"]
    assert [u["asset_tag"] for u in got] == ["AT-001", "AT-002", "AT-003"]
    assert [u["state"] for u in got] == ["ready", "receiving", "triage"]
    assert [u["depot_code"] for u in got] == ["LON", "NYC", "LON"]
    assert [u["model_sku"] for u in got] == ["LAT-5440", "IPH-15", "LAT-5440"]
    assert got[0]["profile_name"] == "Win11-Sales" and got[0]["is_stale"] is False
    assert got[2]["is_stale"] is True
    assert got[0]["configured_at"].startswith("2026-11-01T10:00:00")
    assert got[0]["last_tested_at"].startswith("2026-11-02T09:30:00")
    assert got[0]["box_contents"] == ["cable", "charger"]
    assert got[1]["condition_notes"] == "scratched lid, works"
    for unit_id, unit in zip(body["unit_ids"], got):
        history = client.get(f"/api/v1/units/{unit_id}/history", headers=keys["support"]).json()
        assert len(history) == 1
        entry = history[0]
        assert entry["reason"] == "imported from CSV" and entry["actor"] == "test-warehouse"
        assert entry["from_state"] is None and entry["to_state"] == unit["state"]
    assert counts(session_factory) == (3, 3)


def test_imported_ready_units_serve_the_waitlist_at_once_in_its_order(client, keys, catalog):
    """A delivery of spares taken in by file goes to the people already waiting, head of the line
    first, in the import's own transaction; what is left stays on the shelf."""
    laptop = catalog["LAT-5440"]["id"]
    first, second = (f.post_swap(client, keys, f.swap_body(laptop, ticket=t)).json() for t in ("IT-1", "IT-2"))
    assert first["status"] == second["status"] == "backordered"
    r = post_csv(client, keys["warehouse"], csv_text(*(row(f"SN-{n}", f"AT-{n}", state="ready") for n in range(3))))
    assert r.status_code == 201, r.text
    served = [client.get(f"/api/v1/swap-requests/{s['id']}", headers=keys["support"]).json() for s in (first, second)]
    assert [(s["status"], s["unit_asset_tag"]) for s in served] == [("allocated", "AT-0"), ("allocated", "AT-1")]
    left = client.get("/api/v1/units/lookup", params={"code": "AT-2"}, headers=keys["support"]).json()
    assert left["state"] == "ready"


def test_a_byte_order_mark_and_crlf_line_ends_are_accepted(client, keys, catalog):
    text = csv_text(row("BOM-1", "BOM-T1"), row("BOM-2", "BOM-T2")).replace("\n", "\r\n")
    r = post_csv(client, keys["warehouse"], "\ufeff" + text, content_type="text/csv; charset=utf-8")
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 2


def test_a_header_with_only_the_required_columns_is_enough(client, keys, catalog):
    text = "serial,asset_tag,model_sku,depot_code\nMIN-1,MIN-T1,LAT-5440,LON\n"
    r = post_csv(client, keys["warehouse"], text)
    assert r.status_code == 201, r.text
    unit = client.get("/api/v1/units/lookup", params={"code": "MIN-1"}, headers=keys["support"]).json()
    assert unit["state"] == "receiving" and unit["profile_id"] is None


# ---- rejected files: all or nothing -------------------------------------------------------------


def test_errors_on_several_lines_are_all_reported_and_nothing_is_written(client, keys, catalog, session_factory):
    f.unit(client, keys["warehouse"], catalog["LAT-5440"]["id"], catalog["LON"]["id"], serial="TAKEN-1",
           asset_tag="TAKEN-T1")
    before = counts(session_factory)
    text = csv_text(
        row("OK-1", "OK-T1"),                                     # 2: fine
        row("BAD-2", "BAD-T2", sku="NOPE-99"),                    # 3: unknown SKU
        row("BAD-3", "BAD-T3", depot="XXX"),                      # 4: unknown depot
        row("BAD-4", "BAD-T4", configured="2026-13-45"),          # 5: bad date
        row("ok-1", "BAD-T5"),                                    # 6: serial repeats line 2
        row("TAKEN-1", "BAD-T6"),                                 # 7: serial already in the database
        row("BAD-7", "BAD-T7", state="flying"),                   # 8: not a state
        "",                                                       # 9: blank (skipped)
        row("BAD-9", "BAD-T9", tested="2026-11-01T10:00:00"),     # 10: no timezone
        row("BAD-10", "TAKEN-T1"),                                # 11: asset tag already in the database
        row("OK-11", "OK-T11"),                                   # 12: fine
    )
    r = post_csv(client, keys["warehouse"], text)
    body = problem(r, 422)
    by_line: dict[int, list[str]] = {}
    for err in body["errors"]:
        by_line.setdefault(err["line"], []).append(err["message"])
    assert set(by_line) == {3, 4, 5, 6, 7, 8, 10, 11}, body["errors"]
    assert "model_sku" in by_line[3][0] and "NOPE-99" in by_line[3][0]
    assert "depot_code" in by_line[4][0] and "XXX" in by_line[4][0]
    assert "configured_at" in by_line[5][0]
    assert "serial" in by_line[6][0] and "line 2" in by_line[6][0]
    assert "serial" in by_line[7][0] and "already exists" in by_line[7][0]
    assert "state" in by_line[8][0]
    assert "last_tested_at" in by_line[10][0]
    assert "asset_tag" in by_line[11][0] and "already exists" in by_line[11][0]
    assert [e["line"] for e in body["errors"]] == sorted(e["line"] for e in body["errors"])
    assert "nothing was written" in body["detail"]
    assert counts(session_factory) == before
    for code in ("OK-1", "OK-11"):
        assert client.get("/api/v1/units/lookup", params={"code": code}, headers=keys["support"]).status_code == 404


def test_rows_the_unit_rules_refuse_are_reported_by_line_not_as_a_bare_error(client, keys, catalog, session_factory):
    """A state a new unit may not start in, or a profile version without a profile, is caught while
    checking the file (with its line), not half-way through writing it."""
    f.unit(client, keys["warehouse"], catalog["LAT-5440"]["id"], catalog["LON"]["id"], serial="DB-S",
           asset_tag="DB-T")
    before = counts(session_factory)
    text = csv_text(
        row("R-1", "R-T1"),
        row("R-2", "R-T2", state="deployed"),
        row("R-3", "R-T3", version="2026.11"),
        row("R-4", "R-1"),   # asset tag equal to another row's serial: lookup by code would be ambiguous
        row("DB-T", "R-T5"),  # serial equal to an existing unit's asset tag
        row("R-6", "R-T6", sku="IPH-15", depot="NYC"),
    )
    body = problem(post_csv(client, keys["warehouse"], text), 422)
    by_line = {e["line"]: e["message"] for e in body["errors"]}
    assert set(by_line) == {3, 4, 5, 6}, body["errors"]
    assert "state" in by_line[3] and "deployed" in by_line[3]
    assert "profile_version" in by_line[4]
    assert "R-1" in by_line[5] and "line 2" in by_line[5]
    assert "DB-T" in by_line[6] and "already exists" in by_line[6]
    assert counts(session_factory) == before


def test_a_file_the_csv_reader_cannot_parse_is_422_with_its_line(client, keys, catalog, session_factory):
    huge = "x" * 200_000  # longer than the csv module's field limit
    text = csv_text(row("H-1", "H-T1"), row("H-2", "H-T2", notes=huge))
    body = problem(post_csv(client, keys["warehouse"], text), 422)
    assert body["errors"][0]["line"] == 3, body["errors"]
    assert counts(session_factory) == (0, 0)


def test_a_missing_required_column_names_it(client, keys, catalog, session_factory):
    before = counts(session_factory)
    text = "serial,asset_tag,model_sku\nX-1,X-T1,LAT-5440\n"
    body = problem(post_csv(client, keys["warehouse"], text), 422)
    assert body["errors"] == [{"line": 1, "message": "missing column 'depot_code'"}]
    assert "depot_code" in body["detail"]
    assert counts(session_factory) == before


def test_unknown_columns_and_ragged_rows_are_refused(client, keys, catalog, session_factory):
    before = counts(session_factory)
    body = problem(post_csv(client, keys["warehouse"], csv_text(row("U-1", "U-T1") + ",x",
                                                                header=HEADER + ",colour")), 422)
    assert body["errors"] == [{"line": 1, "message": "unknown column 'colour'"}]
    body = problem(post_csv(client, keys["warehouse"], csv_text(row("U-1", "U-T1") + ",extra")), 422)
    assert body["errors"][0]["line"] == 2 and "more fields" in body["errors"][0]["message"]
    assert counts(session_factory) == before


def test_a_file_with_only_a_header_is_refused(client, keys, catalog):
    body = problem(post_csv(client, keys["warehouse"], csv_text()), 422)
    assert "no data rows" in body["detail"]


def test_wrong_content_type_is_415(client, keys, catalog, session_factory):
    text = csv_text(row("CT-1", "CT-T1"))
    for content_type in ("application/json", "text/plain", "multipart/form-data; boundary=x"):
        problem(post_csv(client, keys["warehouse"], text, content_type=content_type), 415)
    assert counts(session_factory) == (0, 0)


def test_text_that_is_not_utf8_is_400(client, keys, catalog, session_factory):
    data = csv_text(row("CAFÉ-1", "T-1", notes="café")).encode("latin-1")
    body = problem(post_csv(client, keys["warehouse"], data), 400)
    assert "UTF-8" in body["detail"]
    assert counts(session_factory) == (0, 0)


def test_a_file_over_the_limit_is_413(client, keys, catalog, session_factory):
    header = csv_text(row("BIG-1", "BIG-T1"))
    text = header + "#" * (units_api.MAX_CSV_BYTES - len(header.encode()) + 1)
    body = problem(post_csv(client, keys["warehouse"], text), 413)
    assert str(units_api.MAX_CSV_BYTES) in body["detail"]
    assert counts(session_factory) == (0, 0)


def test_import_needs_a_warehouse_key(client, keys, catalog):
    text = csv_text(row("RO-1", "RO-T1"))
    problem(post_csv(client, keys["support"], text), 403)
    problem(post_csv(client, {}, text), 401)


# ---- export ---------------------------------------------------------------------------------------


def _parse(text: str) -> list[dict]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO(text)))


def test_export_lists_what_the_api_lists_with_filters(client, keys, catalog):
    wh = keys["warehouse"]
    lon, nyc = catalog["LON"]["id"], catalog["NYC"]["id"]
    laptop, phone = catalog["LAT-5440"]["id"], catalog["IPH-15"]["id"]
    f.unit(client, wh, laptop, lon, profile_id=catalog["profile"]["id"], profile_version="2026.11",
           configured_at="2026-11-01T10:00:00+00:00", box_contents=["charger"],
           condition_notes="dent, left side\nsecond line")
    f.unit(client, wh, phone, nyc, state="triage")
    f.unit(client, wh, laptop, nyc)
    f.unit(client, wh, laptop, lon, state="refurbishing")
    for params in ({}, {"depot_id": lon}, {"model_id": laptop}, {"state": "ready"}, {"depot_id": nyc, "state": "triage"}):
        r = client.get("/api/v1/units/export.csv", params=params, headers=keys["support"])
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        assert r.text.splitlines()[0] == HEADER
        listed = client.get("/api/v1/units", params=params, headers=keys["support"]).json()["items"]
        rows = _parse(r.text)
        assert len(rows) == len(listed) and listed, params
        for exported, unit in zip(rows, listed):
            assert exported["serial"] == unit["serial"] and exported["asset_tag"] == unit["asset_tag"]
            assert exported["model_sku"] == unit["model_sku"] and exported["depot_code"] == unit["depot_code"]
            assert exported["state"] == unit["state"]
            assert exported["profile"] == (unit["profile_name"] or "")
            assert exported["profile_version"] == (unit["profile_version"] or "")
            assert exported["box_contents"] == ";".join(unit["box_contents"])
            assert exported["condition_notes"] == (unit["condition_notes"] or "")
            if unit["configured_at"]:
                assert exported["configured_at"].startswith(unit["configured_at"][:19])
    first = _parse(client.get("/api/v1/units/export.csv", headers=keys["support"]).text)[0]
    assert first["condition_notes"] == "dent, left side\nsecond line"


def test_export_then_import_into_a_fresh_database_round_trips(client, keys, catalog, tmp_path):
    wh = keys["warehouse"]
    lon, nyc = catalog["LON"]["id"], catalog["NYC"]["id"]
    laptop, phone = catalog["LAT-5440"]["id"], catalog["IPH-15"]["id"]
    f.unit(client, wh, laptop, lon, profile_id=catalog["profile"]["id"], profile_version="2026.10",
           configured_at="2026-11-01T10:00:00+00:00", last_tested_at="2026-11-02T11:30:15.250000+00:00",
           last_charged_at="2026-11-03T08:00:00+01:00", box_contents=["charger", "usb-c cable"],
           condition_notes='notes with "quotes", commas\nand a newline')
    f.unit(client, wh, phone, nyc, state="triage")
    f.unit(client, wh, laptop, nyc, state="refurbishing")
    exported = client.get("/api/v1/units/export.csv", headers=keys["support"]).text

    with empty_database(tmp_path) as url:
        migrations.upgrade(url)
        other = create_app(Settings(database_url=url, shippo_api_key="", run_background_jobs=False))
        try:
            from app.auth.keys import create_api_key
            from app.db import unit_of_work

            with unit_of_work(other.state.session_factory) as session:
                _, plain = create_api_key(session, name="other-admin", roles=["admin"])
            admin = {"Authorization": f"Bearer {plain}"}
            with AppClient(other) as c2:
                f.depot(c2, admin, code="NYC")  # other ids than the source database
                f.depot(c2, admin, code="LON")
                f.model(c2, admin, sku="IPH-15", category="phone")
                f.model(c2, admin, sku="LAT-5440")
                f.profile(c2, admin, name="Win11-Sales", version="2026.11")
                r = post_csv(c2, admin, exported)
                assert r.status_code == 201, r.text
                assert r.json()["imported"] == 3
                again = c2.get("/api/v1/units/export.csv", headers=admin).text
                # importing the same file twice is refused line by line
                body = problem(post_csv(c2, admin, exported), 422)
                assert [e["line"] for e in body["errors"]] == [2, 2, 4, 4, 5, 5]
        finally:
            other.state.engine.dispose()
    assert again == exported


# ---- the CLI --------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch, database_url):
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_import_units_succeeds(cli_env, client, keys, catalog, session_factory, tmp_path):
    path = tmp_path / "units.csv"
    path.write_text(csv_text(row("CLI-1", "CLI-T1", state="ready"), row("CLI-2", "CLI-T2", depot="NYC")))
    result = cli_env.invoke(cli.app, ["import-units", str(path), "--actor", "bulk-load"])
    assert result.exit_code == 0, result.output
    assert "imported 2 units" in result.output
    unit = client.get("/api/v1/units/lookup", params={"code": "CLI-2"}, headers=keys["support"]).json()
    assert unit["depot_code"] == "NYC"
    history = client.get(f"/api/v1/units/{unit['id']}/history", headers=keys["support"]).json()
    assert [(h["actor"], h["reason"]) for h in history] == [("bulk-load", "imported from CSV")]
    assert counts(session_factory) == (2, 2)


def test_cli_import_units_fails_with_line_numbers_and_writes_nothing(
    cli_env, client, keys, catalog, session_factory, tmp_path
):
    path = tmp_path / "bad.csv"
    path.write_text(csv_text(row("CLI-1", "CLI-T1"), row("CLI-2", "CLI-T2", sku="NOPE")))
    result = cli_env.invoke(cli.app, ["import-units", str(path)])
    assert result.exit_code == 1
    assert "line 3" in result.output and "NOPE" in result.output
    assert counts(session_factory) == (0, 0)


def test_cli_import_units_reports_unreadable_files(cli_env, catalog, session_factory, tmp_path):
    missing = cli_env.invoke(cli.app, ["import-units", str(tmp_path / "nope.csv")])
    assert missing.exit_code != 0 and missing.exit_code is not None
    assert "nope.csv" in missing.output
    latin = tmp_path / "latin.csv"
    latin.write_bytes(csv_text(row("CAFÉ-1", "T-1")).encode("latin-1"))
    result = cli_env.invoke(cli.app, ["import-units", str(latin)])
    assert result.exit_code == 1
    assert "UTF-8" in result.output
    assert counts(session_factory) == (0, 0)


def test_export_neutralises_spreadsheet_formulas_and_import_restores_them(client, keys):
    admin = keys["admin"]
    depot = f.depot(client, admin, "LON")
    model = f.model(client, admin)
    f.unit(client, keys["warehouse"], model["id"], depot["id"], serial="=HYPERLINK(1)", asset_tag="+CMD",
           condition_notes="@SUM(A1)")
    text = client.get("/api/v1/units/export.csv", headers=keys["support"]).text
    row = text.splitlines()[1]
    assert row.startswith("'=HYPERLINK(1),'+CMD,") and "'@SUM(A1)" in row
    from app.inventory.csv_io import _unescape_cell

    assert [_unescape_cell(c) for c in ("'=X", "'+1", "'plain", "'")] == ["=X", "+1", "'plain", "'"]
